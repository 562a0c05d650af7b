/**
 * Differential test of the simulator's event queue against a deliberately simple reference: a list
 * sorted by (time, sequence). Any interleaving of pushes and pops must pop the same events in the
 * same order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue } from '../../simulate/event-queue.js';

interface Ev {
  readonly timeMs: number;
  readonly seq: number;
}

const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 20 }) }), fc.constant({ pop: true as const }));

describe('EventQueue', () => {
  it('pops in (time, sequence) order, like a sorted list', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const queue = new EventQueue<Ev>();
        let reference: Ev[] = [];
        let seq = 0;
        for (const o of ops) {
          if ('push' in o) {
            const ev = { timeMs: o.push, seq: seq++ };
            queue.push(ev);
            reference.push(ev);
            reference = reference.sort((x, y) => x.timeMs - y.timeMs || x.seq - y.seq);
          } else {
            expect(queue.pop()).toBe(reference.shift());
          }
          expect(queue.length).toBe(reference.length);
          expect(queue.peek()).toBe(reference[0]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
