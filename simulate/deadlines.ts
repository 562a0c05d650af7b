/**
 * Calls run a fixed delay after they were added, on a simulation's virtual time, with one pending event
 * for all of them instead of one each.
 *
 * Why: every linearizable read (and detach) of a simulated cluster waits for its outcome with a timeout
 * (writeTimeoutMs) that almost never fires; when transactions waited here too, one event per transaction
 * made these timeouts ~90% of the event queue (about 185 of 200 events in a 5-node register run),
 * deepening every push and pop. (Writes now time out in the node's own write core, src/node/write-core.ts:
 * one timer per node, armed for its oldest write.) With one delay for all,
 * deadlines come in the order they were added, so a FIFO holds them and only its head needs an event.
 *
 * Invariants: calls run in the order they were added, each once, at the first event at or after its
 * deadline (exactly at it, unless rounding puts the event a fraction of a nanosecond early, when it is
 * retried at once); at most one event is pending.
 */
import { assert } from '../src/runtime/assert.js';
import type { Simulation } from './simulation.js';

interface Deadline {
  readonly atMs: number;
  readonly call: () => void;
}

/** Head index past which the FIFO's array is compacted (when it is also half consumed). */
const compactAfter = 1024;

export class Deadlines {
  private queue: (Deadline | undefined)[] = [];
  private head = 0;
  private armed = false;

  constructor(
    private readonly sim: Simulation,
    private readonly delayMs: number,
  ) {
    // Positive, so that a call adding another (a client's next transaction) never runs it in the same turn.
    assert(Number.isFinite(delayMs) && delayMs > 0, `Deadlines: delayMs must be finite and > 0, got ${delayMs}`);
  }

  /** Calls pending. */
  get length(): number {
    return this.queue.length - this.head;
  }

  add(call: () => void): void {
    this.queue.push({ atMs: this.sim.nowMs + this.delayMs, call });
    if (!this.armed) this.arm();
  }

  private arm(): void {
    const next = this.queue[this.head];
    this.armed = next !== undefined;
    if (next !== undefined) this.sim.at(Math.max(0, next.atMs - this.sim.nowMs), () => this.runDue());
  }

  private runDue(): void {
    const now = this.sim.nowMs;
    for (let next = this.queue[this.head]; next !== undefined && next.atMs <= now; next = this.queue[this.head]) {
      this.queue[this.head++] = undefined;
      next.call();
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > compactAfter && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.arm();
  }
}
