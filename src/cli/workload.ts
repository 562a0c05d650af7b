/**
 * The demo's workload: closed-loop writers, each doing one single-row upsert after another on one
 * target (a node, in this process or behind a client), until stopped. What it reports is what a user
 * would ask: commits, commits per second, commit latency, and failures by error code.
 *
 * Every write is of a 100-byte record (a 4-byte key and a 96-character value) to one of `keys` keys.
 */
import type { SchemaDef } from '../store/schema.js';
import { LatencyHistogram } from './latency.js';

export const demoTable = 'kv';
export const demoSchema: SchemaDef = {
  tables: [{ name: demoTable, fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }],
};

/** Something that commits `{ k, v }` into the demo table and settles when it is committed (or refused). */
export interface WorkloadTarget {
  readonly name: string;
  put(k: number, v: string): Promise<unknown>;
}

export interface WorkloadResult {
  readonly commits: number;
  readonly elapsedMs: number;
  readonly perSec: number;
  readonly latency: LatencyHistogram;
  /** Failed writes by error code (`code` of the error, or its name). */
  readonly failures: Readonly<Record<string, number>>;
}

export interface RunningWorkload {
  /** Lets every writer finish its write in flight, then resolves `done`. */
  stop(): void;
  readonly done: Promise<WorkloadResult>;
}

export interface WorkloadOptions {
  readonly writersPerTarget: number;
  readonly keys: number;
  /** Where this run's keys start counting: runs that follow each other write new values. */
  readonly firstSeq?: number;
}

const padding = '.'.repeat(96);
/** After a failed write, a writer waits this long before the next one. */
const failureBackoffMs = 5;

/** Starts `writersPerTarget` closed-loop writers on every target. */
export function startWorkload(targets: readonly WorkloadTarget[], options: WorkloadOptions): RunningWorkload {
  let stopped = false;
  let seq = options.firstSeq ?? 0;
  let commits = 0;
  const latency = new LatencyHistogram();
  const failures: Record<string, number> = {};
  const began = performance.now();
  const writer = async (target: WorkloadTarget) => {
    while (!stopped) {
      const n = seq++;
      const value = `${target.name}#${n}${padding}`.slice(0, 96);
      const start = performance.now();
      try {
        await target.put(n % options.keys, value);
        latency.record(performance.now() - start);
        commits++;
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const key = typeof code === 'string' ? code : (error as Error).name;
        failures[key] = (failures[key] ?? 0) + 1;
        // A refusal can come back without a turn of the event loop (NO_QUORUM is decided locally):
        // wait a moment so that a failing writer neither spins nor starves the timer that stops it.
        await new Promise((resolve) => setTimeout(resolve, failureBackoffMs));
      }
    }
  };
  const writers = targets.flatMap((target) => Array.from({ length: options.writersPerTarget }, () => writer(target)));
  const done = Promise.all(writers).then((): WorkloadResult => {
    const elapsedMs = performance.now() - began;
    return { commits, elapsedMs, perSec: commits / (elapsedMs / 1000), latency, failures };
  });
  return { stop: () => void (stopped = true), done };
}

/** Runs the workload for `durationMs`. */
export async function runWorkloadFor(targets: readonly WorkloadTarget[], options: WorkloadOptions, durationMs: number): Promise<WorkloadResult> {
  const running = startWorkload(targets, options);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  running.stop();
  return running.done;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatMs(ms: number): string {
  return ms < 1 ? `${ms.toFixed(2)} ms` : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** "12,345 commits, 4,115/s, p50 1.2 ms, p99 9.8 ms" (and the failures, if any). */
export function describeRun(run: WorkloadResult): string {
  const failed = Object.entries(run.failures).map(([code, count]) => `${formatCount(count)} ${code}`);
  return `${formatCount(run.commits)} commits, ${formatCount(run.perSec)}/s, commit p50 ${formatMs(run.latency.quantileMs(0.5))}, p99 ${formatMs(run.latency.quantileMs(0.99))}` +
    (failed.length > 0 ? `; failed: ${failed.join(', ')}` : '');
}

export function failedCount(run: WorkloadResult): number {
  return Object.values(run.failures).reduce((a, b) => a + b, 0);
}
