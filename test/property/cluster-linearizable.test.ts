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
import type { Fault } from '../../simulate/workload.js';

const safetyMs = 3_000;

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }),
  fc.record({ kind: fc.constant('cutOneWay' as const), from: fc.nat(4), to: fc.nat(4) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('rates' as const), loss: fc.double({ min: 0, max: 0.2, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }), reorder: fc.double({ min: 0, max: 0.3, noNaN: true }) }),
  fc.record({ kind: fc.constant('clog' as const), from: fc.nat(4), to: fc.nat(4), forMs: fc.integer({ min: 10, max: 500 }) }),
  fc.record({ kind: fc.constant('pause' as const), node: fc.nat(4), forMs: fc.integer({ min: 50, max: 600 }) }),
);

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  ranks: fc.oneof(fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 5, maxLength: 5 })),
  faults: fc.array(fc.record({ atMs: fc.integer({ min: 0, max: safetyMs }), fault }), { maxLength: 8 }),
});

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
