import { describe, expect, test } from 'vitest';
import { CorruptError } from '../../src/store/errors.js';
import { Store } from '../../src/store/store.js';
import { accounts } from './fixtures.js';

function filled(rows: number): Store {
  const store = Store.open(accounts);
  for (let start = 0; start < rows; start += 500) {
    store.commit((tx) => {
      for (let id = start; id < Math.min(rows, start + 500); id++) {
        tx.insert('accounts', { id, email: `u${id}@x`, balance: BigInt(id) * 1000n, city: id % 3 === 0 ? null : `c${id % 7}`, tags: id % 2 ? ['a'] : null });
        tx.insert('events', { account: id, seq: id % 5, at: 1_700_000_000_000 + id, payload: new Uint8Array([id & 255]), score: id / 3 });
      }
    });
  }
  return store;
}

function concat(frames: Iterable<Uint8Array>): Uint8Array {
  const list = [...frames];
  const out = new Uint8Array(list.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of list) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

function* chunked(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

describe('snapshot images', () => {
  const source = filled(3000);
  const image = concat(source.snapshot());

  test('round trip in chunks of any size reproduces the store exactly (rows, indexes, version, certification)', async () => {
    for (const size of [1, 7, 4096, image.length]) {
      const copy = Store.open(accounts);
      await copy.restore(chunked(size === 1 ? image.subarray(0, 5000) : image, size)).catch(() => undefined);
      if (size === 1) continue; // a prefix only: must not load (checked below)
      expect(copy.contentHash()).toBe(source.contentHash());
      expect(copy.version).toBe(source.version);
      expect(copy.read((tx) => tx.find('accounts', 'byEmail', 'u2999@x')[0]?.['id'])).toBe(2999);
      expect(copy.read((tx) => tx.count('accounts', { index: 'byCity', lower: null, upper: null }))).toBe(1000);
    }
  });

  test('the image is framed: many frames, none larger than needed', () => {
    const frames = [...source.snapshot()];
    expect(frames.length).toBeGreaterThan(3);
    expect(Math.max(...frames.map((f) => f.length))).toBeLessThan(200 * 1024);
  });

  test('a truncated image fails, naming the offset, and leaves the store as it was', async () => {
    const target = filled(10);
    const before = target.contentHash();
    for (const cut of [3, 100, image.length - 1, image.length - 60]) {
      const error = await target.restore([image.subarray(0, cut)], 'img').then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptError);
      expect((error as CorruptError).code).toBe('CORRUPT');
      expect((error as CorruptError).source).toBe('img');
      expect((error as CorruptError).message).toMatch(/^img at byte \d+: truncated/);
      expect(target.contentHash()).toBe(before);
    }
  });

  test('a flipped byte fails with a checksum error at the frame that holds it', async () => {
    const frames = [...source.snapshot()];
    const third = frames[0]!.length + frames[1]!.length;
    for (const at of [20, third + 40, image.length - 10]) {
      const bad = image.slice();
      bad[at]! ^= 0x40;
      const target = Store.open(accounts);
      const error = (await target.restore([bad], 'img').catch((e: unknown) => e)) as CorruptError;
      expect(error).toBeInstanceOf(CorruptError);
      expect(error.offset).toBeLessThanOrEqual(at);
      expect(error.message).toMatch(/checksum mismatch|frame length/);
      expect(target.version).toBe(0);
    }
  });

  test('extra data after the end and a non-image are refused', async () => {
    const withTail = concat([image, image.subarray(0, 100)]);
    await expect(Store.open(accounts).restore([withTail])).rejects.toThrow(/data after the end frame/);
    await expect(Store.open(accounts).restore([new TextEncoder().encode('hello world, this is not an image')])).rejects.toThrow(CorruptError);
  });

  test('saving works from a view: writes during the save are not in the image', async () => {
    const store = filled(1000);
    const hash = store.contentHash();
    const frames: Uint8Array[] = [];
    let first = true;
    for (const frame of store.snapshot()) {
      frames.push(frame);
      if (first) store.commit((tx) => tx.delete('accounts', 5));
      first = false;
    }
    const copy = Store.open(accounts);
    await copy.restore(frames);
    expect(copy.contentHash()).toBe(hash);
    expect(store.contentHash()).not.toBe(hash);
  });
});
