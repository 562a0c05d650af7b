/**
 * The simulator's event queue: a binary min-heap ordered by (time, sequence). The sequence number is
 * assigned at push and is unique, so events with equal times pop in the order they were scheduled:
 * the order never depends on the heap's internals.
 *
 * `KeyedHeap` keeps the keys in typed arrays beside the items, so that sifting compares numbers read
 * from two flat arrays instead of two fields of objects scattered over the heap (the comparisons were a
 * sixth of the simulator host's time, profiled), and so that an item need not carry its time as a
 * field (a number field that is not a small integer costs V8 an allocation of its own). `EventQueue` is
 * the same heap for items that carry their own `timeMs` and `seq`.
 *
 * Bound: at most `simEventsPendingMax` items at once (a runaway that schedules without end fails loudly
 * instead of exhausting memory).
 */
import { assert } from '../src/runtime/assert.js';
import { simEventsPendingMax } from './limits.js';

export interface Scheduled {
  readonly timeMs: number;
  readonly seq: number;
}

/** Slots the key arrays start with; they double as needed, up to simEventsPendingMax. */
const initialSlots = 256;

export class KeyedHeap<T> {
  private items: (T | undefined)[] = [];
  private times: Float64Array;
  private seqs: Float64Array;
  private size = 0;
  /** The time of the item `pop` returned last. */
  poppedTimeMs = 0;

  /** `pendingMax`: items held at once, at most (tests pass a small one to see the bound hold). */
  constructor(private readonly pendingMax = simEventsPendingMax) {
    assert(Number.isSafeInteger(pendingMax) && pendingMax >= 1, `KeyedHeap: pendingMax must be a positive integer, got ${pendingMax}`);
    this.times = new Float64Array(Math.min(initialSlots, pendingMax));
    this.seqs = new Float64Array(this.times.length);
  }

  get length(): number {
    return this.size;
  }

  /** The first item's time, or +Infinity when empty (so that `peekTimeMs() <= end` is false). */
  peekTimeMs(): number {
    return this.size > 0 ? this.times[0]! : Number.POSITIVE_INFINITY;
  }

  peek(): T | undefined {
    return this.size > 0 ? this.items[0] : undefined;
  }

  push(timeMs: number, seq: number, item: T): void {
    if (this.size === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentTime = times[parent]!;
      if (parentTime < timeMs || (parentTime === timeMs && seqs[parent]! < seq)) break;
      times[i] = parentTime;
      seqs[i] = seqs[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    times[i] = timeMs;
    seqs[i] = seq;
    items[i] = item;
  }

  /** Removes and returns the first item (its time in `poppedTimeMs`); undefined when empty. */
  pop(): T | undefined {
    if (this.size === 0) return undefined;
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    const top = items[0];
    this.poppedTimeMs = times[0]!;
    const n = --this.size;
    const lastTime = times[n]!;
    const lastSeq = seqs[n]!;
    const last = items[n];
    items[n] = undefined; // no reference kept to what left the queue
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let childTime = times[child]!;
      const right = child + 1;
      if (right < n) {
        const rightTime = times[right]!;
        if (rightTime < childTime || (rightTime === childTime && seqs[right]! < seqs[child]!)) {
          child = right;
          childTime = rightTime;
        }
      }
      if (lastTime < childTime || (lastTime === childTime && lastSeq < seqs[child]!)) break;
      times[i] = childTime;
      seqs[i] = seqs[child]!;
      items[i] = items[child];
      i = child;
    }
    times[i] = lastTime;
    seqs[i] = lastSeq;
    items[i] = last;
    return top;
  }

  clear(): void {
    this.items = [];
    this.size = 0;
  }

  private grow(): void {
    if (this.size >= this.pendingMax) assert(false, `event queue: more than ${this.pendingMax} events pending (simEventsPendingMax); a runaway?`);
    const slots = Math.min(this.times.length * 2, this.pendingMax);
    const times = new Float64Array(slots);
    times.set(this.times);
    this.times = times;
    const seqs = new Float64Array(slots);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }
}

/** The heap for items that carry their own time and sequence number. */
export class EventQueue<E extends Scheduled> {
  private readonly heap = new KeyedHeap<E>();

  get length(): number {
    return this.heap.length;
  }

  peek(): E | undefined {
    return this.heap.peek();
  }

  push(event: E): void {
    this.heap.push(event.timeMs, event.seq, event);
  }

  pop(): E | undefined {
    return this.heap.pop();
  }

  clear(): void {
    this.heap.clear();
  }
}
