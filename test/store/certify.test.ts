/**
 * Certification looks back either by scanning the window (few keys written since the snapshot) or
 * through a per-key index built once a change-set looks back over more than certifyScanKeysMax keys.
 * Both must give the same verdict and the same error, before and after the index exists.
 */
import { describe, expect, test } from 'vitest';
import { certifyDirectComparesMax, certifyScanKeysMax, certifyWindowKeysMax, certifyWindowVersionsMax } from '../../src/limits.js';
import type { Touched } from '../../src/store/certify.js';
import { CertWindow } from '../../src/store/certify.js';
import type { ChangeSet } from '../../src/store/changeset.js';
import { ConflictError } from '../../src/store/errors.js';
import { decodeKey } from '../../src/store/keys.js';
import { Schema } from '../../src/store/schema.js';
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
function scenario(others: number): { store: Store; reads7: ChangeSet; writes7: ChangeSet; untouched: ChangeSet; readsMany: ChangeSet } {
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
  // Enough lookups that, even over a few keys written since, they are gathered in a map first.
  const readsMany = store.write((tx) => {
    for (let id = 0; id < certifyDirectComparesMax; id++) tx.get('accounts', 10_000_000 + id);
    tx.get('accounts', 7);
    tx.insert('accounts', { id: 1_000_002, email: 'm@x' });
  });
  store.commit((tx) => {
    for (let id = 100; id < 100 + others; id++) tx.insert('accounts', { id, email: `o${id}@x` });
  });
  store.commit((tx) => void tx.update('accounts', { id: 7, city: 'Rome' }));
  return { store, reads7, writes7, untouched, readsMany };
}

describe('certification window', () => {
  test('a scan per key, a map of the keys written since, and the index decide alike, with the same error', () => {
    // 10 others: few lookups scan, readsMany builds a map; certifyScanKeysMax + 10: the index.
    const results = [10, certifyScanKeysMax + 10].map((others) => {
      const { store, reads7, writes7, untouched, readsMany } = scenario(others);
      return [outcome(store, reads7), outcome(store, writes7), outcome(store, untouched), outcome(store, readsMany)];
    });
    expect(results[0]).toEqual([['CONFLICT', 'accounts', [7], 'read', 1, 3], ['CONFLICT', 'accounts', [7], 'write', 1, 3], 4, ['CONFLICT', 'accounts', [7], 'read', 1, 3]]);
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

describe('a window restored from an image (restoreEntry, restoreKey, settle)', () => {
  const table = new Schema(accounts).table('accounts');
  /** Entries of `version`: `keys` keys each, from `keyOf`. */
  const entries = (versions: number, keysOf: (version: number) => number): [number, Touched[]][] =>
    Array.from({ length: versions }, (_, i) => {
      const version = i + 1;
      return [version, Array.from({ length: keysOf(version) }, (_, k) => ({ table, key: version * 100_000 + k }))];
    });

  test.each([
    { name: 'more versions than the window keeps', versions: certifyWindowVersionsMax + 500, keysOf: (v: number) => v % 3 },
    { name: 'more keys than the window keeps', versions: 40, keysOf: (v: number) => (v % 7 === 0 ? certifyWindowKeysMax / 4 : v) },
    { name: 'a last entry larger than the whole window', versions: 5, keysOf: (v: number) => (v === 5 ? certifyWindowKeysMax + 1 : 10) },
  ])('is the window recording each entry gives: $name', ({ versions, keysOf }) => {
    const all = entries(versions, keysOf);
    const recorded = new CertWindow(0);
    for (const [version, keys] of all) recorded.record(version, keys);
    const restored = new CertWindow(0);
    for (const [version, keys] of all) {
      restored.restoreEntry(version);
      for (const { table: t, key } of keys) restored.restoreKey(t, key);
    }
    restored.settle();
    expect(restored.horizon).toBe(recorded.horizon);
    expect(restored.size).toBe(recorded.size);
    expect(restored.liveEntries()).toEqual(recorded.liveEntries());
    expect(recorded.horizon).toBeGreaterThan(0); // the case prunes
  });
});

describe('the window as an image stores it (liveItems)', () => {
  test('each live version with its keys as [table name, key values], keys written again and again included', () => {
    const table = new Schema(accounts).table('accounts');
    const window = new CertWindow(0);
    for (let version = 1; version <= 60; version++) {
      // 0, 1 or 2 keys from a few, so that versions repeat keys, alone and together
      const keys: Touched[] = Array.from({ length: version % 3 }, (_, k) => ({ table, key: (version * 7 + k) % 4 }));
      window.record(version, keys);
    }
    const expected = window.liveEntries().map((e) => ({ version: e.version, keys: e.keys.map((t) => [t.table.name, decodeKey(t.table, t.key)]) }));
    expect(window.liveItems()).toEqual(expected);
    expect(expected.filter((e) => e.keys.length === 1).length).toBeGreaterThan(10);
  });
});

describe('index-range phantoms', () => {
  /** Ten accounts in Bergen, Oslo and Rome; `scanner` read the Oslo rows (or a limited byCity scan) at version 1. */
  function base(): Store {
    const store = Store.open(accounts);
    store.commit((tx) => {
      for (let id = 0; id < 9; id++) tx.insert('accounts', { id, email: `u${id}@x`, city: ['Bergen', 'Oslo', 'Rome'][id % 3] });
    });
    return store;
  }
  const scanOslo = (store: Store): ChangeSet => store.write((tx) => {
    tx.find('accounts', 'byCity', 'Oslo');
    tx.insert('accounts', { id: 100, email: 'report@x' });
  });

  const cases: { name: string; later: (tx: Parameters<Parameters<Store['commit']>[0]>[0]) => void; verdict: unknown }[] = [
    { name: 'a row inserted into the range', later: (tx) => void tx.insert('accounts', { id: 50, email: 'n@x', city: 'Oslo' }), verdict: ['CONFLICT', 'accounts', [50], 'index-range', 1, 2] },
    { name: 'a row moved into the range', later: (tx) => void tx.update('accounts', { id: 0, city: 'Oslo' }), verdict: ['CONFLICT', 'accounts', [0], 'index-range', 1, 2] },
    { name: 'a row moved out of the range (it was read)', later: (tx) => void tx.update('accounts', { id: 1, city: 'Rome' }), verdict: ['CONFLICT', 'accounts', [1], 'read', 1, 2] },
    { name: 'a row of the range changed (it was read)', later: (tx) => void tx.update('accounts', { id: 4, balance: 5n }), verdict: ['CONFLICT', 'accounts', [4], 'read', 1, 2] },
    { name: 'a row written outside the range', later: (tx) => void tx.insert('accounts', { id: 51, email: 'p@x', city: 'Paris' }), verdict: 3 },
    { name: 'a row inserted into the range and deleted again', later: (tx) => {
      tx.insert('accounts', { id: 52, email: 'q@x', city: 'Oslo' });
    }, verdict: 'deleted-later' },
  ];

  test.each(cases)('$name: the same verdict on every replica, a restored one too', ({ later, verdict }) => {
    const store = base();
    const cs = scanOslo(store);
    const laterCs = store.write(later);
    const replica = base();
    const restored = Store.open(accounts);
    for (const target of [store, replica]) target.apply(structuredClone(laterCs));
    if (verdict === 'deleted-later') {
      for (const target of [store, replica]) target.commit((tx) => void tx.delete('accounts', 52));
    }
    restored.restoreSync(store.snapshot());
    const outcomes = [store, replica, restored].map((target) => outcome(target, cs));
    expect(outcomes[0]).toEqual(verdict === 'deleted-later' ? 4 : verdict);
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
  });

  test('a scan cut short by its limit conflicts only with phantoms up to its last row', () => {
    const store = base();
    const firstCity = store.write((tx) => {
      expect(tx.scan('accounts', { index: 'byCity', lower: 'A', limit: 1 }).map((row) => row['city'])).toEqual(['Bergen']);
      tx.insert('accounts', { id: 100, email: 'report@x' });
    });
    const beyond = store.write((tx) => void tx.insert('accounts', { id: 60, email: 'z@x', city: 'Zurich' }));
    const before = store.write((tx) => void tx.insert('accounts', { id: 61, email: 'a@x', city: 'Aalborg' }));
    const afterBeyond = base();
    afterBeyond.apply(structuredClone(beyond));
    expect(outcome(afterBeyond, firstCity)).toBe(3);
    const afterBefore = base();
    afterBefore.apply(structuredClone(before));
    expect(outcome(afterBefore, firstCity)).toEqual(['CONFLICT', 'accounts', [61], 'index-range', 1, 2]);
  });
});
