/**
 * No acknowledged write is lost: the store's final state, read after the run has quiesced, must
 * account for every write a client was told succeeded. Kept simple and sound (it never accuses a
 * correct store), so it is weaker than the linearizability checker but needs only the final state.
 *
 * Registers (keys written by `write` / `cas`; a cas writes its new value):
 * - `unknown-final-value`: the final value was not written by any ok or info write or cas of that key,
 *   and is not the initial value of a key with no acknowledged write;
 * - `last-write-lost`: the final value is not the value of an ok write W, and no write of the final
 *   value could have landed after W: each one is ok and completed before W was invoked (an info write
 *   or cas of it could land at any time, so one of them explains any final value it wrote; an info
 *   write of another value explains nothing).
 * Lists (keys with `append`):
 * - `lost-append`: an ok-appended element is missing from the final list.
 *
 * Failed operations certainly did not happen and are ignored; reads are ignored. A key missing from
 * the final state holds the initial value (registers) or the empty list (lists).
 */
import type { History, Operation } from '../history.js';
import { operationsOf } from '../history.js';
import { assertNever } from '../../src/runtime/assert.js';
import { invalidArgument } from '../../src/runtime/errors.js';
import type { ListElement, RegisterValue } from './internal/ops.js';
import { AnomalyList, casPair, describeOp, groupByKey, isListElement, isRegisterValue } from './internal/ops.js';

export type FinalValue = RegisterValue | readonly ListElement[];

export interface LostWritesOptions {
  /** The value every register holds before any write (default null). */
  readonly initialValue?: RegisterValue;
  /**
   * `operationsOf(history)`, when the caller has it already: checking one history against the final
   * state of every node pairs its events once (pairing and validating them was most of the check).
   */
  readonly operations?: readonly Operation[];
}

export type LostWrite =
  | { readonly kind: 'unknown-final-value'; readonly key: string; readonly finalValue: RegisterValue }
  | { readonly kind: 'last-write-lost'; readonly key: string; readonly finalValue: RegisterValue; readonly write: Operation }
  | { readonly kind: 'lost-append'; readonly key: string; readonly element: ListElement; readonly append: Operation };

export type LostWritesResult =
  | { readonly ok: true; readonly keys: number }
  | { readonly ok: false; readonly keys: number; readonly anomalies: readonly LostWrite[]; readonly anomaliesTotal: number; readonly message: string };

const api = 'checkLostWrites';

export function checkLostWrites(history: History, finalState: ReadonlyMap<string, FinalValue>, options: LostWritesOptions = {}): LostWritesResult {
  const initialValue = options.initialValue ?? null;
  const byKey = groupByKey(options.operations ?? operationsOf(history, api));
  for (const key of finalState.keys()) if (!byKey.has(key)) byKey.set(key, []);
  const anomalies = new AnomalyList<LostWrite>();
  for (const [key, ops] of byKey) {
    const appends = ops.filter((op) => op.f === 'append');
    const writes = ops.filter((op) => (op.f === 'write' || op.f === 'cas') && op.type !== 'fail');
    const final = finalState.get(key);
    const isRegister = ops.some((op) => op.f === 'write' || op.f === 'cas');
    if (appends.length > 0 && isRegister) throw invalidArgument(api, `key ${JSON.stringify(key)} has both appends and register writes`);
    // The history decides what a key is; only a key it never wrote is judged by its final value's shape.
    if (appends.length > 0 || (!isRegister && Array.isArray(final))) checkList(key, appends, final ?? [], anomalies);
    else checkRegister(key, writes, final === undefined ? initialValue : final, initialValue, anomalies);
  }
  if (anomalies.total === 0) return { ok: true, keys: byKey.size };
  const message = [
    `${anomalies.total} acknowledged write(s) lost over ${byKey.size} keys:`,
    ...anomalies.reported.slice(0, 10).map(describeLostWrite),
  ].join('\n');
  return { ok: false, keys: byKey.size, anomalies: anomalies.reported, anomaliesTotal: anomalies.total, message };
}

function checkList(key: string, appends: readonly Operation[], final: FinalValue, anomalies: AnomalyList<LostWrite>): void {
  if (!Array.isArray(final) || !final.every(isListElement)) {
    throw invalidArgument(api, `key ${JSON.stringify(key)} has appends, so its final value must be a list of numbers or strings`);
  }
  const present = new Set<unknown>(final);
  for (const append of appends) {
    if (append.type !== 'ok' || present.has(append.invokeValue)) continue;
    anomalies.add({ kind: 'lost-append', key, element: append.invokeValue as ListElement, append });
  }
}

/** The value a write or cas leaves in the register. */
function written(op: Operation): RegisterValue {
  if (op.f === 'cas') {
    const pair = casPair(op.invokeValue);
    if (pair === undefined) throw invalidArgument(api, `operation at event ${op.invokeIndex}: a cas's value must be [expected, new]`);
    return pair[1];
  }
  if (!isRegisterValue(op.invokeValue)) throw invalidArgument(api, `operation at event ${op.invokeIndex}: a write's value must be a JSON scalar`);
  return op.invokeValue;
}

function checkRegister(
  key: string,
  writes: readonly Operation[],
  final: FinalValue,
  initialValue: RegisterValue,
  anomalies: AnomalyList<LostWrite>,
): void {
  if (Array.isArray(final) || !isRegisterValue(final as RegisterValue)) {
    throw invalidArgument(api, `key ${JSON.stringify(key)} is a register, so its final value must be a JSON scalar`);
  }
  const finalValue = final as RegisterValue;
  const acked = writes.filter((op) => op.type === 'ok');
  const values = writes.map(written);
  const explained = values.includes(finalValue) || (acked.length === 0 && finalValue === initialValue);
  if (!explained) {
    anomalies.add({ kind: 'unknown-final-value', key, finalValue });
    return;
  }
  // The writes of the final value that could have come last: an info one at any time, an ok one up to its completion.
  let finalWrittenUntil = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < writes.length; i++) {
    if (values[i] !== finalValue) continue;
    const op = writes[i]!;
    finalWrittenUntil = Math.max(finalWrittenUntil, op.type === 'info' ? Number.POSITIVE_INFINITY : (op.completeIndex ?? Number.POSITIVE_INFINITY));
  }
  // The ok write that the final value must have overwritten last: the one invoked latest, if nothing of the final value came after it.
  let lost: Operation | undefined;
  for (let i = 0; i < writes.length; i++) {
    const op = writes[i]!;
    if (op.type !== 'ok' || values[i] === finalValue || finalWrittenUntil > op.invokeIndex) continue;
    if (lost === undefined || op.invokeIndex > lost.invokeIndex) lost = op;
  }
  if (lost !== undefined) anomalies.add({ kind: 'last-write-lost', key, finalValue, write: lost });
}

export function describeLostWrite(a: LostWrite): string {
  const k = JSON.stringify(a.key);
  switch (a.kind) {
    case 'unknown-final-value':
      return `  ${k}: final value ${JSON.stringify(a.finalValue)} was never written`;
    case 'last-write-lost':
      return `  ${k}: final value ${JSON.stringify(a.finalValue)}, but this acknowledged write came after every write of it: ${describeOp(a.write)}`;
    case 'lost-append':
      return `  ${k}: ${JSON.stringify(a.element)} is not in the final list, but its append was acknowledged: ${describeOp(a.append)}`;
    default:
      return assertNever(a, 'lost write');
  }
}
