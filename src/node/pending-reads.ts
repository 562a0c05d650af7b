/**
 * A node's linearizable reads as promises: the read rules (read-core.ts, which the simulator runs on
 * virtual time too) on the process's real clock and timers, with this run's ids starting at a random
 * point (as write ids do: pending-writes.ts). Owns nothing but that wiring.
 */
import { realTime } from './app-time.js';
import { runIdStart } from './pending-writes.js';
import { ReadCore } from './read-core.js';
import type { ReadRoutes } from './read-core.js';

export class PendingReads extends ReadCore {
  constructor(routes: Omit<ReadRoutes, 'time' | 'idStart'>) {
    super({ ...routes, time: realTime, idStart: runIdStart() });
  }

  /** Resolves once a linearizable read may run here; rejects with why it may not (see ReadCore). */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => this.start((error) => (error === undefined ? resolve() : reject(error))));
  }
}
