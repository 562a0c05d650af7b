/**
 * Helpers shared by the checkers: value guards for each workload's operations, grouping by key, and
 * one-line descriptions of operations for reports. Pure functions; inputs are trusted (the public
 * checkers validate once at their boundary).
 */
import type { JsonValue, Operation } from '../../history.js';

import { checkerAnomaliesReportedMax } from '../../../src/limits.js';

export { checkerAnomaliesReportedMax };

/** A register holds one JSON scalar; null is the usual initial value ("never written"). */
export type RegisterValue = number | string | boolean | null;
/** One element of a list-append list. */
export type ListElement = number | string;

export function isRegisterValue(value: JsonValue): value is RegisterValue {
  return value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

export function isListElement(value: unknown): value is ListElement {
  return typeof value === 'number' || typeof value === 'string';
}

export function isList(value: JsonValue): value is readonly ListElement[] {
  return Array.isArray(value) && value.every(isListElement);
}

/** `[expected, new]` of a compare-and-set. */
export function casPair(value: JsonValue): readonly [RegisterValue, RegisterValue] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [expected, next] = value as readonly JsonValue[];
  if (expected === undefined || next === undefined || !isRegisterValue(expected) || !isRegisterValue(next)) return undefined;
  return [expected, next];
}

/** Operations grouped by key, keys in order of first appearance (so reports are deterministic). */
export function groupByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.key === null) continue;
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  return byKey;
}

/** Position of the completion for real-time order; an operation that never completed comes last. */
export function completeOrder(op: Operation): number {
  return op.completeIndex ?? Number.POSITIVE_INFINITY;
}

/** "p3 cas [1,2] -> ok [1,2] @12–15ms (events 7–9)": enough to find it in the history file. */
export function describeOp(op: Operation): string {
  const key = op.key === null ? '' : ` ${JSON.stringify(op.key)}`;
  const result = op.type === 'info' ? 'info' : `${op.type} ${JSON.stringify(op.value)}`;
  const end = op.completeTime === null ? 'never completed' : `${op.completeTime}ms`;
  const events = op.completeIndex === null ? `event ${op.invokeIndex}` : `events ${op.invokeIndex}–${op.completeIndex}`;
  return `p${op.process} ${op.f}${key} ${JSON.stringify(op.invokeValue)} -> ${result} @${op.invokeTime}ms–${end} (${events})`;
}

/** Collects anomalies up to the report bound while counting all of them. */
export class AnomalyList<T> {
  readonly reported: T[] = [];
  total = 0;

  add(anomaly: T): void {
    this.total++;
    if (this.reported.length < checkerAnomaliesReportedMax) this.reported.push(anomaly);
  }
}
