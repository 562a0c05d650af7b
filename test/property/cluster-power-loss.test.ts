/**
 * Power loss on seeds whose journals sync in the background (syncThen, as FileJournal does): several
 * nodes, a quorum or all of them, lose power (the schedule's `powerLoss` fault: disks stalled first, then
 * each down inside a journal write within a few milliseconds of the others), so that what their
 * background syncs had not yet made durable is lost or torn on each (all of it, on half the losses). Raft stays safe through it only if
 * nothing was acknowledged (a vote, an append's acknowledgement, the leader counting itself, a client's
 * commit) before the sync covering it completed: one node crashing at a time never tells (the others keep
 * the data), a quorum crashing together does. The register workload's checkers decide (linearizable, no
 * acknowledged write lost, nodes agree at every index, convergence after healing); other faults mix in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Fault, TimedFault } from '../../simulate/workload.js';
import { simPowerLossStallMsMax } from '../../simulate/limits.js';
import { runRegisterWorkload } from '../../simulate/workload.js';
import { drawBackgroundSync } from '../../simulate/sim-journals.js';
import { assertGenerated, faultSchedule, propertySafetyMs, seedBatchTimeoutMs, seedBudget, workloadShape } from './faults.js';

const file = 'test/property/cluster-power-loss.test.ts';
const budget = seedBudget.powerLoss;

/**
 * A power loss: at `atMs`, the disks of a set of nodes (all of them when `all`, else the smallest majority
 * from node `first` on) stall for `stallMs`, then each goes down inside its next journal write (sync,
 * background sync or rewrite), `staggerMs` apart, dropping every record not synced when `dropUnsynced`.
 */
const powerLoss = fc.record({
  atMs: fc.integer({ min: 0, max: propertySafetyMs }),
  forMs: fc.integer({ min: 10, max: 400 }),
  all: fc.boolean(),
  first: fc.nat(4),
  stallMs: fc.integer({ min: 0, max: simPowerLossStallMsMax }),
  staggerMs: fc.integer({ min: 0, max: 20 }),
  dropUnsynced: fc.boolean(),
});

function lossOf(loss: { atMs: number; forMs: number; all: boolean; first: number; stallMs: number; staggerMs: number; dropUnsynced: boolean }, nodes: number): TimedFault {
  const count = loss.all ? nodes : Math.floor(nodes / 2) + 1;
  const mask = Array.from({ length: count }, (_, i) => (loss.first + i) % nodes).reduce((m, i) => m | (1 << i), 0);
  const fault: Fault = { kind: 'powerLoss', mask, staggerMs: loss.staggerMs, forMs: loss.forMs, midWrite: true, stallMs: loss.stallMs, dropUnsynced: loss.dropUnsynced };
  return { atMs: loss.atMs, fault };
}

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }).filter(drawBackgroundSync),
  nodes: fc.constantFrom(3, 5),
  losses: fc.array(powerLoss, { minLength: 1, maxLength: 3 }),
  faults: faultSchedule(propertySafetyMs, 4),
  workload: workloadShape,
});

describe('power loss with background journal syncs', () => {
  it(`loses no acknowledged write and keeps every checker when a quorum loses power mid-sync (${budget.generated} generated schedules)`, () => {
    assertGenerated(file, fc.property(scenario, (s) => {
      const faults = [...s.faults, ...s.losses.map((loss) => lossOf(loss, s.nodes))].sort((a, b) => a.atMs - b.atMs);
      const result = runRegisterWorkload({ seed: s.seed, ranks: Array.from({ length: s.nodes }, () => 1), faults, ...s.workload, safetyMs: propertySafetyMs });
      expect(result.problems).toEqual([]);
      expect(result.okOps).toBeGreaterThan(20); // not vacuous: the cluster did work
    }), budget.generated);
  }, seedBatchTimeoutMs);
});
