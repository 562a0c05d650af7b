/**
 * What the simulator property suites share: fault-schedule arbitraries, the seed budget `npm test` runs
 * (named here so that the total is on one screen), and the two ways a property runs — generated
 * schedules through fast-check, and swarm seeds exactly as `chorus sim` runs them — each failing with
 * the one command that replays it.
 *
 * The budget: at least 200 seeds across 3- and 5-node clusters (here 100 register + 50 bank + 50
 * list-append, and 12 power losses), each 3 s of faults then the liveness and drain phases. More: `npm run sim:soak`, or
 * `npx chorus sim --seeds K`.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Fault, TimedFault } from '../../simulate/workload.js';
import { parseSimArgs, replayCommand, runSeed } from '../../src/cli/sim.js';

/** Simulated milliseconds of the safety phase (faults on) in every property run. */
export const propertySafetyMs = 3_000;

/** Seeds per suite: generated schedules (fast-check runs) and swarm seeds per cluster shape. */
export const seedBudget = {
  register: { generated: 30, swarm3: 35, swarm5: 35 },
  bank: { generated: 14, swarm3: 18, swarm5: 18 },
  listAppend: { generated: 14, swarm3: 18, swarm5: 18 },
  /** Power losses (a quorum down within milliseconds, mid-sync) on background-sync seeds: cluster-power-loss.test.ts. */
  powerLoss: { generated: 12 },
} as const;

/** A generous per-test bound for a batch of seeds on a loaded two-core machine (vitest's default is 60 s). */
export const seedBatchTimeoutMs = 300_000;

/** The cluster shapes swarm seeds run on: three equal nodes, and five with one of qrank 2. */
export const ranks3 = [1, 1, 1] as const;
export const ranks5 = [1, 2, 1, 1, 1] as const;

export const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }),
  fc.record({ kind: fc.constant('ring' as const), order: fc.array(fc.nat(4), { maxLength: 5 }) }),
  fc.record({ kind: fc.constant('bridge' as const), mask: fc.nat(31), bridge: fc.nat(4) }),
  fc.record({ kind: fc.constant('cutOneWay' as const), from: fc.nat(4), to: fc.nat(4) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('rates' as const), loss: fc.double({ min: 0, max: 0.3, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.2, noNaN: true }), reorder: fc.double({ min: 0, max: 0.5, noNaN: true }), capacity: fc.integer({ min: 4, max: 200 }) }, { requiredKeys: ['kind', 'loss', 'duplicate', 'reorder'] }),
  fc.record({ kind: fc.constant('slowLink' as const), from: fc.nat(4), to: fc.nat(4), minMs: fc.integer({ min: 0, max: 50 }), maxMs: fc.integer({ min: 50, max: 100 }) }),
  fc.record({ kind: fc.constant('clog' as const), from: fc.nat(4), to: fc.nat(4), forMs: fc.integer({ min: 10, max: 500 }) }),
  fc.record({ kind: fc.constant('pause' as const), node: fc.nat(4), forMs: fc.integer({ min: 10, max: 800 }) }),
  fc.record({ kind: fc.constant('stall' as const), node: fc.nat(4), forMs: fc.integer({ min: 10, max: 600 }) }),
  fc.record({ kind: fc.constant('crash' as const), node: fc.nat(4), forMs: fc.integer({ min: 10, max: 800 }), midWrite: fc.boolean() }, { requiredKeys: ['kind', 'node', 'forMs'] }),
  fc.record(
    { kind: fc.constant('powerLoss' as const), mask: fc.nat(31), staggerMs: fc.integer({ min: 0, max: 200 }), forMs: fc.integer({ min: 10, max: 800 }), midWrite: fc.boolean(), stallMs: fc.integer({ min: 1, max: 20 }), dropUnsynced: fc.boolean() },
    { requiredKeys: ['kind', 'mask', 'staggerMs', 'forMs'] },
  ),
  fc.record({ kind: fc.constant('clock' as const), node: fc.nat(4), offsetMs: fc.integer({ min: -2_000, max: 2_000 }), rate: fc.double({ min: 0.9, max: 1.1, noNaN: true }) }),
  fc.record({ kind: fc.constant('detach' as const), node: fc.nat(4), forMs: fc.integer({ min: 100, max: 2_000 }) }),
);

export const faultSchedule = (untilMs: number, faultsMax: number): fc.Arbitrary<TimedFault[]> =>
  fc.array(fc.record({ atMs: fc.integer({ min: 0, max: untilMs }), fault }), { maxLength: faultsMax });

/**
 * The workload as data beside the schedule, so that a failure shrinks it too (towards fewer clients and
 * keys): how many clients, on which keys. What each client does is drawn from the seed.
 */
export const workloadShape = fc.record({
  clients: fc.integer({ min: 2, max: 8 }),
  keys: fc.subarray(['a', 'b', 'c', 'd', 'e'], { minLength: 1 }),
});

/**
 * The cluster's shape beside its qranks (simulate/shape.ts): at most one arbiter, and up to two nodes to
 * leave down through the liveness phase (node numbers wrap around the node count; the run keeps only
 * what leaves a quorum). `shapeOf` turns it into workload options.
 */
export const clusterShape = fc.record({
  arbiters: fc.array(fc.nat(4), { maxLength: 1 }),
  livenessDown: fc.array(fc.nat(4), { maxLength: 2 }),
});

export function shapeOf(shape: { arbiters: readonly number[]; livenessDown: readonly number[] }, ranks: readonly number[]): { arbiters: number[]; livenessDown: number[] } {
  return { arbiters: shape.arbiters.map((i) => i % ranks.length), livenessDown: [...shape.livenessDown] };
}

/** Qranks for a 3- or 5-node cluster. */
export const qranks = (max: number): fc.Arbitrary<number[]> =>
  fc.oneof(fc.array(fc.integer({ min: 1, max }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max }), { minLength: 5, maxLength: 5 }));

/**
 * Checks a property over `numRuns` generated cases; a failure names the shrunk case and the command that
 * replays the same sequence of cases (the fast-check seed; the path narrows it to the failing one).
 */
export function assertGenerated<T>(testFile: string, property: fc.IProperty<T>, numRuns: number): void {
  const details = fc.check(property, { numRuns });
  if (!details.failed) return;
  throw new Error(`${fc.defaultReportMessage(details) ?? 'property failed'}\n  replay: FC_SEED=${details.seed} npx vitest run ${testFile}  (fast-check path ${JSON.stringify(details.counterexamplePath)})`);
}

/**
 * Runs `count` swarm seeds from `first` exactly as `chorus sim` runs them, and fails listing every failing
 * seed with its problems and its replay command (not only the first).
 */
export function expectSwarmSeeds(workload: 'register' | 'bank' | 'list-append', ranks: readonly number[], first: number, count: number): void {
  const args = parseSimArgs(['--qranks', ranks.join(','), '--time', `${propertySafetyMs}ms`, '--workload', workload]);
  const failures: string[] = [];
  let okOps = 0;
  for (let seed = first; seed < first + count; seed++) {
    const run = runSeed(args, seed);
    okOps += run.result?.okOps ?? 0;
    if (run.problems.length > 0) failures.push(`seed ${seed}: ${run.problems.join('; ').slice(0, 2_000)}\n  replay: ${replayCommand(args, seed)}`);
  }
  expect(failures, failures.join('\n')).toEqual([]);
  expect(okOps).toBeGreaterThan(count * 10); // not vacuous: the clusters did work
}
