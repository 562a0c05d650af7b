/**
 * The whole node (replicator, window flusher, committer, and the store certifying in log order) under
 * the simulator, with clients running a register workload (read, write, compare-and-set on a few keys)
 * while the network partitions, cuts one way, loses, duplicates, reorders and clogs, and nodes pause.
 * Every operation is recorded as Jepsen does (invoke, then ok / fail / info) and checked afterwards: the
 * history is linearizable, no acknowledged write is lost, and after healing every node holds the same
 * data (simulate/workload.ts). fast-check shrinks a failing schedule and prints it with its seed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runRegisterWorkload, swarmFaults } from '../../simulate/workload.js';
import { faultSchedule, qranks } from './faults.js';

const safetyMs = 3_000;

const scenario = fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(safetyMs, 8) });

describe('cluster register workload on the simulator', () => {
  it('is linearizable, loses no acknowledged write, and converges after healing (generated schedules)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const result = runRegisterWorkload({ ...s, safetyMs });
        expect(result.problems).toEqual([]);
        expect(result.okOps).toBeGreaterThan(20); // not vacuous: the cluster did work
      }),
      { numRuns: 20 },
    );
  });

  it('holds for swarm seeds, each drawing its own fault mix (as `chorus sim` runs them)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      for (const ranks of [[1, 1, 1], [1, 2, 1, 1, 1]]) {
        const result = runRegisterWorkload({ seed, ranks, faults: swarmFaults(seed, ranks.length, safetyMs), safetyMs });
        expect({ seed, ranks, problems: result.problems }).toEqual({ seed, ranks, problems: [] });
      }
    }
  });

  it('replays a seed exactly', () => {
    const run = () => runRegisterWorkload({ seed: 77, ranks: [1, 1, 1], faults: swarmFaults(77, 3, safetyMs), safetyMs }).history;
    expect(run()).toEqual(run());
  });
});
