/**
 * What the two cluster demos share: their settings, a bounded wait, and the summary they end with.
 */
import type { Window } from '../actors/window-flusher.js';
import type { WorkloadResult } from './workload.js';
import { failedCount, formatCount } from './workload.js';

export type Print = (line: string) => void;

/** How long each phase of the workload runs. */
export const demoPhaseMs = 2_000;
/** The longest the demo waits for something the cluster should do (elect, sync, converge) before it says it did not. */
export const demoSettleMsMax = 30_000;
/** Concurrent closed-loop writers on each node. */
export const demoWritersPerNode = 16;
/** Keys the workload writes to. */
export const demoKeys = 1_000;
/** Batch transactions into one Raft entry: up to 64 of them, 256 KiB, or 1 ms. */
export const demoWindow: Window = { length: 64, bsize: 256 * 1024, timeoutMs: 1 };
/**
 * Raft's tick: 50 ms instead of the default 10, so an election timeout is 0.5-1 s. On a loaded 2-core
 * machine a node opening in the same process (replaying its journal on the main thread, which relays
 * the thread host's cross-node messages) can stall heartbeats past 100-200 ms and cost an election.
 */
export const demoTickMs = 50;
const pollMs = 20;

/** Polls `check` every 20 ms until it returns a value, for at most `timeoutMs`; undefined if it never did. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || performance.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

export interface DemoOutcome {
  readonly runs: readonly WorkloadResult[];
  readonly awayNode: string;
  /** The workload run while that node was away. */
  readonly downRun: WorkloadResult;
  readonly missed: number;
  readonly syncMs: number;
  readonly synced: boolean;
  readonly equal: boolean;
  readonly quorumLost: number;
}

export function summarize(o: DemoOutcome): string {
  const commits = o.runs.reduce((sum, r) => sum + r.commits, 0);
  const seconds = o.runs.reduce((sum, r) => sum + r.elapsedMs, 0) / 1000;
  const failed = o.runs.reduce((sum, r) => sum + failedCount(r), 0);
  return [
    'summary:',
    `  ${formatCount(commits)} writes committed in ${seconds.toFixed(1)} s of workload, ${formatCount(failed)} failed`,
    `  with ${o.awayNode} down the other two ${o.quorumLost === 0 ? 'kept their quorum' : `lost their quorum ${o.quorumLost} times`} and committed ${formatCount(o.downRun.perSec)} writes/s`,
    `  ${o.awayNode} ${o.synced ? `caught up ${formatCount(o.missed)} missed log entries in ${(o.syncMs / 1000).toFixed(2)} s` : 'did NOT catch up'}`,
    `  every node holds the same data: ${o.equal ? 'yes' : 'NO'}`,
  ].join('\n');
}
