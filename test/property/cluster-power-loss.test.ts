/**
 * Power loss on seeds whose journals sync in the background (syncThen, as FileJournal does): several
 * nodes, a quorum or all of them, crash at the same moment inside a journal write, so that what their
 * background syncs had not yet made durable is lost or torn on each. Raft stays safe through it only if
 * nothing was acknowledged (a vote, an append's acknowledgement, the leader counting itself, a client's
 * commit) before the sync covering it completed: one node crashing at a time never tells (the others keep
 * the data), a quorum crashing together does. The register workload's checkers decide (linearizable, no
 * acknowledged write lost, nodes agree at every index, convergence after healing); other faults mix in.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TimedFault } from '../../simulate/workload.js';
import { runRegisterWorkload } from '../../simulate/workload.js';
import { drawBackgroundSync } from '../../simulate/sim-journals.js';
import { assertGenerated, faultSchedule, propertySafetyMs, seedBatchTimeoutMs, seedBudget, workloadShape } from './faults.js';

const file = 'test/property/cluster-power-loss.test.ts';
const budget = seedBudget.powerLoss;

/** A power loss: at `atMs`, every node of the set (node numbers wrap around; all of them when `all`) crashes inside its next journal write. */
const powerLoss = fc.record({
  atMs: fc.integer({ min: 0, max: propertySafetyMs }),
  forMs: fc.integer({ min: 10, max: 400 }),
  all: fc.boolean(),
  first: fc.nat(4),
});

function crashes(loss: { atMs: number; forMs: number; all: boolean; first: number }, nodes: number): TimedFault[] {
  const count = loss.all ? nodes : Math.floor(nodes / 2) + 1; // all, or the smallest majority
  return Array.from({ length: count }, (_, i) => ({ atMs: loss.atMs, fault: { kind: 'crash', node: (loss.first + i) % nodes, forMs: loss.forMs, midWrite: true } }));
}

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }).filter(drawBackgroundSync),
  nodes: fc.constantFrom(3, 5),
  losses: fc.array(powerLoss, { minLength: 1, maxLength: 3 }),
  faults: faultSchedule(propertySafetyMs, 4),
  workload: workloadShape,
});

describe('power loss with background journal syncs', () => {
  it(`loses no acknowledged write and keeps every checker when a quorum crashes at once mid-sync (${budget.generated} generated schedules)`, () => {
    assertGenerated(file, fc.property(scenario, (s) => {
      const faults = [...s.faults, ...s.losses.flatMap((loss) => crashes(loss, s.nodes))].sort((a, b) => a.atMs - b.atMs);
      const result = runRegisterWorkload({ seed: s.seed, ranks: Array.from({ length: s.nodes }, () => 1), faults, ...s.workload, safetyMs: propertySafetyMs });
      expect(result.problems).toEqual([]);
      expect(result.okOps).toBeGreaterThan(20); // not vacuous: the cluster did work
    }), budget.generated);
  }, seedBatchTimeoutMs);
});
