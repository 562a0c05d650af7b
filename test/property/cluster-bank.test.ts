/**
 * The bank workload on simulated clusters (simulate/bank.ts): transfers certified through the log while
 * the network misbehaves, snapshot reads on every node; every read must add up to the opening total and
 * the nodes must converge.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runBankWorkload } from '../../simulate/bank.js';
import { swarmFaults } from '../../simulate/workload.js';
import { faultSchedule, qranks } from './faults.js';

const safetyMs = 3_000;

describe('cluster bank workload on the simulator', () => {
  it('keeps the total in every snapshot read and converges (generated schedules)', () => {
    fc.assert(
      fc.property(fc.record({ seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }), ranks: qranks(2), faults: faultSchedule(safetyMs, 8) }), (s) => {
        const result = runBankWorkload({ ...s, safetyMs });
        expect(result.problems).toEqual([]);
        expect(result.okOps).toBeGreaterThan(10); // not vacuous: transfers did commit
      }),
      { numRuns: 10 },
    );
  });

  it('holds for swarm seeds', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const result = runBankWorkload({ seed, ranks: [1, 1, 1], faults: swarmFaults(seed, 3, safetyMs), safetyMs });
      expect({ seed, problems: result.problems }).toEqual({ seed, problems: [] });
    }
  });
});
