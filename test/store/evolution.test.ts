import { describe, expect, test } from 'vitest';
import { EvolutionModeError, IncompatibleSchemaError } from '../../src/store/errors.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';

// Both have the index byQty: a peer's indexes must be the same (evolution.ts; before, v1 had none).
const v1: SchemaDef = { tables: [{ name: 'p', fields: [{ name: 'id', type: 'int32' }, { name: 'qty', type: 'int32' }, { name: 'old', type: 'string', optional: true }], primaryKey: ['id'], indexes: [{ name: 'byQty', fields: ['qty'] }] }] };
const v2: SchemaDef = {
  tables: [{
    name: 'p',
    fields: [{ name: 'id', type: 'int64' }, { name: 'qty', type: 'float64' }, { name: 'label', type: 'string', default: 'none' }],
    primaryKey: ['id'],
    indexes: [{ name: 'byQty', fields: ['qty'] }],
  }],
};

describe('binary schema evolution', () => {
  test('change-sets from a compatible schema convert by name: widened, added with defaults, removed dropped', () => {
    const writer = Store.open(v1, { evolution: true });
    const reader = Store.open(v2, { evolution: true });
    reader.learnSchema(v1);
    const cs = writer.write((tx) => void tx.insert('p', { id: 1, qty: 5, old: 'gone' }));
    reader.apply(structuredClone(cs));
    expect(reader.read((tx) => tx.get('p', 1n))).toEqual({ id: 1n, qty: 5, label: 'none' });
    expect(reader.read((tx) => tx.find('p', 'byQty', 5).length)).toBe(1);
  });

  test('identical schemas pass without conversion; unknown or narrowing schemas are refused', () => {
    const a = Store.open(v1, { evolution: true });
    const b = Store.open(v1, { evolution: true });
    b.apply(a.write((tx) => void tx.insert('p', { id: 1, qty: 1 })));
    expect(b.read((tx) => tx.get('p', 1))).toEqual({ id: 1, qty: 1, old: null });
    const wide = Store.open(v2, { evolution: true });
    expect(() => a.apply(wide.write((tx) => void tx.insert('p', { id: 2n, qty: 1.5 })))).toThrow(/unknown here/);
    const error = (() => {
      try {
        a.learnSchema(v2);
      } catch (e) {
        return e as IncompatibleSchemaError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect([error?.code, error?.table, error?.field]).toEqual(['INCOMPATIBLE_SCHEMA', 'p', 'id']);
  });

  test('without evolution mode another schema is refused; with it, alterSchema is refused', () => {
    const plain = Store.open(v2);
    const other = Store.open(v1);
    expect(() => plain.apply(other.write((tx) => void tx.insert('p', { id: 1, qty: 1 })))).toThrow(/evolution mode is off/);
    expect(() => Store.open(v1, { evolution: true }).alterSchema(v2)).toThrow(EvolutionModeError);
  });

  test('alterSchema converts every row and refuses incompatible changes, leaving the store unchanged', () => {
    const store = Store.open(v1);
    store.commit((tx) => {
      for (let id = 0; id < 50; id++) tx.insert('p', { id, qty: id % 5 });
    });
    const before = store.contentHash();
    const required: SchemaDef = { tables: [{ name: 'p', fields: [{ name: 'id', type: 'int32' }, { name: 'qty', type: 'int32' }, { name: 'must', type: 'string' }], primaryKey: ['id'] }] };
    expect(() => store.alterSchema(required)).toThrow(/added field must be optional or have a default/);
    const unique: SchemaDef = { tables: [{ ...v1.tables[0]!, indexes: [{ name: 'q', fields: ['qty'], unique: true }] }] };
    expect(() => store.alterSchema(unique)).toThrow(/UNIQUE|already holds/);
    expect(store.contentHash()).toBe(before);
    store.alterSchema(v2);
    expect(store.read((tx) => [tx.count('p'), tx.get('p', 7n)])).toEqual([50, { id: 7n, qty: 2, label: 'none' }]);
    expect(store.version).toBe(1);
  });
});
