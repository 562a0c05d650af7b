/**
 * The linearizability search of Wing & Gong (1993) with Lowe's memoization (2017), as Porcupine runs
 * it: operations are call and return entries in one doubly linked list in real-time order. The search
 * walks the list; at a call it tries to linearize that operation now (apply it to the model, then lift
 * both of its entries out of the list); at a return whose operation is still unlinearized it has hit a
 * dead end and backtracks. A (linearized set, model state) pair seen before is never explored again:
 * whatever followed it then follows it now.
 *
 * Optional operations (outcome unknown: `info`, or never completed) have a call but no return: they
 * may be linearized at any point after their call, or never. The search succeeds once every required
 * operation is linearized.
 *
 * Optional operations multiply the search (every subset of them may or may not have happened), so it
 * only tries them where they can matter. Take any valid linearization and drop each optional operation
 * that leaves the state unchanged, comes last, or is followed by an operation that ignores the state
 * (a blind write): what remains is still valid, since every other operation meets the same state as
 * before, and real-time order only loses constraints. So it is enough to search linearizations where
 * an optional operation changes the state and is followed by one that observes it; a configuration
 * whose last operation was optional is memoized apart from one whose was not. The search keeps a count
 * of unlinearized observers by the state they need, and lifts an optional operation only if one of
 * them could take the state it makes: without that, an info write nobody read would be tried, and
 * fail, at every step of the search.
 *
 * Invariants: lifts are undone in exactly the reverse order (a stack), so the unlinked entries'
 * own prev/next pointers are still right when they are relinked ("dancing links"); the explored-state
 * count and the cache's size are bounded, and reaching either bound gives `unknown`, never a verdict.
 */
import { assert } from '../../../src/runtime/assert.js';

export interface SearchOp {
  /** Real-time position of the call (history index); unique across calls and returns. */
  readonly call: number;
  /** Real-time position of the return, or null for an optional operation. */
  readonly ret: number | null;
}

export interface SearchModel<S> {
  readonly init: S;
  /** The state after operation `op` from `state`, or undefined if `op` cannot happen in `state`. */
  step(state: S, op: number): S | undefined;
  /** Equal for equal states and only for them: the memoization key. */
  stateKey(state: S): string;
  /** Whether `op`'s outcome depends on the state it meets (a read or cas does; a blind write does not). */
  observes(op: number): boolean;
  /**
   * For an observing `op` that can step from one state only (a read of v, a cas expecting v): that
   * state's key. Undefined if it may step from several; the search then prunes less, never wrongly.
   */
  onlyStateKey(op: number): string | undefined;
}

export interface SearchBounds {
  readonly statesMax: number;
  readonly cacheBytesMax: number;
}

export interface Deepest<S> {
  /** The longest linearization the search found, in order. */
  readonly order: readonly number[];
  readonly state: S;
  /**
   * Required operations pending at that point: called, not linearized, up to the first return still
   * due. Optional ones are left out: they can always be left unapplied, so they never block.
   */
  readonly pending: readonly number[];
}

export type SearchResult<S> =
  | { readonly kind: 'linearizable'; readonly statesExplored: number; readonly order: readonly number[] }
  | { readonly kind: 'not-linearizable'; readonly statesExplored: number; readonly deepest: Deepest<S> }
  | { readonly kind: 'unknown'; readonly statesExplored: number; readonly reason: string };

/** Rough bytes one cache entry costs beyond its bitset: the Map slot and its numeric key, the chain and state words. */
const cacheEntryOverheadBytes = 48;

export function searchLinearization<S>(ops: readonly SearchOp[], model: SearchModel<S>, bounds: SearchBounds): SearchResult<S> {
  const first = run(ops, model, bounds, null);
  assert(first.kind !== 'captured', 'searchLinearization: nothing to capture on the first run');
  if (first.kind !== 'not-linearizable') return first;
  // Deterministic, so a second run reaches the same deepest point and can stop there to describe it.
  const again = run(ops, model, bounds, first.maxDepth);
  assert(again.kind === 'captured', 'searchLinearization: the rerun reaches the first run\'s deepest point');
  return { kind: 'not-linearizable', statesExplored: first.statesExplored, deepest: again.deepest };
}

type RunResult<S> =
  | { readonly kind: 'linearizable'; readonly statesExplored: number; readonly order: readonly number[] }
  | { readonly kind: 'not-linearizable'; readonly statesExplored: number; readonly maxDepth: number }
  | { readonly kind: 'unknown'; readonly statesExplored: number; readonly reason: string }
  | { readonly kind: 'captured'; readonly deepest: Deepest<S> };

function run<S>(ops: readonly SearchOp[], model: SearchModel<S>, bounds: SearchBounds, captureDepth: number | null): RunResult<S> {
  const list = new EntryList(ops);
  const cache = new VisitedCache(ops.length);
  const stack: { op: number; before: S; beforeKey: string }[] = [];
  let state = model.init;
  let stateKey = model.stateKey(state);
  let required = ops.reduce((count, op) => count + (op.ret === null ? 0 : 1), 0);
  let maxDepth = 0;
  if (captureDepth === 0) return { kind: 'captured', deepest: describe(ops, list, stack, state) };
  const isOptional = (op: number): boolean => ops[op]?.ret === null;
  const observers = new ObserverCount(ops.length, model);
  /** Linearizes `op` next if it can happen now and leads somewhere new (and canonical, see above). */
  const tryLift = (op: number): boolean => {
    const top = stack.at(-1);
    if (top !== undefined && isOptional(top.op) && !model.observes(op)) return false;
    const after = model.step(state, op);
    if (after === undefined) return false;
    const afterKey = model.stateKey(after);
    if (isOptional(op) && (afterKey === stateKey || !observers.wants(afterKey))) return false;
    if (!cache.add(op, isOptional(op) ? `${afterKey}~` : afterKey)) return false;
    observers.linearized(op, -1);
    stack.push({ op, before: state, beforeKey: stateKey });
    state = after;
    stateKey = afterKey;
    list.lift(op, !isOptional(op));
    if (!isOptional(op)) required--;
    return true;
  };
  let entry = list.next[list.head] ?? -1;
  while (required > 0) {
    assert(entry >= 0, 'search: a required return is still in the list');
    const op = entry >> 1;
    if ((entry & 1) === 0) {
      if (tryLift(op)) {
        if (cache.states > bounds.statesMax) return unknown(cache, `explored more than ${bounds.statesMax} states (linearizableStatesPerKeyMax)`);
        if (cache.bytes > bounds.cacheBytesMax) return unknown(cache, `memo cache passed ${bounds.cacheBytesMax} bytes (linearizableCacheBytesMax)`);
        if (stack.length > maxDepth) maxDepth = stack.length;
        if (stack.length === captureDepth) return { kind: 'captured', deepest: describe(ops, list, stack, state) };
        entry = list.next[list.head] ?? -1;
      } else {
        entry = list.next[entry] ?? -1;
      }
      continue;
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'not-linearizable', statesExplored: cache.states, maxDepth };
    state = top.before;
    stateKey = top.beforeKey;
    cache.unset(top.op);
    observers.linearized(top.op, +1);
    list.unlift(top.op, !isOptional(top.op));
    if (!isOptional(top.op)) required++;
    entry = list.next[top.op * 2] ?? -1;
  }
  return { kind: 'linearizable', statesExplored: cache.states, order: stack.map((s) => s.op) };
}

function unknown<S>(cache: VisitedCache, reason: string): RunResult<S> {
  return { kind: 'unknown', statesExplored: cache.states, reason };
}

function describe<S>(ops: readonly SearchOp[], list: EntryList, stack: readonly { op: number }[], state: S): Deepest<S> {
  const pending: number[] = [];
  for (let e = list.next[list.head] ?? -1; e >= 0; e = list.next[e] ?? -1) {
    if ((e & 1) === 1) break;
    if (ops[e >> 1]?.ret !== null) pending.push(e >> 1);
  }
  return { order: stack.map((s) => s.op), state, pending };
}

/** Unlinearized observing operations, by the one state each can step from (or any state). */
class ObserverCount {
  private readonly byKey = new Map<string, number>();
  private any = 0;
  private readonly keyOf: (string | null | undefined)[];

  constructor(opCount: number, model: SearchModel<unknown>) {
    this.keyOf = Array.from({ length: opCount }, (_, op) => (model.observes(op) ? (model.onlyStateKey(op) ?? null) : undefined));
    for (let op = 0; op < opCount; op++) this.linearized(op, +1);
  }

  /** Counts `op` out (-1, it was linearized) or back in (+1, the search backtracked over it). */
  linearized(op: number, delta: -1 | 1): void {
    const key = this.keyOf[op];
    if (key === undefined) return;
    if (key === null) this.any += delta;
    else this.byKey.set(key, (this.byKey.get(key) ?? 0) + delta);
  }

  wants(stateKey: string): boolean {
    return this.any > 0 || (this.byKey.get(stateKey) ?? 0) > 0;
  }
}

/** Call entry of op i is 2i, its return 2i+1; the head sentinel is 2n. -1 ends the list. */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  readonly head: number;

  constructor(ops: readonly SearchOp[]) {
    const positioned: { entry: number; at: number }[] = [];
    ops.forEach((op, i) => {
      positioned.push({ entry: 2 * i, at: op.call });
      if (op.ret !== null) {
        assert(op.ret > op.call, `search: op ${i} returns after it is called`);
        positioned.push({ entry: 2 * i + 1, at: op.ret });
      }
    });
    positioned.sort((a, b) => a.at - b.at);
    this.head = 2 * ops.length;
    this.next = new Int32Array(2 * ops.length + 1).fill(-1);
    this.prev = new Int32Array(2 * ops.length + 1).fill(-1);
    let last = this.head;
    for (const { entry } of positioned) {
      this.next[last] = entry;
      this.prev[entry] = last;
      last = entry;
    }
  }

  lift(op: number, hasReturn: boolean): void {
    this.unlink(2 * op);
    if (hasReturn) this.unlink(2 * op + 1);
  }

  /** Exactly the reverse of `lift`, and only for the most recent lift still in force. */
  unlift(op: number, hasReturn: boolean): void {
    if (hasReturn) this.relink(2 * op + 1);
    this.relink(2 * op);
  }

  private unlink(e: number): void {
    const p = this.prev[e] ?? -1;
    const n = this.next[e] ?? -1;
    this.next[p] = n;
    if (n >= 0) this.prev[n] = p;
  }

  private relink(e: number): void {
    const p = this.prev[e] ?? -1;
    const n = this.next[e] ?? -1;
    this.next[p] = e;
    if (n >= 0) this.prev[n] = e;
  }
}

/**
 * The set of (linearized operations, state) pairs seen. The current linearized set is a bitset with an
 * incrementally kept two-lane XOR hash (one random word pair per operation); a lookup is one numeric
 * Map key (lane A, and lane B mixed with the state's number) and, on a key match, an exact compare of
 * state and bitset, so a hash collision never prunes a new pair. The sets seen are copied into one
 * pooled array, chained per key: a copy per state as its own typed array (an ArrayBuffer each) was most
 * of this search's time, in the allocator and the garbage collector (profiled on 60 s histories).
 */
class VisitedCache {
  private readonly bits: Uint32Array;
  private readonly laneA: Uint32Array;
  private readonly laneB: Uint32Array;
  private hashA = 0;
  private hashB = 0;
  /** Each distinct state key as a small number. */
  private readonly stateIds = new Map<string, number>();
  /** Key -> the most recent set stored under it; `chain` leads to the earlier ones (-1 ends). */
  private readonly seen = new Map<number, number>();
  /** Stored set i is pool[i * words, (i + 1) * words), for the state numbered stateOf[i]. */
  private pool: Uint32Array;
  private chain: Int32Array;
  private stateOf: Int32Array;
  private readonly words: number;
  states = 0;
  bytes = 0;

  constructor(opCount: number) {
    this.words = Math.ceil(opCount / 32) || 1;
    this.bits = new Uint32Array(this.words);
    this.laneA = new Uint32Array(opCount);
    this.laneB = new Uint32Array(opCount);
    for (let i = 0; i < opCount; i++) {
      this.laneA[i] = mix32(2 * i + 1);
      this.laneB[i] = mix32(2 * i + 2);
    }
    const capacity = 64;
    this.pool = new Uint32Array(capacity * this.words);
    this.chain = new Int32Array(capacity);
    this.stateOf = new Int32Array(capacity);
  }

  /** Adds `op` to the set; if the resulting (set, state) is new, keeps it and returns true, else undoes it. */
  add(op: number, stateKey: string): boolean {
    this.flip(op);
    let stateId = this.stateIds.get(stateKey);
    if (stateId === undefined) this.stateIds.set(stateKey, (stateId = this.stateIds.size));
    // 32 bits of lane A and 21 of lane B mixed with the state: an exact integer below 2^53.
    const key = this.hashA * 2_097_152 + ((this.hashB ^ mix32(stateId + 1)) >>> 11);
    const newest = this.seen.get(key) ?? -1;
    for (let stored = newest; stored >= 0; stored = this.chain[stored]!) {
      if (this.stateOf[stored] === stateId && this.storedEquals(stored)) {
        this.flip(op);
        return false;
      }
    }
    const index = this.states;
    if (index === this.chain.length) this.grow();
    this.pool.set(this.bits, index * this.words);
    this.chain[index] = newest;
    this.stateOf[index] = stateId;
    this.seen.set(key, index);
    this.states++;
    this.bytes += this.words * 4 + cacheEntryOverheadBytes;
    return true;
  }

  unset(op: number): void {
    this.flip(op);
  }

  private storedEquals(stored: number): boolean {
    const at = stored * this.words;
    for (let i = 0; i < this.words; i++) if (this.pool[at + i] !== this.bits[i]) return false;
    return true;
  }

  private grow(): void {
    const capacity = this.chain.length * 2;
    const pool = new Uint32Array(capacity * this.words);
    pool.set(this.pool);
    this.pool = pool;
    const chain = new Int32Array(capacity);
    chain.set(this.chain);
    this.chain = chain;
    const stateOf = new Int32Array(capacity);
    stateOf.set(this.stateOf);
    this.stateOf = stateOf;
  }

  private flip(op: number): void {
    const word = op >>> 5;
    this.bits[word] = (this.bits[word] ?? 0) ^ (1 << (op & 31));
    this.hashA = (this.hashA ^ (this.laneA[op] ?? 0)) >>> 0;
    this.hashB = (this.hashB ^ (this.laneB[op] ?? 0)) >>> 0;
  }
}

/** splitmix32 finalizer: a fixed pseudo-random word per operation. */
function mix32(x: number): number {
  let z = Math.imul(x, 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
