/**
 * An AppTime (src/node/app-time.ts) that moves only when a test says: timers fire in (deadline, order
 * set) order as `advance` passes their deadline, so that a test of the write and read rules runs the
 * same way on an idle machine and a loaded one.
 */
import type { AppTime } from '../../src/node/app-time.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

export class ManualTime implements AppTime {
  private nowMs = 0;
  private seq = 0;
  private readonly timers = new Set<Timer>();

  now(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, fire: () => void): Timer {
    const timer = { at: this.nowMs + delayMs, seq: this.seq++, fire };
    this.timers.add(timer);
    return timer;
  }

  /** Timers set and not yet fired or cleared. */
  get timersPending(): number {
    return this.timers.size;
  }

  clearTimer(timer: unknown): void {
    this.timers.delete(timer as Timer);
  }

  /** Moves time on by `ms`, firing each timer due on the way at its own deadline (ones they set too). */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.timers) if (timer.at <= until && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) next = timer;
      if (next === undefined) break;
      this.timers.delete(next);
      this.nowMs = next.at;
      next.fire();
    }
    this.nowMs = until;
  }
}
