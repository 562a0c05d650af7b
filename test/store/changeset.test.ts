/**
 * A change-set's bytes (encodeChangeSet), the form it has in the log, the journals and on the wire:
 * decoded on another node, it must certify and apply exactly as the object it was made from.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import { decodeChangeSet, encodeChangeSet } from '../../src/store/changeset.js';
import { CorruptError } from '../../src/store/errors.js';
import { encodeMsgpack } from '../../src/store/codec.js';
import { accounts } from './fixtures.js';

describe('change-set bytes', () => {
  it('do not keep the change-set they were made from alive (the log holds them long after the write settled)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const writer = Store.open(accounts);
    const made = () => {
      const changeSet = writer.write((tx) => tx.insert('accounts', { id: 7, email: 'g@x', city: 'Tromsø' }));
      return { bytes: encodeChangeSet(changeSet), ref: new WeakRef(changeSet), copy: structuredClone(changeSet) };
    };
    const { bytes, ref, copy } = made();
    await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRef targets live until the end of the job that made them
    gc();
    expect(ref.deref()).toBeUndefined(); // with only its bytes held, the object is collected
    expect(decodeChangeSet(bytes, 'n1')).toEqual(copy); // and the bytes are decoded instead
  });

  it('decode to a change-set that applies exactly as the original, with every kind of value and read', () => {
    const writer = Store.open(accounts);
    writer.commit((tx) => {
      tx.insert('accounts', { id: 1, email: 'a@x', balance: 5n, city: 'Oslo' });
      tx.insert('accounts', { id: 2, email: 'b@x', city: 'Bergen', tags: ['t'] });
    });
    const changeSet = writer.write((tx) => {
      tx.get('accounts', 9);
      tx.scan('accounts', { index: 'byCity', lower: 'A', limit: 1 });
      tx.count('accounts');
      tx.upsert('accounts', { id: 3, email: 'c@x', balance: -(2n ** 62n), tags: ['x', 'y'] });
      tx.insert('events', { account: 3, seq: 4_000_000_000, at: 1_700_000_000_000, payload: new Uint8Array([0, 255]), score: 0.25 });
      tx.delete('accounts', 1);
    });
    const bytes = encodeChangeSet(changeSet);
    expect(decodeChangeSet(bytes, 'n1')).toBe(changeSet); // the very bytes, handed on by reference in one process
    const decoded = decodeChangeSet(bytes.slice(), 'n1'); // a copy, as another process gets it
    expect(decoded).not.toBe(changeSet);
    expect(decoded).toEqual(changeSet);

    // Two replicas: one applies the object, one its bytes decoded; they end alike.
    const [a, b] = [Store.open(accounts), Store.open(accounts)];
    for (const replica of [a, b]) replica.commit((tx) => {
      tx.insert('accounts', { id: 1, email: 'a@x', balance: 5n, city: 'Oslo' });
      tx.insert('accounts', { id: 2, email: 'b@x', city: 'Bergen', tags: ['t'] });
    });
    a.apply(changeSet);
    b.apply(decoded);
    expect(b.contentHash()).toBe(a.contentHash());
    expect(b.read((tx) => tx.get('accounts', 3)?.['balance'])).toBe(-(2n ** 62n));
  });

  it('refuse bytes that are not a change-set with CORRUPT, naming the node that wrote them', () => {
    for (const bytes of [new Uint8Array([0xc1]), encodeMsgpack({ schema: 'x', snapshot: -1, reads: [], ranges: [], writes: [] })]) {
      expect(() => decodeChangeSet(bytes, 'n2')).toThrow(CorruptError);
      expect(() => decodeChangeSet(bytes, 'n2')).toThrow(/written on n2/);
    }
  });
});
