/**
 * The list-append workload on simulated clusters (simulate/list-append.ts): appends certified through
 * the log, whole-list reads through the log, under generated faults; one order of appends per key,
 * real time respected, nothing acknowledged lost, nodes converged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runListAppendWorkload } from '../../simulate/list-append.js';
import { swarmFaults } from '../../simulate/workload.js';
import { faultSchedule, qranks } from './faults.js';

const safetyMs = 3_000;

describe('cluster list-append workload on the simulator', () => {
  it('keeps one order of appends per key and loses none (generated schedules)', () => {
    fc.assert(
      fc.property(fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(safetyMs, 8) }), (s) => {
        const result = runListAppendWorkload({ ...s, safetyMs });
        expect(result.problems).toEqual([]);
        expect(result.okOps).toBeGreaterThan(10);
      }),
      { numRuns: 10 },
    );
  });

  it('holds for swarm seeds', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const result = runListAppendWorkload({ seed, ranks: [1, 1, 1], faults: swarmFaults(seed, 3, safetyMs), safetyMs });
      expect({ seed, problems: result.problems }).toEqual({ seed, problems: [] });
    }
  });
});
