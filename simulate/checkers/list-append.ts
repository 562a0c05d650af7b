/**
 * List-append, checked Elle-lite: each key holds a list; `append` adds one element (unique per key),
 * `read` returns the whole list. A correct store has one order of appends per key, so every read is a
 * prefix of that order, and real time must be respected. The longest read of a key stands for that
 * order (its "version order"); each rule below names the anomaly it reports:
 *
 * - `duplicate-element`: a read shows an element twice;
 * - `phantom-element`: a read shows an element nobody appended to that key;
 * - `aborted-read`: a read shows an element whose append failed (it certainly did not happen);
 * - `future-read`: a read finished before the append of an element it shows was invoked;
 * - `incompatible-order`: a read is not a prefix of the key's longest read;
 * - `lost-append`: an append was acknowledged (ok) before a read started, and that read lacks it
 *   (each lost element is reported once, with the first read that misses it);
 * - `stale-read`: a read is shorter than a read of the same key that finished before it started;
 * - `realtime-order`: append A was acknowledged before append B was invoked, yet B comes before A.
 *
 * Unlike Elle this does not infer dependency cycles across keys (no multi-key transactions here): each
 * key is checked alone, and every rule is a direct consequence of linearizability per key.
 */
import type { History, Operation } from '../history.js';
import { operationsOf } from '../history.js';
import { assertNever } from '../../src/runtime/assert.js';
import { invalidArgument } from '../../src/runtime/errors.js';
import type { ListElement } from './internal/ops.js';
import { AnomalyList, completeOrder, describeOp, groupByKey, isList, isListElement } from './internal/ops.js';

export type ListAppendAnomaly =
  | { readonly kind: 'duplicate-element' | 'phantom-element'; readonly key: string; readonly read: Operation; readonly element: ListElement }
  | { readonly kind: 'aborted-read' | 'future-read' | 'lost-append'; readonly key: string; readonly read: Operation; readonly element: ListElement; readonly append: Operation }
  | { readonly kind: 'incompatible-order'; readonly key: string; readonly read: Operation; readonly longest: Operation }
  | { readonly kind: 'stale-read'; readonly key: string; readonly read: Operation; readonly earlier: Operation }
  | { readonly kind: 'realtime-order'; readonly key: string; readonly earlier: Operation; readonly later: Operation };

export type ListAppendResult =
  | { readonly ok: true; readonly keys: number; readonly reads: number }
  | {
      readonly ok: false;
      readonly keys: number;
      readonly reads: number;
      /** The first `checkerAnomaliesReportedMax`, grouped by key, rule by rule. */
      readonly anomalies: readonly ListAppendAnomaly[];
      readonly anomaliesTotal: number;
      readonly message: string;
    };

const api = 'checkListAppend';

export function checkListAppend(history: History): ListAppendResult {
  const ops = operationsOf(history, api);
  for (const op of ops) validate(op);
  const anomalies = new AnomalyList<ListAppendAnomaly>();
  const byKey = groupByKey(ops);
  let reads = 0;
  for (const [key, keyOps] of byKey) reads += checkKey(key, keyOps, anomalies);
  if (anomalies.total === 0) return { ok: true, keys: byKey.size, reads };
  const message = [
    `list-append: ${anomalies.total} anomal${anomalies.total === 1 ? 'y' : 'ies'} over ${reads} ok reads of ${byKey.size} keys:`,
    ...anomalies.reported.slice(0, 10).map(describeListAnomaly),
  ].join('\n');
  return { ok: false, keys: byKey.size, reads, anomalies: anomalies.reported, anomaliesTotal: anomalies.total, message };
}

function validate(op: Operation): void {
  const where = `operation at event ${op.invokeIndex}`;
  if (op.f !== 'append' && op.f !== 'read') throw invalidArgument(api, `${where}: f "${op.f}" is not a list-append operation`);
  if (op.key === null) throw invalidArgument(api, `${where}: a list-append operation needs a key`);
  if (op.f === 'append' && !isListElement(op.invokeValue)) throw invalidArgument(api, `${where}: an append's value must be a number or string`);
  if (op.f === 'read' && op.type === 'ok' && !isList(op.value)) throw invalidArgument(api, `${where}: a read must return a list of numbers or strings`);
}

interface KeyView {
  readonly key: string;
  readonly appends: ReadonlyMap<ListElement, Operation>;
  readonly reads: readonly { readonly op: Operation; readonly list: readonly ListElement[]; readonly prefix: boolean }[];
  /** Position of each element in the key's longest read. */
  readonly position: ReadonlyMap<ListElement, number>;
}

/** Checks one key; returns how many ok reads it had. */
function checkKey(key: string, ops: readonly Operation[], anomalies: AnomalyList<ListAppendAnomaly>): number {
  const appends = new Map<ListElement, Operation>();
  for (const op of ops) {
    if (op.f !== 'append') continue;
    const element = op.invokeValue as ListElement;
    const before = appends.get(element);
    if (before !== undefined) throw invalidArgument(api, `key ${JSON.stringify(key)}: element ${JSON.stringify(element)} is appended twice (events ${before.invokeIndex} and ${op.invokeIndex}); elements must be unique per key`);
    appends.set(element, op);
  }
  const okReads = ops.filter((op) => op.f === 'read' && op.type === 'ok');
  let longest: { op: Operation; list: readonly ListElement[] } | undefined;
  for (const op of okReads) {
    const list = op.value as readonly ListElement[];
    if (longest === undefined || list.length > longest.list.length) longest = { op, list };
  }
  const position = new Map<ListElement, number>();
  longest?.list.forEach((element, i) => position.has(element) || position.set(element, i));
  const reads = okReads.map((op) => {
    const list = op.value as readonly ListElement[];
    const prefix = longest === undefined || list.every((element, i) => longest.list[i] === element);
    if (!prefix && longest !== undefined) anomalies.add({ kind: 'incompatible-order', key, read: op, longest: longest.op });
    return { op, list, prefix };
  });
  const view: KeyView = { key, appends, reads, position };
  checkElements(view, anomalies);
  checkLostAppends(view, anomalies);
  checkStaleReads(view, anomalies);
  checkAppendOrder(view, anomalies);
  return okReads.length;
}

function checkElements(view: KeyView, anomalies: AnomalyList<ListAppendAnomaly>): void {
  const { key } = view;
  for (const { op: read, list } of view.reads) {
    const seen = new Set<ListElement>();
    for (const element of list) {
      if (seen.has(element)) anomalies.add({ kind: 'duplicate-element', key, read, element });
      seen.add(element);
      const append = view.appends.get(element);
      if (append === undefined) anomalies.add({ kind: 'phantom-element', key, read, element });
      else if (append.type === 'fail') anomalies.add({ kind: 'aborted-read', key, read, element, append });
      else if (completeOrder(read) < append.invokeIndex) anomalies.add({ kind: 'future-read', key, read, element, append });
    }
  }
}

/** Sweeps reads by start: every append acknowledged before a read started must be in it. */
function checkLostAppends(view: KeyView, anomalies: AnomalyList<ListAppendAnomaly>): void {
  const acked = [...view.appends.values()].filter((op) => op.type === 'ok').sort((a, b) => completeOrder(a) - completeOrder(b));
  const reads = [...view.reads].sort((a, b) => a.op.invokeIndex - b.op.invokeIndex);
  const positionOf = (append: Operation): number => view.position.get(append.invokeValue as ListElement) ?? Number.POSITIVE_INFINITY;
  // Acknowledged elements not yet reported lost, and the furthest of them in the version order: a
  // prefix read of length L lacks one exactly when that furthest position is >= L.
  let active: Operation[] = [];
  let furthest = -1;
  let next = 0;
  for (const read of reads) {
    for (; next < acked.length && completeOrder(acked[next] as Operation) < read.op.invokeIndex; next++) {
      const append = acked[next] as Operation;
      active.push(append);
      furthest = Math.max(furthest, positionOf(append));
    }
    if (read.prefix && furthest < read.list.length) continue;
    const inRead = new Set(read.list);
    const lacks = (append: Operation): boolean =>
      read.prefix ? positionOf(append) >= read.list.length : !inRead.has(append.invokeValue as ListElement);
    for (const append of active) {
      if (lacks(append)) anomalies.add({ kind: 'lost-append', key: view.key, read: read.op, element: append.invokeValue as ListElement, append });
    }
    active = active.filter((append) => !lacks(append));
    furthest = active.reduce((max, append) => Math.max(max, positionOf(append)), -1);
  }
}

/** Sweeps reads by start: none may be shorter than a read that finished before it started. */
function checkStaleReads(view: KeyView, anomalies: AnomalyList<ListAppendAnomaly>): void {
  const byEnd = [...view.reads].sort((a, b) => completeOrder(a.op) - completeOrder(b.op));
  const byStart = [...view.reads].sort((a, b) => a.op.invokeIndex - b.op.invokeIndex);
  let longestDone: (typeof byEnd)[number] | undefined;
  let next = 0;
  for (const read of byStart) {
    for (; next < byEnd.length && completeOrder((byEnd[next] as (typeof byEnd)[number]).op) < read.op.invokeIndex; next++) {
      const done = byEnd[next] as (typeof byEnd)[number];
      if (longestDone === undefined || done.list.length > longestDone.list.length) longestDone = done;
    }
    if (longestDone !== undefined && read.list.length < longestDone.list.length) {
      anomalies.add({ kind: 'stale-read', key: view.key, read: read.op, earlier: longestDone.op });
    }
  }
}

/** Sweeps appends by start: none may precede, in the version order, an append acknowledged before it began. */
function checkAppendOrder(view: KeyView, anomalies: AnomalyList<ListAppendAnomaly>): void {
  const placed = [...view.appends.values()].filter((op) => view.position.has(op.invokeValue as ListElement));
  const positionOf = (op: Operation): number => view.position.get(op.invokeValue as ListElement) ?? -1;
  const acked = placed.filter((op) => op.type === 'ok').sort((a, b) => completeOrder(a) - completeOrder(b));
  const byStart = [...placed].sort((a, b) => a.invokeIndex - b.invokeIndex);
  let furthest: Operation | undefined;
  let next = 0;
  for (const later of byStart) {
    for (; next < acked.length && completeOrder(acked[next] as Operation) < later.invokeIndex; next++) {
      const done = acked[next] as Operation;
      if (furthest === undefined || positionOf(done) > positionOf(furthest)) furthest = done;
    }
    if (furthest !== undefined && positionOf(later) < positionOf(furthest)) {
      anomalies.add({ kind: 'realtime-order', key: view.key, earlier: furthest, later });
    }
  }
}

export function describeListAnomaly(a: ListAppendAnomaly): string {
  const k = JSON.stringify(a.key);
  switch (a.kind) {
    case 'duplicate-element':
      return `  ${k}: read shows ${JSON.stringify(a.element)} twice: ${describeOp(a.read)}`;
    case 'phantom-element':
      return `  ${k}: read shows ${JSON.stringify(a.element)}, which nobody appended: ${describeOp(a.read)}`;
    case 'aborted-read':
      return `  ${k}: read shows ${JSON.stringify(a.element)}, whose append failed: ${describeOp(a.read)}`;
    case 'future-read':
      return `  ${k}: read shows ${JSON.stringify(a.element)} before its append began: ${describeOp(a.read)} / ${describeOp(a.append)}`;
    case 'lost-append':
      return `  ${k}: read lacks ${JSON.stringify(a.element)}, acknowledged before it began: ${describeOp(a.read)} / ${describeOp(a.append)}`;
    case 'incompatible-order':
      return `  ${k}: read is not a prefix of the longest read: ${describeOp(a.read)} / ${describeOp(a.longest)}`;
    case 'stale-read':
      return `  ${k}: read is shorter than one that finished before it began: ${describeOp(a.read)} / ${describeOp(a.earlier)}`;
    case 'realtime-order':
      return `  ${k}: append ordered before one acknowledged before it began: ${describeOp(a.later)} / ${describeOp(a.earlier)}`;
    default:
      return assertNever(a, 'list-append anomaly');
  }
}
