/**
 * The bank workload on simulated clusters (simulate/bank.ts): transfers certified through the log while
 * the network misbehaves, nodes crash and clocks drift, snapshot reads on every node; every read must
 * add up to the opening total and the nodes must converge. Failures print their replay command.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runBankWorkload } from '../../simulate/bank.js';
import { assertGenerated, clusterShape, expectSwarmSeeds, faultSchedule, shapeOf, propertySafetyMs, qranks, ranks3, ranks5, seedBatchTimeoutMs, seedBudget } from './faults.js';

const file = 'test/property/cluster-bank.test.ts';
const budget = seedBudget.bank;

describe('cluster bank workload on the simulator', () => {
  it(`keeps the total in every snapshot read and converges (${budget.generated} generated schedules)`, () => {
    const scenario = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(propertySafetyMs, 8), clients: fc.integer({ min: 2, max: 8 }), accounts: fc.integer({ min: 2, max: 6 }), shape: clusterShape });
    assertGenerated(file, fc.property(scenario, (s) => {
      const result = runBankWorkload({ seed: s.seed, ranks: s.ranks, faults: s.faults, clients: s.clients, accounts: s.accounts, ...shapeOf(s.shape, s.ranks), safetyMs: propertySafetyMs });
      expect(result.problems).toEqual([]);
      expect(result.okOps).toBeGreaterThan(10); // not vacuous: transfers did commit
    }), budget.generated);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm3} swarm seeds on 3 nodes`, () => {
    expectSwarmSeeds('bank', ranks3, 1, budget.swarm3);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm5} swarm seeds on 5 nodes of qranks ${ranks5.join(',')}`, () => {
    expectSwarmSeeds('bank', ranks5, 1, budget.swarm5);
  }, seedBatchTimeoutMs);
});
