import { describe, expect, test } from 'vitest';
import { ChorusError } from '../../src/runtime/errors.js';
import { SchemaError, ValidationError } from '../../src/store/errors.js';
import { Schema } from '../../src/store/schema.js';
import type { SchemaDef, TableDef } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { accounts } from './fixtures.js';
import { rowFromArray } from '../../src/store/rows.js';

function table(overrides: Partial<TableDef>): SchemaDef {
  return { tables: [{ name: 't', fields: [{ name: 'id', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['id'], ...overrides }] };
}

function schemaError(def: SchemaDef): SchemaError {
  try {
    Store.open(def);
  } catch (error) {
    expect(error).toBeInstanceOf(SchemaError);
    return error as SchemaError;
  }
  throw new Error('schema was accepted');
}

describe('a bad schema is refused when the store opens, naming table and field', () => {
  test.each([
    ['unknown type', table({ fields: [{ name: 'id', type: 'int32' }, { name: 'v', type: 'varchar' as never }] }), 't', 'v', /unknown type "varchar"/],
    ['duplicate field', table({ fields: [{ name: 'id', type: 'int32' }, { name: 'id', type: 'string' }] }), 't', 'id', /declared twice/],
    ['key names unknown field', table({ primaryKey: ['nope'] }), 't', 'nope', /unknown field/],
    ['optional key field', table({ fields: [{ name: 'id', type: 'int32', optional: true }], primaryKey: ['id'] }), 't', 'id', /primary key field/],
    ['array key field', table({ fields: [{ name: 'id', type: 'int32[]' }], primaryKey: ['id'] }), 't', 'id', /array field/],
    ['default of the wrong type', table({ fields: [{ name: 'id', type: 'int32' }, { name: 'v', type: 'int64', default: 1 }] }), 't', 'v', /default does not fit int64/],
    ['index on unknown field', table({ indexes: [{ name: 'i', fields: ['zz'] }] }), 't', 'zz', /index i names an unknown field/],
    ['bad field name', table({ fields: [{ name: 'id', type: 'int32' }, { name: 'a b', type: 'string' }] }), 't', undefined, /field name "a b"/],
  ])('%s', (_what, def, tableName, field, message) => {
    const error = schemaError(def);
    expect(error.code).toBe('SCHEMA');
    expect(error.table).toBe(tableName);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  test('duplicate tables and empty schemas', () => {
    expect(schemaError({ tables: [] }).message).toMatch(/at least one table/);
    const twice = table({});
    expect(schemaError({ tables: [...twice.tables, ...twice.tables] }).message).toMatch(/table t: declared twice/);
  });
});

describe('fingerprint', () => {
  test('equal definitions give equal fingerprints; any change gives another', () => {
    const a = new Schema(accounts);
    const b = new Schema(structuredClone(accounts));
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const changed = structuredClone(accounts) as unknown as { tables: { fields: { name: string; type: string }[] }[] };
    changed.tables[0]!.fields.push({ name: 'extra', type: 'bool' });
    expect(new Schema(changed as unknown as SchemaDef).fingerprint).not.toBe(a.fingerprint);
  });
});

describe('values are type-checked on write (VALIDATION naming table, field and value)', () => {
  const store = Store.open(accounts);
  const fail = (row: object, table = 'accounts'): ValidationError => {
    try {
      store.write((tx) => {
        tx.insert(table, row);
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ChorusError).code).toBe('VALIDATION');
      return error as ValidationError;
    }
    throw new Error('row was accepted');
  };

  test.each([
    [{ id: 1.5, email: 'a' }, 'id', 1.5, /integer/],
    [{ id: 2 ** 31, email: 'a' }, 'id', 2 ** 31, /integer in \[-2\^31/],
    [{ id: 1, email: 7 }, 'email', 7, /expected a string/],
    [{ id: 1, email: 'a', balance: 5 }, 'balance', 5, /bigint/],
    [{ id: 1, email: 'a', balance: 2n ** 63n }, 'balance', 2n ** 63n, /bigint in/],
    [{ id: 1, email: 'a', tags: ['x', 3] }, 'tags', ['x', 3], /item 1: expected a string/],
    [{ id: 1 }, 'email', undefined, /is required/],
    [{ id: 1, email: null }, 'email', null, /is required/],
    [{ id: 1, email: 'a', balance: null }, 'balance', null, /may not be null/],
    [{ id: 1, email: 'a', nope: 1 }, 'nope', 1, /no such field/],
    [{ id: 1, email: '\ud800' }, 'email', '\ud800', /lone surrogate/],
  ])('%o', (row, field, value, message) => {
    const error = fail(row);
    expect(error.table).toBe('accounts');
    expect(error.field).toBe(field);
    expect(error.value).toEqual(value);
    expect(error.message).toMatch(message);
  });

  test('other types: uint32, timestamp, bytes, bool, float64', () => {
    expect(fail({ account: 1, seq: -1, at: 0 }, 'events').field).toBe('seq');
    expect(fail({ account: 1, seq: 1, at: 1.5 }, 'events').field).toBe('at');
    expect(fail({ account: 1, seq: 1, at: 0, payload: [1, 2] }, 'events').field).toBe('payload');
    expect(fail({ account: 1, seq: 1, at: 0, ok: 1 }, 'events').field).toBe('ok');
    expect(fail({ account: 1, seq: 1, at: 0, score: '1' }, 'events').field).toBe('score');
  });

  test('NaN may be a value but not a key: refused in a float64 key field (single or composite), in insert, upsert and from the wire', () => {
    const floats = Store.open({
      tables: [
        { name: 'byFloat', fields: [{ name: 'x', type: 'float64' }, { name: 'f', type: 'float64', optional: true }], primaryKey: ['x'], indexes: [{ name: 'byF', fields: ['f'] }] },
        { name: 'pair', fields: [{ name: 'a', type: 'string' }, { name: 'x', type: 'float64' }], primaryKey: ['a', 'x'] },
      ],
    });
    const refused = (body: (tx: Parameters<Parameters<typeof floats.write>[0]>[0]) => void) => expect(() => floats.write(body)).toThrow(expect.objectContaining({ code: 'VALIDATION', field: 'x', message: expect.stringMatching(/NaN may not be a key/) }));
    refused((tx) => void tx.insert('byFloat', { x: NaN }));
    refused((tx) => void tx.upsert('byFloat', { x: NaN }));
    refused((tx) => void tx.insert('pair', { a: 'a', x: NaN }));
    // Anywhere else NaN is a float64 like any other, indexed or not.
    floats.apply(floats.write((tx) => void tx.insert('byFloat', { x: 1, f: NaN })));
    expect(floats.read((tx) => Number.isNaN(tx.get('byFloat', 1)?.['f']))).toBe(true);
    // From the wire (a change-set or image another node made) it is refused alike.
    expect(() => rowFromArray(floats.schema.table('byFloat'), [NaN, null])).toThrow(/NaN may not be a key/);
  });

  test('infinite float64 keys are keys like any other: one row each, ordered, deleted, imaged and restored', () => {
    const def: SchemaDef = { tables: [{ name: 't', fields: [{ name: 'x', type: 'float64' }, { name: 'v', type: 'int32' }], primaryKey: ['x'] }] };
    const store = Store.open(def);
    for (const x of [-Infinity, -Infinity, 0, Infinity, -Infinity, Infinity]) store.commit((tx) => void tx.upsert('t', { x, v: 1 }));
    const keys = (s: Store) => s.read((tx) => tx.scan('t').map((row) => row['x']));
    expect(keys(store)).toEqual([-Infinity, 0, Infinity]);
    expect(store.read((tx) => tx.count('t'))).toBe(3);
    store.commit((tx) => void tx.delete('t', -Infinity));
    expect(keys(store)).toEqual([0, Infinity]);
    expect(store.read((tx) => tx.get('t', -Infinity))).toBeUndefined();
    const restored = Store.open(def);
    restored.restoreSync([...store.snapshot()], 'an image of it');
    expect(keys(restored)).toEqual([0, Infinity]);
    expect(restored.contentHash()).toBe(store.contentHash());
  });

  test('defaults and optional fields fill in; values are canonical and rows frozen', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const cs = store.write((tx) => {
      tx.insert('accounts', { id: 1, email: 'a', tags: ['x'] });
      tx.insert('events', { account: 1, seq: 1, at: 1_700_000_000_000, payload: bytes, score: -0 });
    });
    store.apply(cs);
    bytes[0] = 9; // the caller's buffer is not the store's
    const [account, event] = store.read((tx) => [tx.get('accounts', 1), tx.get('events', [1, 1])]);
    expect(account).toEqual({ id: 1, email: 'a', balance: 0n, city: null, tags: ['x'] });
    expect(event).toEqual({ account: 1, seq: 1, at: 1_700_000_000_000, payload: new Uint8Array([1, 2, 3]), ok: true, score: 0 });
    expect(Object.is(event?.['score'], -0)).toBe(false);
    expect(Object.isFrozen(account)).toBe(true);
    expect(Object.isFrozen(account?.['tags'])).toBe(true);
  });
});

describe('row shape', () => {
  test('a field named __proto__ stays an own field of its rows and does not change their prototype', () => {
    const store = Store.open({ tables: [{ name: 't', fields: [{ name: 'id', type: 'int32' }, { name: '__proto__', type: 'string' }], primaryKey: ['id'] }] });
    store.commit((tx) => void tx.insert('t', { id: 1, ['__proto__']: 'x' }));
    const row = store.read((tx) => tx.get('t', 1))!;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(['id', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(row, '__proto__')?.value).toBe('x');
    expect(Object.isFrozen(row)).toBe(true);
  });
});
