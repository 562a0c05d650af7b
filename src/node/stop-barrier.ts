/**
 * The application's side of a cluster-wide stop; the barrier itself runs in the quorum watcher (see the
 * header of quorum-watcher.ts). Here: wait until this node's own writes have settled, announce the stop
 * at the index applied then, and wait for the watcher's `done` — or the timeout, or a local stop — and
 * say whom it was still waiting for when it timed out.
 */
import { ChorusError } from '../runtime/errors.js';
import type { StopProgress } from '../actors/quorum-watcher.js';

export type StopOutcome = 'done' | 'timeout' | 'stopped';

export class StopBarrier {
  private progress: StopProgress | undefined;
  private waiter: ((outcome: StopOutcome) => void) | undefined;

  constructor(
    private readonly nodeId: string,
    /** Whether this node's tables hold log index `index` (an arbiter, which has none: always). */
    private readonly holds: (index: number) => boolean,
  ) {}

  /** `announce` runs once `drained` resolved (unless the wait ended first); resolves with how it ended. */
  wait(drained: Promise<void>, announce: () => void, timeoutMs: number): Promise<StopOutcome> {
    return new Promise<StopOutcome>((resolve) => {
      const timer = setTimeout(() => end('timeout'), timeoutMs);
      const end = (outcome: StopOutcome) => {
        if (this.waiter !== end) return;
        this.waiter = undefined;
        clearTimeout(timer);
        resolve(outcome);
      };
      this.waiter = end;
      void drained.then(() => {
        if (this.waiter === end) announce();
      });
    });
  }

  /**
   * The watcher's report. Its `done` counts entries its replicator handed on; on the thread host the
   * applies reach the tables by another path, which may lag: the stop ends once they hold the target too.
   */
  progressed(progress: StopProgress): void {
    this.progress = progress;
    if (progress.done && this.holds(progress.target)) this.waiter?.('done');
  }

  /** This node's tables now hold up to `index`. */
  applied(index: number): void {
    const p = this.progress;
    if (p?.done === true && index >= p.target) this.waiter?.('done');
  }

  /** The node stopped alone meanwhile. */
  interrupted(): void {
    this.waiter?.('stopped');
  }

  timeoutError(timeoutMs: number): ChorusError {
    const p = this.progress;
    const why = p === undefined
      ? 'its own writes had not settled'
      : [
          p.notStopping.length > 0 ? `${p.notStopping.join(', ')} had not called stop` : '',
          p.behind.length > 0 ? `${p.behind.join(', ')} had not applied up to log index ${p.target}` : '',
          p.done && !this.holds(p.target) ? `its own tables had not applied up to log index ${p.target}` : '',
        ].filter((x) => x !== '').join('; ');
    return new ChorusError('TIMEOUT', `stop: node ${this.nodeId} waited ${timeoutMs} ms (stopTimeoutMs) for the cluster to stop with it: ${why}. It stopped alone.`);
  }
}
