/**
 * `chorus sim`: runs a workload (register, bank or list-append) on a simulated cluster for one seed or a
 * sweep of seeds, each drawing its own fault schedule (narrowed by --faults), checks every run, prints
 * the one command that replays any failure, optionally writes the history and an HTML report, and ends
 * with one JSON line on stdout:
 * {"seeds","failures","failedSeeds","simSeconds","wallSeconds","simToWallRatio","cpuSeconds","simToCpuRatio",
 * "okOpsPerSimSec","eventsPerSec","deliveriesPerSec","deliveriesPerCpuSec",…}.
 *
 * Output discipline: results and replay commands go to stdout (the JSON line last); progress goes to
 * stderr only — a bar redrawn in place on a terminal, plain lines otherwise.
 */
import { writeFileSync } from 'node:fs';
import { formatHistory } from '../../simulate/history.js';
import { faultKinds, parseFaultKinds, runRegisterWorkload, swarmFaults } from '../../simulate/workload.js';
import type { FaultKind, WorkloadOptions, WorkloadResult } from '../../simulate/workload.js';
import { runBankWorkload } from '../../simulate/bank.js';
import { runListAppendWorkload } from '../../simulate/list-append.js';
import { RunTimeline } from '../../simulate/timeline.js';
import { drawShape } from '../../simulate/shape.js';
import { renderReport } from '../../simulate/report.js';
import { invalidArgument } from '../runtime/errors.js';
import { simProgressLinesMax, simSeedLinesMax } from '../limits.js';

const workloads = { register: runRegisterWorkload, bank: runBankWorkload, 'list-append': runListAppendWorkload } as const;
type Workload = keyof typeof workloads;

export interface SimArgs {
  readonly seed: number;
  readonly seeds: number;
  /** qrank of each node; its length is the node count. */
  readonly ranks: readonly number[];
  readonly timeMs: number;
  readonly historyFile: string | undefined;
  readonly reportFile: string | undefined;
  readonly checkDeterminism: boolean;
  readonly workload: Workload;
  /** The fault kinds seeds draw from; all of them unless --faults narrowed it. */
  readonly faults: readonly FaultKind[];
  /** Node numbers that are arbiters; undefined: each seed draws (simulate/shape.ts). */
  readonly arbiters: readonly number[] | undefined;
  /** A client's pause between operations, at most (ms); undefined: the workload's default. */
  readonly thinkMsMax: number | undefined;
}

/** Where progress goes: a terminal gets a bar redrawn in place, anything else plain lines. */
export interface ProgressSink {
  readonly isTTY: boolean;
  write(text: string): void;
}

export const simUsage = `chorus sim [--seed S] [--seeds K] [--nodes N | --qranks R,R,…] [--arbiters auto|none|I,…] [--time 60s] [--think-ms M] [--workload W] [--faults LIST] [--history FILE] [--report FILE.html] [--check-determinism]
  --seed S              first seed (default 1)
  --seeds K             how many seeds to run from S (default 1); progress on stderr
  --nodes N             nodes in the cluster, 1 to 9, each of qrank 1 (default 3)
  --qranks R,R,…        one qrank per node instead of --nodes, e.g. 1,2,1,1,1
  --arbiters A          which nodes are arbiters (vote, keep the log, no tables): auto (default: some
                        seeds of 3 nodes or more draw one), none, or node numbers from 0, e.g. 2
  --time T              simulated time with faults on, e.g. 500ms, 10s, 2m (default 10s)
  --think-ms M          each client pauses 0 to M ms between operations (default 20): the load
  --workload W          register (read/write/cas, checked for linearizability and lost writes; default)
                        bank (transfers, every snapshot read must keep the total), or
                        list-append (appends and list reads, checked for one order per key)
  --faults LIST         the fault kinds seeds draw from, comma-separated (default: all):
                        ${faultKinds.join(', ')}
  --history FILE        write the (first failing, else last) run's history as JSON lines
  --report FILE.html    write that run's timeline (faults, roles and terms, crashes, commit latency) as a page
  --check-determinism   run every seed twice and fail if the two traces (every delivery and timer, with
                        contents, at its virtual time) or the two histories differ`;

export function parseSimArgs(argv: readonly string[]): SimArgs {
  const args = {
    seed: 1, seeds: 1, ranks: [1, 1, 1] as readonly number[], timeMs: 10_000, historyFile: undefined as string | undefined,
    reportFile: undefined as string | undefined, checkDeterminism: false, workload: 'register' as Workload, faults: faultKinds as readonly FaultKind[],
    arbiters: undefined as readonly number[] | undefined, thinkMsMax: undefined as number | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw invalidArgument('chorus sim', `${flag} needs a value`);
      return v;
    };
    const integer = (text: string, min: number, max: number) => {
      const v = Number(text);
      if (text.trim() === '' || !Number.isSafeInteger(v) || v < min || v > max) throw invalidArgument('chorus sim', `${flag} must be an integer in [${min}, ${max}]`);
      return v;
    };
    if (flag === '--seed') args.seed = integer(value(), 0, 2 ** 31 - 1);
    else if (flag === '--seeds') args.seeds = integer(value(), 1, 1_000_000);
    else if (flag === '--nodes') args.ranks = Array.from({ length: integer(value(), 1, 9) }, () => 1);
    else if (flag === '--qranks') {
      const ranks = value().split(',').map((r) => integer(r, 1, 100));
      if (ranks.length > 9) throw invalidArgument('chorus sim', '--qranks takes 1 to 9 qranks (one per node)');
      args.ranks = ranks;
    } else if (flag === '--time') args.timeMs = parseDuration(value());
    else if (flag === '--history') args.historyFile = value();
    else if (flag === '--report') args.reportFile = value();
    else if (flag === '--faults') args.faults = parseFaultKinds('chorus sim --faults', value());
    else if (flag === '--check-determinism') args.checkDeterminism = true;
    else if (flag === '--think-ms') args.thinkMsMax = integer(value(), 0, 60_000);
    else if (flag === '--arbiters') {
      const v = value();
      args.arbiters = v === 'auto' ? undefined : v === 'none' ? [] : [...new Set(v.split(',').map((i) => integer(i, 0, 8)))];
    }
    else if (flag === '--workload') {
      const w = value();
      if (!(w in workloads)) throw invalidArgument('chorus sim', `--workload must be one of ${Object.keys(workloads).join(', ')}, got ${JSON.stringify(w)}`);
      args.workload = w as Workload;
    } else throw invalidArgument('chorus sim', `unknown option ${JSON.stringify(flag)}\n${simUsage}`);
  }
  if (args.arbiters !== undefined && args.arbiters.some((i) => i >= args.ranks.length)) throw invalidArgument('chorus sim', `--arbiters names node numbers from 0 to ${args.ranks.length - 1}`);
  if (args.arbiters !== undefined && args.arbiters.length >= args.ranks.length) throw invalidArgument('chorus sim', '--arbiters must leave at least one data node');
  return args;
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (match === null) throw invalidArgument('chorus sim', `--time must look like 500ms, 10s or 2m, got ${JSON.stringify(text)}`);
  const n = Number(match[1]);
  const ms = match[2] === 'ms' ? n : match[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 100 || ms > 24 * 3_600_000) throw invalidArgument('chorus sim', '--time must be between 100ms and 24h');
  return ms;
}

/** The one command that replays `seed` exactly as this sweep ran it. */
export function replayCommand(args: SimArgs, seed: number): string {
  const cluster = args.ranks.every((r) => r === 1) ? `--nodes ${args.ranks.length}` : `--qranks ${args.ranks.join(',')}`;
  const faults = args.faults.length === faultKinds.length ? '' : ` --faults ${args.faults.join(',')}`;
  const arbiters = args.arbiters === undefined ? '' : ` --arbiters ${args.arbiters.length === 0 ? 'none' : args.arbiters.join(',')}`;
  const think = args.thinkMsMax === undefined ? '' : ` --think-ms ${args.thinkMsMax}`;
  return `npx chorus sim --seed ${seed} ${cluster}${arbiters} --time ${args.timeMs}ms${think} --workload ${args.workload}${faults}${args.checkDeterminism ? ' --check-determinism' : ''}`;
}

export interface SeedRun {
  readonly result: WorkloadResult | undefined;
  readonly problems: readonly string[];
  readonly timeline: RunTimeline | undefined;
}

/**
 * Runs one seed (twice under --check-determinism) exactly as `replayCommand(args, seed)` will; a throw is
 * a failure of that seed, not of the sweep. The property suites call it too, so their replay lines hold.
 */
export function runSeed(args: SimArgs, seed: number): SeedRun {
  // A passing seed runs without stack traces: every certification conflict in the store builds an Error,
  // and capturing their stacks cost ~7% of a 5-node run (profiled). A failing seed runs again with them,
  // so that what it reports carries its stacks; the run is deterministic, so it fails the same way.
  const fast = withStackTraceLimit(0, () => runSeedOnce(args, seed));
  return fast.problems.length === 0 ? fast : runSeedOnce(args, seed);
}

function runSeedOnce(args: SimArgs, seed: number): SeedRun {
  const timeline = args.reportFile === undefined ? undefined : new RunTimeline();
  const shape = drawShape(seed, args.ranks.length);
  const options = (withTimeline: boolean): WorkloadOptions => ({
    seed, ranks: args.ranks, faults: swarmFaults(seed, args.ranks.length, args.timeMs, args.faults), safetyMs: args.timeMs,
    arbiters: args.arbiters ?? shape.arbiters, livenessDown: shape.livenessDown, ...(args.thinkMsMax === undefined ? {} : { thinkMsMax: args.thinkMsMax }),
    ...(withTimeline && timeline !== undefined ? { timeline } : {}), trace: args.checkDeterminism,
  });
  try {
    const result = workloads[args.workload](options(true));
    const problems = [...result.problems];
    if (args.checkDeterminism) problems.push(...determinismProblems(result, workloads[args.workload](options(false))));
    return { result, problems, timeline };
  } catch (error) {
    return { result: undefined, problems: [`the run threw: ${(error as Error).stack ?? String(error)}`], timeline };
  }
}

/** Two runs of one seed must trace the same events (every delivery and timer, with contents) and the same history. */
export function determinismProblems(first: WorkloadResult, second: WorkloadResult): string[] {
  const problems: string[] = [];
  if (first.traceHash !== second.traceHash) problems.push(`the same seed gave a different trace on a second run (trace hash ${first.traceHash}, then ${second.traceHash})`);
  if (formatHistory(first.history) !== formatHistory(second.history)) problems.push('the same seed gave a different history on a second run');
  return problems;
}

function withStackTraceLimit<T>(limit: number, run: () => T): T {
  const before = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  try {
    return run();
  } finally {
    Error.stackTraceLimit = before;
  }
}

export function runSim(args: SimArgs, print: (line: string) => void, progress: ProgressSink = process.stderr): number {
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  const failedSeeds: number[] = [];
  const totals = { simMs: 0, events: 0, delivered: 0, okOps: 0 };
  let kept: SeedRun | undefined;
  let keptSeed = args.seed;
  const bar = progressBar(args.seeds, progress, began);
  // On a terminal stdout and stderr share the screen: the bar is cleared before any line is printed.
  const say = (line: string) => {
    bar.clear();
    print(line);
  };
  const okWord = { register: 'operations', bank: 'transfers', 'list-append': 'appends' }[args.workload];
  for (let seed = args.seed; seed < args.seed + args.seeds; seed++) {
    const run = runSeed(args, seed);
    totals.simMs += run.result?.simMs ?? 0;
    totals.events += run.result?.events ?? 0;
    totals.delivered += run.result?.delivered ?? 0;
    totals.okOps += run.result?.okOps ?? 0;
    if (run.problems.length > 0) {
      if (failedSeeds.length === 0) [kept, keptSeed] = [run, seed];
      failedSeeds.push(seed);
      say(`seed ${seed}: FAILED\n  ${run.problems.join('\n  ')}\n  replay: ${replayCommand(args, seed)}`);
    } else {
      if (failedSeeds.length === 0) [kept, keptSeed] = [run, seed];
      const r = run.result!;
      if (args.seeds <= simSeedLinesMax) say(`seed ${seed}: ok (${r.okOps} ${okWord} acknowledged, ${r.events} events, ${(r.simMs / 1000).toFixed(1)} s simulated)`);
    }
    bar.update(seed - args.seed + 1, failedSeeds.length);
  }
  bar.clear();
  if (kept?.result !== undefined && args.historyFile !== undefined) writeFileSync(args.historyFile, formatHistory(kept.result.history));
  if (kept?.result !== undefined && kept.timeline !== undefined && args.reportFile !== undefined) {
    const nodes = args.ranks.map((_, i) => `n${i}`);
    const arbiters = (args.arbiters ?? drawShape(keptSeed, args.ranks.length).arbiters).map((i) => nodes[i]!);
    writeFileSync(args.reportFile, renderReport({
      title: `chorus sim — seed ${keptSeed}, ${args.workload}`, seed: keptSeed, workload: args.workload, nodes, arbiters, problems: kept.problems,
      replay: replayCommand(args, keptSeed), timeline: kept.timeline, history: kept.result.history,
    }));
  }
  const wallSeconds = (performance.now() - began) / 1000;
  // CPU time (user + system, every thread of this process) as well as wall time: on a shared machine wall
  // time swings with the load, CPU time much less.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const simSeconds = totals.simMs / 1000;
  const round1 = (n: number) => Math.round(n * 10) / 10;
  print(JSON.stringify({
    seeds: args.seeds, failures: failedSeeds.length, failedSeeds, nodes: args.ranks.length, workload: args.workload,
    simSeconds: Math.round(totals.simMs) / 1000, wallSeconds: Math.round(wallSeconds * 1000) / 1000,
    simToWallRatio: round1(simSeconds / wallSeconds), cpuSeconds: Math.round(cpuSeconds * 1000) / 1000, simToCpuRatio: round1(simSeconds / cpuSeconds),
    okOpsPerSimSec: simSeconds > 0 ? round1(totals.okOps / simSeconds) : 0,
    eventsPerSec: Math.round(totals.events / wallSeconds), deliveriesPerSec: Math.round(totals.delivered / wallSeconds),
    deliveriesPerCpuSec: Math.round(totals.delivered / cpuSeconds),
  }));
  return failedSeeds.length === 0 ? 0 : 1;
}

/** Progress of a sweep on stderr: a bar on a terminal, at most simProgressLinesMax plain lines otherwise. */
function progressBar(total: number, sink: ProgressSink, began: number): { update(done: number, failed: number): void; clear(): void } {
  let shown = false;
  const every = Math.ceil(total / simProgressLinesMax);
  return {
    update(done, failed) {
      if (total === 1) return;
      const elapsedS = (performance.now() - began) / 1000;
      if (sink.isTTY) {
        const cells = 30;
        const full = Math.round((cells * done) / total);
        const eta = done < total ? ` · eta ${Math.ceil((elapsedS / done) * (total - done))} s` : '';
        sink.write(`\r\x1b[K[${'#'.repeat(full)}${'.'.repeat(cells - full)}] ${done}/${total} seeds · ${failed} failed · ${elapsedS.toFixed(1)} s${eta}`);
        shown = true;
      } else if (total > simSeedLinesMax && (done % every === 0 || done === total)) {
        sink.write(`progress: ${done}/${total} seeds, ${failed} failed, ${elapsedS.toFixed(1)} s\n`);
      }
    },
    clear() {
      if (shown) sink.write('\r\x1b[K');
      shown = false;
    },
  };
}
