/**
 * write(body, { deferUnique }) (the cluster's modeMask.earlyDataSend): the body runs without looking up
 * unique indexes, and apply refuses the violation instead, naming the same table, index and value; the
 * primary key of an insert is still checked while the body runs.
 */
import { describe, expect, test } from 'vitest';
import { UniqueError } from '../../src/store/errors.js';
import { Store } from '../../src/store/store.js';
import { accounts } from './fixtures.js';

function seeded(): Store {
  const store = Store.open(accounts);
  store.commit((tx) => {
    tx.insert('accounts', { id: 1, email: 'ann@x', city: 'Oslo' });
    tx.insert('accounts', { id: 2, email: 'bob@x', city: 'Rome' });
  });
  return store;
}

describe('write with deferUnique', () => {
  test('a unique-index violation passes the body and fails at apply with UNIQUE; nothing is stored', () => {
    const store = seeded();
    const before = store.contentHash();
    const violating = (tx: Parameters<Parameters<Store['write']>[0]>[0]) => {
      tx.insert('accounts', { id: 20, email: 'ok@x' });
      tx.insert('accounts', { id: 21, email: 'bob@x' });
    };
    expect(() => store.write(violating)).toThrow(UniqueError); // checked at once without the option
    const changeSet = store.write(violating, { deferUnique: true });
    let error: unknown;
    try {
      store.apply(changeSet);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UniqueError);
    expect([(error as UniqueError).table, (error as UniqueError).index, (error as UniqueError).value]).toEqual(['accounts', 'byEmail', 'bob@x']);
    expect(store.contentHash()).toBe(before);
    // Two rows of one transaction claiming the same value: refused at apply too.
    const twice = store.write((tx) => {
      tx.insert('accounts', { id: 30, email: 'same@x' });
      tx.insert('accounts', { id: 31, email: 'same@x' });
    }, { deferUnique: true });
    expect(() => store.apply(twice)).toThrow(UniqueError);
    // A change-set that keeps the indexes unique applies as usual.
    store.apply(store.write((tx) => void tx.insert('accounts', { id: 40, email: 'new@x' }), { deferUnique: true }));
    expect(store.read((tx) => tx.get('accounts', 40)?.['email'])).toBe('new@x');
  });

  test('the primary key of an insert is still checked while the body runs', () => {
    const store = seeded();
    expect(() => store.write((tx) => void tx.insert('accounts', { id: 1, email: 'z@x' }), { deferUnique: true })).toThrow(/UNIQUE|primary key/);
  });
});
