/**
 * The per-index state digests: two nodes whose tables differ at the same log index are reported with
 * both nodes, the index, how each got there and the seed; tables that agree are not. The digest covers
 * the version and every row, and tells values of different types apart.
 */
import { describe, expect, it } from 'vitest';
import { StateDigests, digestCheckpoint, simStateDigestConflictsReportedMax, simStateDigestDenseIndexes, storeDigest } from '../../../simulate/checkers/index.js';
import { Store } from '../../../src/store/store.js';
import type { SchemaDef } from '../../../src/store/schema.js';

const schema: SchemaDef = {
  tables: [
    { name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] },
    { name: 'doc', fields: [{ name: 'id', type: 'int32' }, { name: 'text', type: 'string', optional: true }, { name: 'tags', type: 'string[]' }], primaryKey: ['id'] },
  ],
};

function storeWith(rows: Record<string, number>, docText: string | null = 'x'): Store {
  const store = Store.open(schema);
  store.commit((tx) => {
    for (const [k, v] of Object.entries(rows)) tx.upsert('kv', { k, v });
    tx.upsert('doc', { id: 1, text: docText, tags: ['a', 'b'] });
  });
  return store;
}

describe('storeDigest', () => {
  it('is equal for equal content and changes with any row, any value, and the version', () => {
    const base = storeDigest(storeWith({ a: 1, b: 2 }));
    expect(storeDigest(storeWith({ b: 2, a: 1 }))).toBe(base);
    expect(storeDigest(storeWith({ a: 1 }))).not.toBe(base); // a row missing
    expect(storeDigest(storeWith({ a: 1, b: 3 }))).not.toBe(base); // a value changed
    expect(storeDigest(storeWith({ a: 1, b: 2 }, null))).not.toBe(base); // null is a value of its own
    expect(storeDigest(storeWith({ a: 1, b: 2 }, ''))).not.toBe(storeDigest(storeWith({ a: 1, b: 2 }, null)));
    const later = storeWith({ a: 1, b: 2 });
    later.commit((tx) => void tx.upsert('kv', { k: 'a', v: 1 })); // the same rows, one version on
    expect(storeDigest(later)).not.toBe(base);
  });
});

describe('StateDigests', () => {
  it('accepts nodes that agree at each index, however they got there', () => {
    const digests = new StateDigests(42);
    digests.record('n0', 10, storeWith({ a: 1 }), 'applied', 1);
    digests.record('n1', 10, storeWith({ a: 1 }), 'image installed', 2);
    digests.record('n2', 11, storeWith({ a: 2 }), 'image taken', 3);
    expect(digests.problems()).toEqual([]);
    expect(digests.recorded).toBe(3);
  });

  it('reports a node whose tables differ from the first recorded at that index, naming both, the index and the seed', () => {
    const digests = new StateDigests(42);
    digests.record('n0', 10, storeWith({ a: 1, b: 2 }), 'image taken', 1.5);
    digests.record('n1', 10, storeWith({ a: 1 }), 'image installed', 2.25);
    const [problem, ...rest] = digests.problems();
    expect(rest).toEqual([]);
    expect(problem).toMatch(/^nodes held different tables at the same log index: seed 42: n1's tables at log index 10 \(image installed, at 2\.250 ms\) are version 1 digest [0-9a-f]{8}, but n0's at that index \(image taken, at 1\.500 ms\) were version 1 digest [0-9a-f]{8}$/);
  });

  it(`describes the first ${simStateDigestConflictsReportedMax} differences and counts the rest`, () => {
    const digests = new StateDigests(1);
    for (let i = 0; i < simStateDigestConflictsReportedMax + 3; i++) {
      digests.record('n0', i, storeWith({ a: 1 }), 'applied', i);
      digests.record('n1', i, storeWith({ a: 2 }), 'applied', i);
    }
    const [problem] = digests.problems();
    expect(problem!.match(/n1's tables/g)).toHaveLength(simStateDigestConflictsReportedMax);
    expect(problem).toMatch(/; and 3 more$/);
  });
});

describe('digestCheckpoint', () => {
  it(`records every index up to ${2 * simStateDigestDenseIndexes}, then every 2nd, 4th, … (the same indexes on every node)`, () => {
    const dense = 2 * simStateDigestDenseIndexes;
    expect(Array.from({ length: dense }, (_, i) => i + 1).every(digestCheckpoint)).toBe(true);
    expect(digestCheckpoint(dense + 1)).toBe(false);
    expect(digestCheckpoint(dense + 2)).toBe(true);
    expect(digestCheckpoint(2 * dense + 2)).toBe(false);
    expect(digestCheckpoint(2 * dense + 4)).toBe(true);
    // About simStateDigestDenseIndexes checkpoints per doubling of the log, so the cost stays linear where the tables grow.
    const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter(digestCheckpoint).length;
    expect(upTo(64 * dense) - upTo(32 * dense)).toBe(simStateDigestDenseIndexes);
  });
});
