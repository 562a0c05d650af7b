/**
 * Linearizability of a register per key (read, write, compare-and-set), checked by a Wing–Gong search
 * with memoization (internal/wing-gong.ts). Linearizability is compositional (Herlihy & Wing), so each
 * key is checked alone: the history is linearizable iff every key's sub-history is.
 *
 * How each operation enters the search:
 * - `ok` write / cas: must take effect between its invoke and its completion;
 * - `info` (or never completed) write / cas: may take effect at any moment after its invoke, or never;
 *   an info cas can only take effect when the register holds its expected value;
 * - `ok` read: must observe the register between its invoke and its completion;
 * - `fail` anything, and `info` reads: dropped. A failed operation certainly did not happen (this is
 *   Jepsen's reading; a cas that failed its compare is not used as evidence), and a read whose result
 *   is unknown constrains nothing.
 *
 * Invariants: a verdict of `false` is always backed by a finished search; a search that reaches its
 * bound answers `unknown`, never `true` or `false`.
 */
import type { History, Operation } from '../history.js';
import { operationsOf } from '../history.js';
import { assert } from '../../src/runtime/assert.js';
import { invalidArgument } from '../../src/runtime/errors.js';
import type { RegisterValue } from './internal/ops.js';
import { casPair, describeOp, groupByKey, isRegisterValue } from './internal/ops.js';
import type { SearchModel, SearchOp } from './internal/wing-gong.js';
import { searchLinearization } from './internal/wing-gong.js';

import { linearizableCacheBytesMax, linearizableExplainOpsMax, linearizableStatesPerKeyMax } from '../../src/limits.js';

export { linearizableCacheBytesMax, linearizableExplainOpsMax, linearizableStatesPerKeyMax };

export interface LinearizableOptions {
  /** The value every register holds before any write (default null). */
  readonly initialValue?: RegisterValue;
  readonly statesPerKeyMax?: number;
  readonly cacheBytesMax?: number;
  /**
   * `operationsOf(history)`, when the caller has it already (the workloads pair their history once for
   * this check and the lost-writes one).
   */
  readonly operations?: readonly Operation[];
}

export interface LinearizableOk {
  readonly ok: true;
  readonly keys: number;
  readonly statesExplored: number;
}

export interface LinearizableFailure {
  readonly ok: false;
  /** The first key (in order of first appearance) whose history is not linearizable. */
  readonly key: string;
  /** Every key found not linearizable. */
  readonly failedKeys: readonly string[];
  readonly message: string;
  /** Length of the longest linearization the search found for `key`. */
  readonly prefixLength: number;
  /** Its last `linearizableExplainOpsMax` operations, in linearization order. */
  readonly prefix: readonly Operation[];
  /** The register's value after that prefix. */
  readonly stateAfterPrefix: RegisterValue;
  /**
   * The operations that could come next after the prefix (the one whose completion is due first and
   * those concurrent with it); none extends the prefix, mostly because none can take effect on
   * `stateAfterPrefix`.
   */
  readonly pending: readonly Operation[];
}

export interface LinearizableUnknown {
  readonly ok: 'unknown';
  readonly key: string;
  readonly reason: string;
}

export type LinearizableResult = LinearizableOk | LinearizableFailure | LinearizableUnknown;

const api = 'checkLinearizable';

export function checkLinearizable(history: History, options: LinearizableOptions = {}): LinearizableResult {
  const initialValue = options.initialValue ?? null;
  const bounds = {
    statesMax: checkBound(options.statesPerKeyMax, linearizableStatesPerKeyMax, 'statesPerKeyMax'),
    cacheBytesMax: checkBound(options.cacheBytesMax, linearizableCacheBytesMax, 'cacheBytesMax'),
  };
  const ops = options.operations ?? operationsOf(history, api);
  for (const op of ops) validate(op);
  let statesExplored = 0;
  let failure: LinearizableFailure | undefined;
  const failedKeys: string[] = [];
  let firstUnknown: LinearizableUnknown | undefined;
  const byKey = groupByKey(ops);
  for (const [key, keyOps] of byKey) {
    const result = checkKey(key, keyOps, initialValue, bounds);
    if (result.ok === true) statesExplored += result.statesExplored;
    else if (result.ok === false) {
      failedKeys.push(key);
      failure ??= result;
    } else firstUnknown ??= result;
  }
  if (failure !== undefined) return { ...failure, failedKeys };
  return firstUnknown ?? { ok: true, keys: byKey.size, statesExplored };
}

function checkBound(value: number | undefined, max: number, name: string): number {
  if (value === undefined) return max;
  if (!Number.isSafeInteger(value) || value < 1) throw invalidArgument(api, `${name} must be a positive integer, got ${value}`);
  return value;
}

function validate(op: Operation): void {
  const where = `operation at event ${op.invokeIndex}`;
  if (op.f !== 'read' && op.f !== 'write' && op.f !== 'cas') throw invalidArgument(api, `${where}: f "${op.f}" is not a register operation`);
  if (op.key === null) throw invalidArgument(api, `${where}: a register operation needs a key`);
  if (op.f === 'write' && !isRegisterValue(op.invokeValue)) throw invalidArgument(api, `${where}: a write's value must be a JSON scalar`);
  if (op.f === 'cas' && casPair(op.invokeValue) === undefined) throw invalidArgument(api, `${where}: a cas's value must be [expected, new]`);
  if (op.f === 'read' && op.type === 'ok' && !isRegisterValue(op.value)) throw invalidArgument(api, `${where}: a read must return a JSON scalar`);
}

type Step = (state: RegisterValue) => RegisterValue | undefined;

/** How one operation changes the register, or undefined if it cannot happen from that value. */
function stepOf(op: Operation): Step {
  if (op.f === 'write') {
    const written = op.invokeValue as RegisterValue;
    return () => written;
  }
  if (op.f === 'cas') {
    const [expected, next] = casPair(op.invokeValue) ?? [null, null];
    return (state) => (state === expected ? next : undefined);
  }
  const read = op.value as RegisterValue;
  return (state) => (state === read ? state : undefined);
}

function checkKey(
  key: string,
  keyOps: readonly Operation[],
  initialValue: RegisterValue,
  bounds: { statesMax: number; cacheBytesMax: number },
): LinearizableOk | LinearizableFailure | LinearizableUnknown {
  const relevant = keyOps.filter((op) => op.type === 'ok' || (op.type === 'info' && op.f !== 'read'));
  const searchOps: SearchOp[] = relevant.map((op) => ({ call: op.invokeIndex, ret: op.type === 'ok' ? op.completeIndex : null }));
  const steps = relevant.map(stepOf);
  const stateKeys = new Map<RegisterValue, string>();
  const model: SearchModel<RegisterValue> = {
    init: initialValue,
    step: (state, i) => {
      const step = steps[i];
      assert(step !== undefined, 'checkLinearizable: the search steps operations it was given');
      return step(state);
    },
    stateKey: (state) => {
      // Few distinct values, asked for at every step: encode each once.
      let key = stateKeys.get(state);
      if (key === undefined) stateKeys.set(state, (key = JSON.stringify(state)));
      return key;
    },
    observes: (i) => relevant[i]?.f !== 'write',
    onlyStateKey: (i) => {
      const op = relevant[i];
      if (op?.f === 'read') return JSON.stringify(op.value);
      if (op?.f === 'cas') return JSON.stringify(casPair(op.invokeValue)?.[0] ?? null);
      return undefined;
    },
  };
  const result = searchLinearization(searchOps, model, bounds);
  if (result.kind === 'linearizable') return { ok: true, keys: 1, statesExplored: result.statesExplored };
  if (result.kind === 'unknown') return { ok: 'unknown', key, reason: `key ${JSON.stringify(key)}: ${result.reason}` };
  const pick = (i: number): Operation => {
    const op = relevant[i];
    assert(op !== undefined, 'checkLinearizable: the search names operations it was given');
    return op;
  };
  const prefix = result.deepest.order.slice(-linearizableExplainOpsMax).map(pick);
  const pending = result.deepest.pending.map(pick);
  const message = [
    `key ${JSON.stringify(key)} is not linearizable: after the longest consistent prefix of ${result.deepest.order.length} operations`,
    `the register holds ${JSON.stringify(result.deepest.state)}, and none of the ${pending.length} operations that could come next extends it:`,
    ...pending.map((op) => `  ${describeOp(op)}`),
  ].join('\n');
  return {
    ok: false, key, failedKeys: [key], message,
    prefixLength: result.deepest.order.length, prefix, stateAfterPrefix: result.deepest.state, pending,
  };
}
