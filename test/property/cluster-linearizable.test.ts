/**
 * The whole node (replicator, window flusher, committer, and the store certifying in log order) under
 * the simulator, with clients running a register workload (read, write, compare-and-set on a few keys)
 * while the network partitions, cuts one way, loses, duplicates, reorders and clogs, nodes pause, crash
 * and restart, and clocks skew and drift. Every operation is recorded as Jepsen does (invoke, then ok /
 * fail / info) and checked afterwards: the history is linearizable, no acknowledged write is lost, and
 * after healing every node holds the same data (simulate/workload.ts). A failing generated schedule
 * shrinks and prints its fast-check replay; a failing swarm seed prints its `chorus sim` replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runRegisterWorkload, swarmFaults } from '../../simulate/workload.js';
import { assertGenerated, clusterShape, expectSwarmSeeds, faultSchedule, shapeOf, workloadShape, propertySafetyMs, qranks, ranks3, ranks5, seedBatchTimeoutMs, seedBudget } from './faults.js';

const file = 'test/property/cluster-linearizable.test.ts';
const budget = seedBudget.register;
const scenario = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(propertySafetyMs, 8), workload: workloadShape, shape: clusterShape });

describe('cluster register workload on the simulator', () => {
  it(`is linearizable, loses no acknowledged write, and converges after healing (${budget.generated} generated schedules)`, () => {
    assertGenerated(file, fc.property(scenario, (s) => {
      const result = runRegisterWorkload({ seed: s.seed, ranks: s.ranks, faults: s.faults, ...s.workload, ...shapeOf(s.shape, s.ranks), safetyMs: propertySafetyMs });
      expect(result.problems).toEqual([]);
      expect(result.okOps).toBeGreaterThan(20); // not vacuous: the cluster did work
    }), budget.generated);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm3} swarm seeds on 3 nodes, each drawing its own fault mix (as chorus sim runs them)`, () => {
    expectSwarmSeeds('register', ranks3, 1, budget.swarm3);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm5} swarm seeds on 5 nodes of qranks ${ranks5.join(',')}`, () => {
    expectSwarmSeeds('register', ranks5, 1, budget.swarm5);
  }, seedBatchTimeoutMs);

  it('replays a seed exactly', () => {
    const run = () => runRegisterWorkload({ seed: 77, ranks: [...ranks3], faults: swarmFaults(77, 3, propertySafetyMs), safetyMs: propertySafetyMs }).history;
    expect(run()).toEqual(run());
  });
});
