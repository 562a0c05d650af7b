/**
 * Certification looks back either by scanning the window (few keys written since the snapshot) or
 * through a per-key index built once a change-set looks back over more than certifyScanKeysMax keys.
 * Both must give the same verdict and the same error, before and after the index exists.
 */
import { describe, expect, test } from 'vitest';
import { certifyScanKeysMax, certifyWindowKeysMax } from '../../src/limits.js';
import type { ChangeSet } from '../../src/store/changeset.js';
import { ConflictError } from '../../src/store/errors.js';
import { Store } from '../../src/store/store.js';
import { accounts } from './fixtures.js';

function outcome(store: Store, cs: ChangeSet): unknown {
  try {
    return store.apply(structuredClone(cs)).version;
  } catch (error) {
    const conflict = error as ConflictError;
    return [conflict.code, conflict.table, conflict.key, conflict.reason, conflict.snapshot, conflict.changedAt];
  }
}

/** A store where, after snapshot 1, `others` rows are written in one version, then row 7 in the next. */
function scenario(others: number): { store: Store; reads7: ChangeSet; writes7: ChangeSet; untouched: ChangeSet } {
  const store = Store.open(accounts);
  store.commit((tx) => {
    for (let id = 0; id < 10; id++) tx.insert('accounts', { id, email: `u${id}@x` });
  });
  const reads7 = store.write((tx) => {
    tx.get('accounts', 7);
    tx.insert('accounts', { id: 1_000_000, email: 'r@x' });
  });
  const writes7 = store.write((tx) => void tx.update('accounts', { id: 7, city: 'Oslo' }));
  const untouched = store.write((tx) => {
    tx.get('accounts', 8);
    tx.insert('accounts', { id: 1_000_001, email: 's@x' });
  });
  store.commit((tx) => {
    for (let id = 100; id < 100 + others; id++) tx.insert('accounts', { id, email: `o${id}@x` });
  });
  store.commit((tx) => void tx.update('accounts', { id: 7, city: 'Rome' }));
  return { store, reads7, writes7, untouched };
}

describe('certification window', () => {
  test('scanning and the index decide alike, with the same error', () => {
    const results = [10, certifyScanKeysMax + 10].map((others) => {
      const { store, reads7, writes7, untouched } = scenario(others);
      return [outcome(store, reads7), outcome(store, writes7), outcome(store, untouched)];
    });
    expect(results[0]).toEqual([['CONFLICT', 'accounts', [7], 'read', 1, 3], ['CONFLICT', 'accounts', [7], 'write', 1, 3], 4]);
    expect(results[1]).toEqual(results[0]);
  });

  test('once built, the index follows later writes', () => {
    const { store, untouched } = scenario(certifyScanKeysMax + 10);
    const stale = store.write((tx) => void tx.update('accounts', { id: 9, city: 'Paris' }));
    expect(outcome(store, untouched)).toBe(4); // builds the index (looks back over every key)
    store.commit((tx) => void tx.update('accounts', { id: 9, city: 'Lima' }));
    expect(outcome(store, stale)).toEqual(['CONFLICT', 'accounts', [9], 'write', 3, 5]);
  });
});

describe('certification window bounds', () => {
  test('beyond certifyWindowKeysMax keys the oldest versions are forgotten: older snapshots are too old, newer ones still certify by key, also after a snapshot round trip', () => {
    const store = Store.open(accounts);
    const perCommit = 1000;
    const commits = Math.ceil(certifyWindowKeysMax / perCommit) + 5;
    const early = store.write((tx) => void tx.insert('accounts', { id: -1, email: 'early@x' })); // snapshot 0
    let recent: ChangeSet | undefined;
    for (let c = 0; c < commits; c++) {
      if (c === commits - 3) recent = store.write((tx) => void tx.insert('accounts', { id: -2, email: 'recent@x' })); // touches nothing written later
      store.commit((tx) => {
        for (let id = c * perCommit; id < (c + 1) * perCommit; id++) tx.insert('accounts', { id, email: `u${id}@x` });
      });
    }
    const reader = store.write((tx) => void tx.get('accounts', 5)); // snapshot = now
    store.commit((tx) => void tx.update('accounts', { id: 5, city: 'Y' }));
    const copy = Store.open(accounts);
    copy.restoreSync(store.snapshot());
    expect(copy.contentHash()).toBe(store.contentHash());
    for (const target of [store, copy]) {
      expect(outcome(target, early)).toEqual(['CONFLICT', undefined, undefined, 'snapshot-too-old', 0, commits + 1]);
      expect(outcome(target, reader)).toEqual(['CONFLICT', 'accounts', [5], 'read', commits, commits + 1]);
      expect(outcome(target, recent!)).toBe(commits + 2);
    }
  });
});
