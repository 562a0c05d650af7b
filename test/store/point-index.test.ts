/**
 * The point index answers exactly like a Map, whichever form (dense array or Map) it is in, through
 * inserts in any order, deletes that thin it out, keys that cannot go in an array, and bulk loads.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { storeDenseSlotsMin } from '../../src/limits.js';
import { PointIndex } from '../../src/store/point-index.js';
import type { Row } from '../../src/store/values.js';

const key = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 * storeDenseSlotsMin }) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 2 ** 32 }) },
  { weight: 1, arbitrary: fc.constantFrom(0.5, -0, 2 ** 31, Number.NaN) },
);
type Op = { kind: 'set' | 'delete' | 'get'; key: number } | { kind: 'fill'; from: number; count: number } | { kind: 'clear'; from: number; count: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('set' as const, 'delete' as const, 'get' as const), key }),
  fc.record({ kind: fc.constantFrom('fill' as const, 'clear' as const), from: fc.integer({ min: 0, max: 2 * storeDenseSlotsMin }), count: fc.integer({ min: 1, max: 3 * storeDenseSlotsMin }) }),
);

describe('point index', () => {
  test('agrees with a Map through random inserts, deletes and lookups (integer-keyed tables)', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), (ops, integers) => {
      const index = new PointIndex(integers);
      const model = new Map<number, Row>();
      const row = (k: number): Row => ({ k });
      // A table only ever stores keys its schema allows: integers for an integer key.
      const storable = (k: number): boolean => !integers || Number.isInteger(k);
      for (const o of ops) {
        if (o.kind === 'fill' || o.kind === 'clear') {
          for (let k = o.from; k < o.from + o.count; k++) {
            const r = row(k);
            if (o.kind === 'fill') index.set(k, r);
            else index.delete(k);
            if (o.kind === 'fill') model.set(k, r);
            else model.delete(k);
          }
        } else if (o.kind === 'set' && storable(o.key)) {
          const r = row(o.key);
          index.set(o.key + 0, r);
          model.set(o.key + 0, r);
        } else if (o.kind === 'delete') {
          index.delete(o.key);
          model.delete(o.key);
        }
        expect(index.size).toBe(model.size);
        for (const k of [o.kind === 'fill' || o.kind === 'clear' ? o.from : o.key, 0, 1, storeDenseSlotsMin, 2 ** 32]) expect(index.get(k)).toBe(model.get(k));
      }
      for (const [k, r] of model) expect(index.get(k)).toBe(r);
    }), { numRuns: 300 });
  });

  test('bulk loads from sorted keys, dense or not, answer like the rows given', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 10 * storeDenseSlotsMin }), { maxLength: 3000 }), (keys) => {
      keys.sort((a, b) => a - b);
      const rows = keys.map((k) => ({ k }));
      const index = PointIndex.fromSorted(true, keys, rows);
      expect(index.size).toBe(keys.length);
      keys.forEach((k, i) => expect(index.get(k)).toBe(rows[i]));
      expect(index.get(-1)).toBeUndefined();
      expect(index.get(10 * storeDenseSlotsMin + 1)).toBeUndefined();
    }), { numRuns: 100 });
  });

  test('bulk loaded from keys 0..n-1 (the rows array taken over), then changed, answers like a Map', () => {
    fc.assert(fc.property(fc.nat({ max: 3000 }), fc.array(fc.record({ key: fc.integer({ min: -2, max: 3100 }), set: fc.boolean() }), { maxLength: 200 }), (n, changes) => {
      const keys = Array.from({ length: n }, (_, i) => i);
      const rows = keys.map((k) => ({ k }));
      const model = new Map<number, { k: number }>(keys.map((k, i) => [k, rows[i] as { k: number }]));
      const index = PointIndex.fromSorted(true, keys, rows);
      for (const change of changes) {
        if (change.set) {
          const row = { k: change.key };
          index.set(change.key, row);
          model.set(change.key, row);
        } else {
          index.delete(change.key);
          model.delete(change.key);
        }
      }
      expect(index.size).toBe(model.size);
      for (let k = -2; k <= 3100; k++) expect(index.get(k)).toBe(model.get(k));
    }), { numRuns: 100 });
  });
});
