import { describe, expect, test } from 'vitest';
import { decodeMsgpack, encodeMsgpack } from '../../src/store/codec.js';
import { ConflictError, NotFoundError, UniqueError } from '../../src/store/errors.js';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { accounts } from './fixtures.js';

function seeded(): Store {
  const store = Store.open(accounts);
  store.commit((tx) => {
    tx.insert('accounts', { id: 1, email: 'ann@x', city: 'Oslo' });
    tx.insert('accounts', { id: 2, email: 'bob@x', city: 'Rome' });
    tx.insert('accounts', { id: 3, email: 'cat@x', city: 'Oslo' });
    tx.insert('accounts', { id: 4, email: 'dan@x' });
  });
  return store;
}
const ids = (rows: readonly { readonly [k: string]: unknown }[]): unknown[] => rows.map((row) => row['id']);

describe('write transactions', () => {
  test('reads inside see their own writes; nothing is visible outside until applied', () => {
    const store = seeded();
    const cs = store.write((tx) => {
      tx.insert('accounts', { id: 10, email: 'new@x', city: 'Oslo' });
      tx.update('accounts', { id: 1, city: 'Bergen' });
      tx.delete('accounts', 2);
      expect(tx.get('accounts', 10)?.['email']).toBe('new@x');
      expect(tx.get('accounts', 1)?.['city']).toBe('Bergen');
      expect(tx.get('accounts', 2)).toBeUndefined();
      expect(ids(tx.scan('accounts'))).toEqual([1, 3, 4, 10]);
      expect(ids(tx.find('accounts', 'byCity', 'Oslo'))).toEqual([3, 10]);
      expect(tx.count('accounts')).toBe(4);
      expect(tx.find('accounts', 'byEmail', 'new@x')).toHaveLength(1);
    });
    expect(store.read((tx) => [tx.get('accounts', 10), tx.count('accounts')])).toEqual([undefined, 4]);
    expect(store.apply(cs).version).toBe(2);
    expect(store.read((tx) => ids(tx.scan('accounts')))).toEqual([1, 3, 4, 10]);
    expect(store.read((tx) => ids(tx.find('accounts', 'byCity', 'Oslo')))).toEqual([3, 10]);
    expect(store.read((tx) => tx.find('accounts', 'byCity', 'Rome'))).toEqual([]);
  });

  test('unique violations fail the transaction with UNIQUE naming table, field and value; nothing is stored', () => {
    const store = seeded();
    const before = store.contentHash();
    const attempt = (body: Parameters<Store['write']>[0]): UniqueError => {
      try {
        store.commit(body);
      } catch (error) {
        expect(error).toBeInstanceOf(UniqueError);
        return error as UniqueError;
      }
      throw new Error('committed');
    };
    const email = attempt((tx) => {
      tx.insert('accounts', { id: 20, email: 'ok@x' });
      tx.insert('accounts', { id: 21, email: 'bob@x' });
    });
    expect([email.code, email.table, email.field, email.value, email.index]).toEqual(['UNIQUE', 'accounts', 'email', 'bob@x', 'byEmail']);
    const key = attempt((tx) => tx.insert('accounts', { id: 3, email: 'z@x' }));
    expect([key.field, key.value]).toEqual(['id', 3]);
    // Within one transaction: two new rows with one value.
    expect(attempt((tx) => {
      tx.insert('accounts', { id: 30, email: 'same@x' });
      tx.upsert('accounts', { id: 31, email: 'same@x' });
    }).value).toBe('same@x');
    // The body caught the error: the transaction fails all the same.
    attempt((tx) => {
      try {
        tx.insert('accounts', { id: 40, email: 'ann@x' });
      } catch {
        tx.insert('accounts', { id: 41, email: 'other@x' });
      }
    });
    expect(store.contentHash()).toBe(before);
    expect(store.version).toBe(1);
  });

  test('a value freed in the same transaction may be taken; nulls never collide', () => {
    const store = seeded();
    store.commit((tx) => {
      tx.update('accounts', { id: 1, email: 'ann2@x' });
      tx.insert('accounts', { id: 5, email: 'ann@x' });
      tx.delete('accounts', 2);
      tx.insert('accounts', { id: 6, email: 'bob@x' });
    });
    expect(store.read((tx) => ids(tx.find('accounts', 'byEmail', ['ann@x'])))).toEqual([5]);
    expect(store.read((tx) => ids(tx.find('accounts', 'byCity', [null])))).toEqual([4, 5, 6]);
  });

  test('update patches by key (NOT_FOUND when missing); delete reports whether a row was there', () => {
    const store = seeded();
    expect(() => store.write((tx) => tx.update('accounts', { id: 99, city: 'X' }))).toThrow(NotFoundError);
    store.commit((tx) => {
      expect(tx.delete('accounts', 99)).toBe(false);
      expect(tx.delete('accounts', 4)).toBe(true);
      expect(tx.update('accounts', { id: 3, balance: 7n })).toEqual({ id: 3, email: 'cat@x', balance: 7n, city: 'Oslo', tags: null });
    });
    expect(store.read((tx) => [tx.get('accounts', 4), tx.get('accounts', 3)?.['balance']])).toEqual([undefined, 7n]);
  });

  test('a change-set is plain data: structured clone and msgpack keep it, and it applies elsewhere', () => {
    const a = seeded();
    const b = seeded();
    const cs = a.write((tx) => {
      tx.get('accounts', 1);
      tx.scan('accounts', { lower: 2, limit: 2 });
      tx.upsert('accounts', { id: 7, email: 'g@x', balance: 2n ** 40n, tags: ['a', 'b'] });
      tx.delete('accounts', 4);
    });
    expect(cs.snapshot).toBe(1);
    expect(cs.reads).toEqual([{ table: 'accounts', key: [1] }]);
    expect(cs.ranges).toEqual([{ table: 'accounts', lower: [2], lowerExclusive: false, upper: [3], upperExclusive: false }]);
    expect(cs.writes).toEqual([
      { table: 'accounts', key: [7], row: [7, 'g@x', 2n ** 40n, null, ['a', 'b']] },
      { table: 'accounts', key: [4], row: null },
    ]);
    const cloned = structuredClone(cs);
    const wired = decodeMsgpack(encodeMsgpack(cs)) as typeof cs;
    a.apply(cs);
    b.apply(wired);
    expect(b.contentHash()).toBe(a.contentHash());
    const c = seeded();
    c.apply(cloned);
    expect(c.contentHash()).toBe(a.contentHash());
  });
});

describe('scans', () => {
  const schema: SchemaDef = {
    tables: [{
      name: 'm',
      fields: [{ name: 'a', type: 'string' }, { name: 'b', type: 'int32' }, { name: 'v', type: 'float64' }],
      primaryKey: ['a', 'b'],
      indexes: [{ name: 'byV', fields: ['v'] }],
    }],
  };
  const store = Store.open(schema);
  store.commit((tx) => {
    for (const a of ['x', 'y', 'z', '', 'x\u0000', '\uffff']) for (const b of [-2, 0, 5]) tx.insert('m', { a, b, v: (b * 7) % 3 - a.length });
  });
  const keys = (rows: readonly { readonly [k: string]: unknown }[]): string[] => rows.map((row) => `${String(row['a'])}/${String(row['b'])}`);

  test('composite keys order by field, then field; strings with \\0 and \\uffff order correctly', () => {
    const all = store.read((tx) => keys(tx.scan('m')));
    const expected = ['', 'x', 'x\u0000', 'y', 'z', '\uffff'].flatMap((a) => [-2, 0, 5].map((b) => `${a}/${b}`));
    expect(all).toEqual(expected);
    expect(store.read((tx) => keys(tx.scan('m', { reverse: true })))).toEqual([...expected].reverse());
  });

  test('prefix bounds, exclusivity, direction and limits', () => {
    expect(store.read((tx) => keys(tx.scan('m', { lower: ['x'], upper: ['x'] })))).toEqual(['x/-2', 'x/0', 'x/5']);
    expect(store.read((tx) => keys(tx.scan('m', { lower: ['x'], upper: ['y'], upperExclusive: true, reverse: true, limit: 2 })))).toEqual(['x\u0000/5', 'x\u0000/0']);
    expect(store.read((tx) => keys(tx.scan('m', { lower: ['x', 0], lowerExclusive: true, limit: 3 })))).toEqual(['x/5', 'x\u0000/-2', 'x\u0000/0']);
    expect(store.read((tx) => keys(tx.scan('m', { lower: ['x'], lowerExclusive: true, upper: ['z', 0], reverse: true })))).toEqual(['z/0', 'z/-2', 'y/5', 'y/0', 'y/-2', 'x\u0000/5', 'x\u0000/0', 'x\u0000/-2']);
    expect(store.read((tx) => tx.scan('m', { limit: 0 }))).toEqual([]);
    expect(store.read((tx) => tx.count('m', { lower: ['y'] }))).toBe(9);
    expect(store.read((tx) => tx.count('m'))).toBe(18);
  });

  test('index scans order by the indexed value, then the key, in both directions', () => {
    const forward = store.read((tx) => tx.scan('m', { index: 'byV' }).map((row) => row['v'] as number));
    expect(forward).toEqual([...forward].sort((p, q) => p - q));
    const backward = store.read((tx) => tx.scan('m', { index: 'byV', reverse: true, limit: 4 }).map((row) => row['v'] as number));
    expect(backward).toEqual([...forward].reverse().slice(0, 4));
    expect(store.read((tx) => tx.scan('m', { index: 'byV', lower: -1, upper: 1 }).every((row) => (row['v'] as number) >= -1 && (row['v'] as number) <= 1))).toBe(true);
    expect(() => store.read((tx) => tx.scan('m', { index: 'nope' }))).toThrow(/index "nope" not found/);
  });

  test('scans inside a write transaction merge its own writes in order, both directions', () => {
    store.write((tx) => {
      tx.insert('m', { a: 'x', b: 1, v: 0 });
      tx.delete('m', ['x', 0]);
      tx.update('m', { a: 'x', b: 5, v: 100 });
      expect(keys(tx.scan('m', { lower: ['x'], upper: ['x'] }))).toEqual(['x/-2', 'x/1', 'x/5']);
      expect(keys(tx.scan('m', { lower: ['x'], upper: ['x'], reverse: true, limit: 2 }))).toEqual(['x/5', 'x/1']);
      expect(tx.scan('m', { index: 'byV', reverse: true, limit: 1 })[0]?.['v']).toBe(100);
      expect(tx.count('m')).toBe(18);
    });
  });
});

describe('certification', () => {
  test('a change-set conflicts when a key it read or wrote changed after its snapshot', () => {
    const store = seeded();
    const reader = store.write((tx) => {
      tx.get('accounts', 1);
      tx.insert('accounts', { id: 50, email: 'r@x' });
    });
    const writer = store.write((tx) => tx.update('accounts', { id: 2, city: 'Paris' }));
    const other = store.write((tx) => tx.update('accounts', { id: 1, city: 'Lima' }));
    store.apply(other);
    expect(() => store.apply(reader)).toThrow(ConflictError);
    store.apply(writer); // disjoint keys: still fine
    const second = store.write((tx) => tx.update('accounts', { id: 2, city: 'Nice' }));
    const first = store.write((tx) => tx.update('accounts', { id: 2, city: 'Oslo' }));
    store.apply(first);
    try {
      store.apply(second);
      throw new Error('applied');
    } catch (error) {
      const conflict = error as ConflictError;
      expect([conflict.code, conflict.table, conflict.key, conflict.reason, conflict.snapshot, conflict.changedAt]).toEqual(['CONFLICT', 'accounts', [2], 'write', 3, 4]);
    }
  });

  test('a scanned range conflicts with a later insert into it (phantom), not with one outside it', () => {
    const store = seeded();
    const scan = () => store.write((tx) => {
      tx.scan('accounts', { lower: 1, upper: 10 });
      tx.insert('accounts', { id: 100 + store.version, email: `s${store.version}@x` });
    });
    const inside = scan();
    const outside = scan();
    store.commit((tx) => tx.insert('accounts', { id: 9, email: 'nine@x' }));
    expect(() => store.apply(inside)).toThrow(/range/);
    const again = scan();
    store.commit((tx) => tx.insert('accounts', { id: 11, email: 'eleven@x' }));
    store.apply(again);
    expect(() => store.apply(outside)).toThrow(ConflictError);
  });

  test('certification is the same on every replica', () => {
    const replicas = [seeded(), seeded(), seeded()];
    const origin = replicas[0]!;
    const sets = [1, 2, 3, 1].map((id, i) => origin.write((tx) => tx.update('accounts', { id, balance: BigInt(i) })));
    const outcomes = replicas.map((replica) => sets.map((cs) => {
      try {
        return replica.apply(structuredClone(cs)).version;
      } catch (error) {
        return (error as ConflictError).code;
      }
    }));
    expect(outcomes[0]).toEqual([2, 3, 4, 'CONFLICT']);
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
    expect(new Set(replicas.map((replica) => replica.contentHash())).size).toBe(1);
  });

  test('a snapshot ahead of the store conflicts; a read-only change-set leaves the version alone', () => {
    const a = seeded();
    const b = Store.open(accounts);
    const cs = a.write((tx) => tx.update('accounts', { id: 1, city: 'X' }));
    expect(() => b.apply(cs)).toThrow(/snapshot 1 is ahead of store version 0/);
    expect(a.apply(a.write((tx) => void tx.get('accounts', 1))).version).toBe(1);
  });

  test('views stay consistent while the store changes', () => {
    const store = seeded();
    const view = store.view();
    store.commit((tx) => {
      tx.delete('accounts', 1);
      tx.insert('accounts', { id: 9, email: 'v@x', city: 'Oslo' });
    });
    expect(ids(view.scan('accounts'))).toEqual([1, 2, 3, 4]);
    expect(ids(view.find('accounts', 'byCity', 'Oslo'))).toEqual([1, 3]);
    expect(view.version).toBe(1);
    expect(store.read((tx) => ids(tx.scan('accounts')))).toEqual([2, 3, 4, 9]);
  });
});
