/**
 * The list-append workload on simulated clusters (simulate/list-append.ts): appends certified through
 * the log, whole-list reads through the log, under generated and swarm faults; one order of appends per
 * key, real time respected, nothing acknowledged lost, nodes converged. Failures print their replay.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runListAppendWorkload } from '../../simulate/list-append.js';
import { assertGenerated, clusterShape, expectSwarmSeeds, faultSchedule, shapeOf, workloadShape, propertySafetyMs, qranks, ranks3, ranks5, seedBatchTimeoutMs, seedBudget } from './faults.js';

const file = 'test/property/cluster-list-append.test.ts';
const budget = seedBudget.listAppend;

describe('cluster list-append workload on the simulator', () => {
  it(`keeps one order of appends per key and loses none (${budget.generated} generated schedules)`, () => {
    const scenario = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(propertySafetyMs, 8), workload: workloadShape, shape: clusterShape });
    assertGenerated(file, fc.property(scenario, (s) => {
      const result = runListAppendWorkload({ seed: s.seed, ranks: s.ranks, faults: s.faults, ...s.workload, ...shapeOf(s.shape, s.ranks), safetyMs: propertySafetyMs });
      expect(result.problems).toEqual([]);
      expect(result.okOps).toBeGreaterThan(10);
    }), budget.generated);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm3} swarm seeds on 3 nodes`, () => {
    expectSwarmSeeds('list-append', ranks3, 1, budget.swarm3);
  }, seedBatchTimeoutMs);

  it(`holds for ${budget.swarm5} swarm seeds on 5 nodes of qranks ${ranks5.join(',')}`, () => {
    expectSwarmSeeds('list-append', ranks5, 1, budget.swarm5);
  }, seedBatchTimeoutMs);
});
