/**
 * Time as a node's application side sees it, for its writes' and its quorum gate's deadlines: a clock
 * and one-shot timers. A node runs on the real ones (`realTime`); the simulator hands the same write
 * bookkeeping (write-core.ts) and gate (quorum-gate.ts) virtual ones, so that their rules run on its
 * virtual time, driven by its seed (simulate/node-app.ts).
 */

/** A timer as the AppTime that made it knows it; opaque to everyone else. */
export type AppTimer = unknown;

export interface AppTime {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fire` once, `delayMs` from now, unless cleared first. */
  setTimer(delayMs: number, fire: () => void): AppTimer;
  clearTimer(timer: AppTimer): void;
}

/** The process's own clock and timers. */
export const realTime: AppTime = {
  now: () => performance.now(),
  setTimer: (delayMs, fire) => setTimeout(fire, delayMs),
  clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};
