/** fast-check arbitraries for fault schedules, shared by the simulator property suites. */
import fc from 'fast-check';
import type { Fault, TimedFault } from '../../simulate/workload.js';

export const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }),
  fc.record({ kind: fc.constant('cutOneWay' as const), from: fc.nat(4), to: fc.nat(4) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('rates' as const), loss: fc.double({ min: 0, max: 0.3, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.2, noNaN: true }), reorder: fc.double({ min: 0, max: 0.5, noNaN: true }) }),
  fc.record({ kind: fc.constant('clog' as const), from: fc.nat(4), to: fc.nat(4), forMs: fc.integer({ min: 10, max: 500 }) }),
  fc.record({ kind: fc.constant('pause' as const), node: fc.nat(4), forMs: fc.integer({ min: 10, max: 800 }) }),
  fc.record({ kind: fc.constant('crash' as const), node: fc.nat(4), forMs: fc.integer({ min: 10, max: 800 }) }),
);

export const faultSchedule = (untilMs: number, faultsMax: number): fc.Arbitrary<TimedFault[]> =>
  fc.array(fc.record({ atMs: fc.integer({ min: 0, max: untilMs }), fault }), { maxLength: faultsMax });

/** Qranks for a 3- or 5-node cluster. */
export const qranks = (max: number): fc.Arbitrary<number[]> =>
  fc.oneof(fc.array(fc.integer({ min: 1, max }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max }), { minLength: 5, maxLength: 5 }));
