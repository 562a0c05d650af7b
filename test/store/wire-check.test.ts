/**
 * Store.checkEncoded: a write whose bytes another node would read back different from what the writer
 * prepared, or would refuse, is refused on the writer with VALIDATION before it leaves (the writer
 * applies its prepared form, the others the bytes: any difference parts the replicas).
 */
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { encodeChangeSet, type ChangeSet } from '../../src/store/changeset.js';
import { encodeMsgpack } from '../../src/store/codec.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'float64' }, { name: 'v', type: 'string' }, { name: 'b', type: 'bytes', optional: true }], primaryKey: ['k'] }],
};

/** The bytes of `changeSet` as another encoder would make them (no link back to the object). */
const bytesOf = (changeSet: ChangeSet): Uint8Array => encodeMsgpack(changeSet);

describe('Store.checkEncoded', () => {
  it('passes a write whose bytes read back the same, reads and ranges included', () => {
    const store = Store.open(schema);
    store.commit((tx) => void tx.upsert('kv', { k: 1, v: 'one' }));
    const changeSet = store.write((tx) => {
      tx.get('kv', 1);
      tx.get('kv', 2);
      tx.scan('kv', { lower: [0], upper: [10] }).length;
      tx.upsert('kv', { k: -0.5, v: 'half', b: new Uint8Array([1, 2, 3]) });
      tx.delete('kv', 1);
    });
    expect(() => store.checkEncoded(changeSet, encodeChangeSet(changeSet))).not.toThrow();
    expect(() => store.checkEncoded(changeSet, bytesOf(changeSet))).not.toThrow();
  });

  it('refuses bytes that read back with another value, key, or a put for a delete', () => {
    const store = Store.open(schema);
    const changeSet = store.write((tx) => void tx.upsert('kv', { k: 1, v: 'one', b: new Uint8Array([1]) }));
    const row = changeSet.writes[0]!.row!;
    const altered = (writes: ChangeSet['writes']): Uint8Array => bytesOf({ ...changeSet, writes });
    expect(() => store.checkEncoded(changeSet, altered([{ ...changeSet.writes[0]!, row: row.map((v) => (v === 'one' ? 'uno' : v)) }]))).toThrow(/VALIDATION|read back different.*field v/);
    expect(() => store.checkEncoded(changeSet, altered([{ ...changeSet.writes[0]!, row: row.map((v) => (v instanceof Uint8Array ? new Uint8Array([2]) : v)) }]))).toThrow(/field b/);
    expect(() => store.checkEncoded(changeSet, altered([{ table: 'kv', key: [2], row: [2, 'one', new Uint8Array([1])] }]))).toThrow(/key 1 reads back as 2/);
    expect(() => store.checkEncoded(changeSet, altered([{ table: 'kv', key: [1], row: null }]))).toThrow(/put reads back as a delete/);
    expect(() => store.checkEncoded(changeSet, bytesOf({ ...changeSet, snapshot: changeSet.snapshot + 1 }))).toThrow(/snapshot/);
  });

  it('refuses bytes the other nodes would refuse, with the reason', () => {
    const store = Store.open(schema);
    const changeSet = store.write((tx) => void tx.upsert('kv', { k: 1, v: 'one' }));
    let thrown: unknown;
    try {
      store.checkEncoded(changeSet, bytesOf({ ...changeSet, writes: [{ table: 'kv', key: [Number.NaN], row: [Number.NaN, 'one', null] }] }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'VALIDATION' });
    expect(String((thrown as Error).message)).toMatch(/would be refused by the other nodes/);
    expect(() => store.checkEncoded(changeSet, new Uint8Array([0xc1]))).toThrow(/would be refused/);
  });
});
