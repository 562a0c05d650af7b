/**
 * Differential test of the simulator's event queue against a deliberately simple reference: a list
 * sorted by (time, sequence). Any interleaving of pushes and pops must pop the same events in the
 * same order, with their times, however far the key arrays have grown.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, KeyedHeap } from '../../simulate/event-queue.js';

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

  it('keeps (time, sequence) order and each item\'s time past the first growth of its key arrays', () => {
    const pushes = fc.record({ push: fc.double({ min: 0, max: 50, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(fc.oneof({ arbitrary: pushes, weight: 3 }, { arbitrary: fc.constant({ pop: true as const }), weight: 1 }), { minLength: 600, maxLength: 1500 }), (ops) => {
        const heap = new KeyedHeap<number>();
        let reference: { timeMs: number; seq: number }[] = [];
        let seq = 0;
        for (const o of ops) {
          if ('push' in o) {
            heap.push(o.push, seq, seq);
            reference.push({ timeMs: o.push, seq: seq++ });
            reference = reference.sort((x, y) => x.timeMs - y.timeMs || x.seq - y.seq);
          } else {
            const expected = reference.shift();
            expect(heap.pop()).toBe(expected?.seq);
            if (expected !== undefined) expect(heap.poppedTimeMs).toBe(expected.timeMs);
          }
          expect(heap.length).toBe(reference.length);
          expect(heap.peekTimeMs()).toBe(reference[0]?.timeMs ?? Number.POSITIVE_INFINITY);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('refuses to hold more than its bound', () => {
    const heap = new KeyedHeap<number>(3);
    for (let i = 0; i < 3; i++) heap.push(i, i, i);
    expect(() => heap.push(3, 3, 3)).toThrow(/more than 3 events pending \(simEventsPendingMax\)/);
    expect(heap.pop()).toBe(0);
    heap.push(3, 3, 3); // room again once one has left
    expect(heap.length).toBe(3);
  });
});
