/**
 * `chorus sim`: runs a workload (register or bank) on a simulated cluster for one seed or a sweep of seeds, each
 * drawing its own fault schedule, checks every run, prints the command that replays any failure, and
 * ends with one JSON line: {"seeds","failures","failedSeeds","simSeconds","wallSeconds","eventsPerSec"}.
 */
import { writeFileSync } from 'node:fs';
import { formatHistory } from '../../simulate/history.js';
import { runRegisterWorkload, swarmFaults } from '../../simulate/workload.js';
import { runBankWorkload } from '../../simulate/bank.js';
import { runListAppendWorkload } from '../../simulate/list-append.js';
import type { WorkloadResult } from '../../simulate/workload.js';
import { invalidArgument } from '../runtime/errors.js';

const workloads = { register: runRegisterWorkload, bank: runBankWorkload, 'list-append': runListAppendWorkload } as const;
type Workload = keyof typeof workloads;

export interface SimArgs {
  readonly seed: number;
  readonly seeds: number;
  readonly nodes: number;
  readonly timeMs: number;
  readonly historyFile: string | undefined;
  readonly checkDeterminism: boolean;
  readonly workload: Workload;
}

export const simUsage = `chorus sim [--seed S] [--seeds K] [--nodes N] [--time 60s] [--workload register|bank|list-append] [--history FILE] [--check-determinism]
  --seed S              first seed (default 1)
  --seeds K             how many seeds to run from S (default 1)
  --nodes N             nodes in the cluster, 1 to 9 (default 3)
  --time T              simulated time with faults on, e.g. 500ms, 10s, 2m (default 10s)
  --workload W          register (read/write/cas, checked for linearizability and lost writes; default)
                        bank (transfers, every snapshot read must keep the total), or
                        list-append (appends and list reads, checked for one order per key)
  --history FILE        write the (last failing, else last) run's history as JSON lines
  --check-determinism   run every seed twice and fail if the two histories differ`;

export function parseSimArgs(argv: readonly string[]): SimArgs {
  const args = { seed: 1, seeds: 1, nodes: 3, timeMs: 10_000, historyFile: undefined as string | undefined, checkDeterminism: false, workload: 'register' as Workload };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw invalidArgument('chorus sim', `${flag} needs a value`);
      return v;
    };
    const integer = (min: number, max: number) => {
      const v = Number(value());
      if (!Number.isSafeInteger(v) || v < min || v > max) throw invalidArgument('chorus sim', `${flag} must be an integer in [${min}, ${max}]`);
      return v;
    };
    if (flag === '--seed') args.seed = integer(0, 2 ** 31 - 1);
    else if (flag === '--seeds') args.seeds = integer(1, 1_000_000);
    else if (flag === '--nodes') args.nodes = integer(1, 9);
    else if (flag === '--time') args.timeMs = parseDuration(value());
    else if (flag === '--history') args.historyFile = value();
    else if (flag === '--check-determinism') args.checkDeterminism = true;
    else if (flag === '--workload') {
      const w = value();
      if (!(w in workloads)) throw invalidArgument('chorus sim', `--workload must be one of ${Object.keys(workloads).join(', ')}, got ${JSON.stringify(w)}`);
      args.workload = w as Workload;
    }
    else throw invalidArgument('chorus sim', `unknown option ${JSON.stringify(flag)}\n${simUsage}`);
  }
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

export function runSim(args: SimArgs, print: (line: string) => void): number {
  const began = performance.now();
  const failedSeeds: number[] = [];
  let simMs = 0;
  let events = 0;
  let kept: WorkloadResult | undefined;
  const ranks = Array.from({ length: args.nodes }, () => 1);
  const replay = (seed: number) => `npx chorus sim --seed ${seed} --nodes ${args.nodes} --time ${args.timeMs}ms --workload ${args.workload}${args.checkDeterminism ? ' --check-determinism' : ''}`;
  const workload = workloads[args.workload];
  for (let seed = args.seed; seed < args.seed + args.seeds; seed++) {
    const run = () => workload({ seed, ranks, faults: swarmFaults(seed, args.nodes, args.timeMs), safetyMs: args.timeMs });
    const result = run();
    const problems = [...result.problems];
    if (args.checkDeterminism && formatHistory(run().history) !== formatHistory(result.history)) problems.push('the same seed gave a different history on a second run');
    simMs += result.simMs;
    events += result.events;
    if (problems.length > 0) {
      failedSeeds.push(seed);
      kept = result;
      print(`seed ${seed}: FAILED\n  ${problems.join('\n  ')}\n  replay: ${replay(seed)}`);
    } else {
      if (failedSeeds.length === 0) kept = result;
      if (args.seeds <= 20) print(`seed ${seed}: ok (${result.okOps} ${{ register: 'operations', bank: 'transfers', 'list-append': 'appends' }[args.workload]} acknowledged, ${result.events} events, ${(result.simMs / 1000).toFixed(1)} s simulated)`);
      else if ((seed - args.seed + 1) % Math.ceil(args.seeds / 20) === 0) print(`${seed - args.seed + 1}/${args.seeds} seeds, ${failedSeeds.length} failed`);
    }
  }
  if (args.historyFile !== undefined && kept !== undefined) writeFileSync(args.historyFile, formatHistory(kept.history));
  const wallSeconds = (performance.now() - began) / 1000;
  print(JSON.stringify({
    seeds: args.seeds, failures: failedSeeds.length, failedSeeds, nodes: args.nodes, workload: args.workload,
    simSeconds: Math.round(simMs) / 1000, wallSeconds: Math.round(wallSeconds * 1000) / 1000, eventsPerSec: Math.round(events / wallSeconds),
  }));
  return failedSeeds.length === 0 ? 0 : 1;
}
