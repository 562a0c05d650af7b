/**
 * `npm run bench -- sim [seeds]`: whole simulated clusters against the issue's speed targets — a 5-node
 * cluster under the register workload (6 clients, each seed's swarm faults), 60 s of faults plus the
 * liveness and drain phases, checkers included, exactly as `chorus sim --nodes 5 --time 60s` runs it, at
 * three loads (the clients' think time, drawn from [0, M] ms between a client's operations):
 *   - busy, the simulator's default (M = 20): ~290 acknowledged operations per simulated second;
 *   - moderate (M = 70): ~100 per simulated second, one per Raft tick (docs/simulator.md says why);
 *   - light (M = 200): ~40 per simulated second.
 *
 * Targets: simulated time at least 100× wall time under the moderate load, and at least 200,000 message
 * deliveries per second on one core under the default one. One seed (30 s, default load) runs first and
 * is not counted: it is the warm-up (JIT compilation, the heap growing to its working size: a first 60 s
 * seed took ~1.2 CPU s more than the same seed run again), which a sweep of many seeds pays once; its
 * cost is reported on its own line.
 *
 * The machine is shared: the load average is printed with the numbers, and each figure is also given per
 * second of this process's CPU time (user + system, all its threads, so the garbage collector's helpers
 * too), which other processes on the machine disturb far less than wall time.
 */
import { loadavg } from 'node:os';
import { parseSimArgs, runSeed } from '../src/cli/sim.js';
import type { SimArgs } from '../src/cli/sim.js';
import type { BenchResult, BenchRow } from './report.js';

const nodes = 5;
const safetyMs = 60_000;
const seedsDefault = 3;
/** The warm-up run, not counted: a seed outside the measured ones, at the default load. */
const warmUpSeed = 100;
const warmUpMs = 30_000;

/**
 * The loads: each client's pause between operations, at most (ms; undefined: the default,
 * simClientThinkMsMax), and which target each is held to.
 */
interface Load {
  readonly name: string;
  readonly label: string;
  readonly thinkMs: number | undefined;
  readonly targets: { readonly speedup?: string; readonly deliveries?: string };
}
const loads: readonly Load[] = [
  { name: 'busy', label: '', thinkMs: undefined, targets: { deliveries: '>= 200000' } },
  { name: 'moderate', label: 'moderate (think 70 ms): ', thinkMs: 70, targets: { speedup: '>= 100' } },
  { name: 'light', label: 'light (think 200 ms): ', thinkMs: 200, targets: {} },
];

export function runSimBench(seeds = seedsDefault): BenchResult {
  const loadBefore = loadavg()[0]!;
  const warmUp = cpuTimed(() => runSeed(parseSimArgs(['--nodes', String(nodes), '--time', `${warmUpMs}ms`]), warmUpSeed));
  const runs = loads.map((load) => {
    const argv = ['--nodes', String(nodes), '--time', `${safetyMs}ms`, ...(load.thinkMs === undefined ? [] : ['--think-ms', String(load.thinkMs)])];
    return runLoad(seeds, parseSimArgs(argv), load);
  });
  const loadAfter = loadavg()[0]!;
  const rows: BenchRow[] = [{ name: `warm-up (seed ${warmUpSeed}, ${warmUpMs / 1000} s, not counted)`, value: round1(warmUp.cpuMs / 1000), unit: 'CPU s' }];
  for (const run of runs) rows.push(...run.rows);
  rows.push({ name: 'load average (1 min, before)', value: round1(loadBefore), unit: '' });
  rows.push({ name: 'load average (1 min, after)', value: round1(loadAfter), unit: '' });
  const [busy, moderate, light] = runs;
  return {
    rows,
    summary: {
      suite: 'sim', nodes, seeds, warmUpCpuSeconds: round1(warmUp.cpuMs / 1000), ...busy!.summary,
      moderate: { thinkMs: loads[1]!.thinkMs, ...moderate!.summary },
      light: { thinkMs: loads[2]!.thinkMs, ...light!.summary },
      loadAverage: round1(loadBefore), loadAverageAfter: round1(loadAfter),
    },
  };
}

function cpuTimed<T>(run: () => T): { value: T; cpuMs: number; wallMs: number } {
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  const value = run();
  const wallMs = performance.now() - began;
  const cpu = process.cpuUsage(cpuBefore);
  return { value, cpuMs: (cpu.user + cpu.system) / 1000, wallMs };
}

function runLoad(seeds: number, args: SimArgs, load: Load): { rows: BenchRow[]; summary: Record<string, number> } {
  const rows: BenchRow[] = [];
  const totals = { simMs: 0, wallMs: 0, cpuMs: 0, events: 0, delivered: 0, okOps: 0 };
  const label = load.label;
  const target = load.targets.speedup;
  const deliveryTarget = load.targets.deliveries;
  for (let seed = 1; seed <= seeds; seed++) {
    const { value: run, cpuMs, wallMs } = cpuTimed(() => runSeed(args, seed));
    const result = run.result;
    if (result === undefined || run.problems.length > 0) throw new Error(`bench sim: seed ${seed} failed its checks: ${run.problems.join('; ')}`);
    totals.simMs += result.simMs;
    totals.wallMs += wallMs;
    totals.cpuMs += cpuMs;
    totals.events += result.events;
    totals.delivered += result.delivered;
    totals.okOps += result.okOps;
    rows.push({ name: `${label}seed ${seed}: speedup (CPU time)`, value: round1(result.simMs / cpuMs), unit: '× CPU', ...(target === undefined ? {} : { target }) });
  }
  const wallSeconds = totals.wallMs / 1000;
  const speedup = round1(totals.simMs / totals.wallMs);
  const deliveriesPerSec = Math.round(totals.delivered / wallSeconds);
  const eventsPerSec = Math.round(totals.events / wallSeconds);
  const cpuSpeedup = round1(totals.simMs / totals.cpuMs);
  const deliveriesPerCpuSec = Math.round((totals.delivered * 1000) / totals.cpuMs);
  const okOpsPerSimSec = Math.round((totals.okOps * 1000) / totals.simMs);
  const cpuMsPerSimSec = Math.round((totals.cpuMs / (totals.simMs / 1000)) * 100) / 100;
  const withTarget = (t: string | undefined) => (t === undefined ? {} : { target: t });
  rows.push({ name: `${label}all seeds: speedup`, value: speedup, unit: '× real', ...withTarget(target) });
  rows.push({ name: `${label}all seeds: deliveries`, value: deliveriesPerSec, unit: 'msgs/s', ...withTarget(deliveryTarget) });
  rows.push({ name: `${label}all seeds: events`, value: eventsPerSec, unit: 'events/s' });
  rows.push({ name: `${label}all seeds: speedup (CPU time)`, value: cpuSpeedup, unit: '× CPU', ...withTarget(target) });
  rows.push({ name: `${label}all seeds: deliveries (CPU time)`, value: deliveriesPerCpuSec, unit: 'msgs/CPU s', ...withTarget(deliveryTarget) });
  rows.push({ name: `${label}all seeds: CPU per simulated second`, value: cpuMsPerSimSec, unit: 'CPU ms' });
  rows.push({ name: `${label}all seeds: operations acknowledged`, value: okOpsPerSimSec, unit: 'per simulated s' });
  return {
    rows,
    summary: {
      simSeconds: round1(totals.simMs / 1000), wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      speedup, deliveriesPerSec, eventsPerSec, cpuSeconds: Math.round(totals.cpuMs) / 1000, cpuSpeedup, deliveriesPerCpuSec, cpuMsPerSimSec, okOpsPerSimSec,
    },
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
