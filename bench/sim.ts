/**
 * `npm run bench -- sim [seeds]`: whole simulated clusters against the speed targets — a 5-node
 * cluster under the register workload (6 clients, each seed's swarm faults), 60 s of faults plus the
 * liveness and drain phases, checkers included, exactly as `chorus sim --nodes 5 --time 60s` runs it;
 * then the same seeds under a lighter load (`--think-ms 200`: each client pauses up to 200 ms between
 * operations, ~40 acknowledged operations per simulated second against ~290), since simulated time per
 * wall second depends on how much the cluster is asked to do.
 *
 * Targets: simulated time at least 100× wall time, and at least 200,000 message deliveries per second of
 * wall time on one core. Reported per seed and in total (the first seed includes the JIT's warm-up, as a
 * user's first run does). The machine is shared: the load average is printed with the numbers, and each
 * figure is also given per second of this process's CPU time (user + system, all its threads, so the
 * garbage collector's helpers too), which other processes on the machine disturb far less than wall time.
 */
import { loadavg } from 'node:os';
import { parseSimArgs, runSeed } from '../src/cli/sim.js';
import type { SimArgs } from '../src/cli/sim.js';
import type { BenchResult, BenchRow } from './report.js';

const nodes = 5;
const safetyMs = 60_000;
const seedsDefault = 3;

/** The lighter load's pause between a client's operations, at most (ms). */
const lightThinkMs = 200;

export function runSimBench(seeds = seedsDefault): BenchResult {
  const loadBefore = loadavg()[0]!;
  const full = runLoad(seeds, parseSimArgs(['--nodes', String(nodes), '--time', `${safetyMs}ms`]), '');
  const light = runLoad(seeds, parseSimArgs(['--nodes', String(nodes), '--time', `${safetyMs}ms`, '--think-ms', String(lightThinkMs)]), `think ${lightThinkMs} ms: `);
  const loadAfter = loadavg()[0]!;
  const rows = [...full.rows, ...light.rows];
  rows.push({ name: 'load average (1 min, before)', value: round1(loadBefore), unit: '' });
  rows.push({ name: 'load average (1 min, after)', value: round1(loadAfter), unit: '' });
  return {
    rows,
    summary: {
      suite: 'sim', nodes, seeds, ...full.summary,
      light: { thinkMs: lightThinkMs, ...light.summary },
      loadAverage: round1(loadBefore), loadAverageAfter: round1(loadAfter),
    },
  };
}

function runLoad(seeds: number, args: SimArgs, label: string): { rows: BenchRow[]; summary: Record<string, number> } {
  const rows: BenchRow[] = [];
  const totals = { simMs: 0, wallMs: 0, cpuMs: 0, events: 0, delivered: 0, okOps: 0 };
  for (let seed = 1; seed <= seeds; seed++) {
    const cpuBefore = process.cpuUsage();
    const began = performance.now();
    const run = runSeed(args, seed);
    const wallMs = performance.now() - began;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const result = run.result;
    if (result === undefined || run.problems.length > 0) throw new Error(`bench sim: seed ${seed} failed its checks: ${run.problems.join('; ')}`);
    totals.simMs += result.simMs;
    totals.wallMs += wallMs;
    totals.cpuMs += cpuMs;
    totals.events += result.events;
    totals.delivered += result.delivered;
    totals.okOps += result.okOps;
    rows.push({ name: `${label}seed ${seed}: speedup`, value: round1(result.simMs / wallMs), unit: '× real', target: '>= 100' });
    rows.push({ name: `${label}seed ${seed}: deliveries`, value: Math.round((result.delivered * 1000) / wallMs), unit: 'msgs/s', target: '>= 200000' });
    rows.push({ name: `${label}seed ${seed}: speedup (CPU time)`, value: round1(result.simMs / cpuMs), unit: '× CPU' });
  }
  const wallSeconds = totals.wallMs / 1000;
  const speedup = round1(totals.simMs / totals.wallMs);
  const deliveriesPerSec = Math.round(totals.delivered / wallSeconds);
  const eventsPerSec = Math.round(totals.events / wallSeconds);
  const cpuSpeedup = round1(totals.simMs / totals.cpuMs);
  const deliveriesPerCpuSec = Math.round((totals.delivered * 1000) / totals.cpuMs);
  const okOpsPerSimSec = Math.round((totals.okOps * 1000) / totals.simMs);
  rows.push({ name: `${label}all seeds: speedup`, value: speedup, unit: '× real', target: '>= 100' });
  rows.push({ name: `${label}all seeds: deliveries`, value: deliveriesPerSec, unit: 'msgs/s', target: '>= 200000' });
  rows.push({ name: `${label}all seeds: events`, value: eventsPerSec, unit: 'events/s' });
  rows.push({ name: `${label}all seeds: speedup (CPU time)`, value: cpuSpeedup, unit: '× CPU' });
  rows.push({ name: `${label}all seeds: deliveries (CPU time)`, value: deliveriesPerCpuSec, unit: 'msgs/CPU s' });
  rows.push({ name: `${label}all seeds: operations acknowledged`, value: okOpsPerSimSec, unit: 'per simulated s' });
  return {
    rows,
    summary: {
      simSeconds: round1(totals.simMs / 1000), wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      speedup, deliveriesPerSec, eventsPerSec, cpuSeconds: Math.round(totals.cpuMs) / 1000, cpuSpeedup, deliveriesPerCpuSec, okOpsPerSimSec,
    },
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
