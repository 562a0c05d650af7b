import { describe, expect, test } from 'vitest';
import { decodeMsgpack, encodeMsgpack, frame } from '../../src/store/codec.js';
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

/** Payloads of an image's frames, decoded, with their payload sizes. */
function frameBodies(frames: Iterable<Uint8Array>): { bytes: number; body: Record<string, unknown> }[] {
  return [...frames].map((f) => {
    const bytes = new DataView(f.buffer, f.byteOffset, f.length).getUint32(0, true);
    expect(f.length).toBe(bytes + 8); // one frame per chunk
    return { bytes, body: decodeMsgpack(f.subarray(8)) as Record<string, unknown> };
  });
}

describe('snapshot frame bounds (Store.snapshot options) and restoreSync', () => {
  const source = filled(3000);
  // Six commits of 1000 keys each: the certification window has entries larger than small frames.
  const hash = source.contentHash();

  test.each([
    { frameRowsMax: 1, frameBytesMax: 64 * 1024 },
    { frameRowsMax: 7, frameBytesMax: 300 },
    { frameRowsMax: 100_000, frameBytesMax: 1000 },
    { frameRowsMax: 50, frameBytesMax: 4096 },
  ])('frames respect $frameRowsMax rows and $frameBytesMax bytes, and restore to the same store', (bounds) => {
    const frames = [...source.snapshot(bounds)];
    const bodies = frameBodies(frames);
    let rows = 0;
    let windowKeys = 0;
    for (const { bytes, body } of bodies) {
      if (body['type'] === 'rows') {
        const count = (body['rows'] as unknown[]).length;
        rows += count;
        expect(count).toBeLessThanOrEqual(bounds.frameRowsMax);
        if (count > 1) expect(bytes).toBeLessThanOrEqual(bounds.frameBytesMax);
      } else if (body['type'] === 'window') {
        const keys = (body['entries'] as [number, unknown[]][]).reduce((n, [, k]) => n + k.length, 0);
        windowKeys += keys;
        if (keys > 1) expect(bytes).toBeLessThanOrEqual(bounds.frameBytesMax);
      } else if (body['type'] === 'end') {
        expect(bytes).toBeLessThanOrEqual(Math.max(bounds.frameBytesMax, 128));
      }
    }
    expect(rows).toBe(6000);
    expect(windowKeys).toBe(6000);
    const copy = filled(5);
    copy.restoreSync(frames, 'transfer');
    expect(copy.contentHash()).toBe(hash);
    expect(copy.version).toBe(source.version);
    expect(copy.read((tx) => tx.find('accounts', 'byEmail', 'u1234@x')[0]?.['id'])).toBe(1234);
  });

  test('a row larger than frameBytesMax goes alone in its own frame', () => {
    const store = Store.open(accounts);
    store.commit((tx) => {
      for (let seq = 0; seq < 20; seq++) tx.insert('events', { account: 1, seq, at: 0, payload: new Uint8Array(seq === 10 ? 5000 : 10) });
    });
    const bodies = frameBodies(store.snapshot({ frameBytesMax: 1024 })).filter((b) => b.body['type'] === 'rows');
    const big = bodies.find((b) => b.bytes > 1024);
    expect((big?.body['rows'] as unknown[]).length).toBe(1);
    expect(bodies.filter((b) => b.bytes <= 1024).every((b) => (b.body['rows'] as unknown[]).length > 0)).toBe(true);
    const copy = Store.open(accounts);
    copy.restoreSync(store.snapshot({ frameBytesMax: 1024 }));
    expect(copy.contentHash()).toBe(store.contentHash());
    expect(copy.read((tx) => (tx.get('events', [1, 10])?.['payload'] as Uint8Array).length)).toBe(5000);
  });

  test('a restored window certifies like the original: the same change-sets conflict or apply on both', () => {
    const restored = Store.open(accounts);
    restored.restoreSync(source.snapshot({ frameBytesMax: 512 }));
    const original = filled(3000);
    const early = filled(500); // the state after the first of source's six commits
    const late = early.write((tx) => tx.insert('accounts', { id: 2000, email: 'new@x' })); // 2000 was written by commit 5
    const fine = early.write((tx) => tx.update('accounts', { id: 7, city: 'Oslo' })); // 7 only by commit 1
    for (const store of [original, restored]) {
      expect(() => store.apply(late)).toThrow(expect.objectContaining({ code: 'CONFLICT', reason: 'write' }));
      store.apply(fine);
    }
    expect(restored.contentHash()).toBe(original.contentHash());
  });

  test('restoreSync refuses corrupt, truncated, reordered or incomplete input, and nothing of it is loaded', () => {
    const frames = [...source.snapshot({ frameRowsMax: 100, frameBytesMax: 8192 })];
    const offsetOf = (index: number): number => frames.slice(0, index).reduce((n, f) => n + f.length, 0);
    const flipped = frames.map((f, i) => (i === 5 ? f.map((b, j) => (j === 40 ? b ^ 1 : b)) : f));
    const cases: { input: Uint8Array[]; what: RegExp; at?: number }[] = [
      { input: flipped, what: /checksum mismatch/, at: offsetOf(5) },
      { input: frames.slice(0, -1), what: /truncated: no end frame/ },
      { input: [...frames.slice(0, -1), frames[frames.length - 1]!.subarray(0, 10)], what: /truncated: 10 bytes/ },
      { input: [...frames.slice(0, 3), ...frames.slice(4)], what: /end frame counts|digest/ },
      { input: [frames[0]!, frames[2]!, frames[1]!, ...frames.slice(3)], what: /keys out of order/, at: frames[0]!.length + frames[2]!.length },
      { input: [...frames, frames[1]!], what: /data after the end frame/ },
    ];
    for (const { input, what, at } of cases) {
      const target = filled(20);
      const before = target.contentHash();
      let error: unknown;
      try {
        target.restoreSync(input, 'transfer');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CorruptError);
      expect((error as CorruptError).source).toBe('transfer');
      expect((error as CorruptError).message).toMatch(what);
      if (at !== undefined) expect((error as CorruptError).offset).toBe(at);
      expect(target.contentHash()).toBe(before);
      expect(target.version).toBe(1);
    }
  });

  test('frames whose checksum holds but whose content is wrong are refused where they are', () => {
    const frames = [...source.snapshot({ frameRowsMax: 100, frameBytesMax: 8192 })];
    const bodies = frameBodies(frames).map((b) => b.body);
    const rowsAt = bodies.findIndex((b) => b['type'] === 'rows' && b['table'] === 'accounts');
    const windowAt = bodies.findIndex((b) => b['type'] === 'window');
    const offsetOf = (index: number): number => frames.slice(0, index).reduce((n, f) => n + f.length, 0);
    /** The image with frame `index` replaced by `body`, framed with a valid checksum. */
    const replaced = (index: number, body: Record<string, unknown>): Uint8Array[] => frames.map((f, i) => (i === index ? frame(encodeMsgpack(body)) : f));
    const rows = bodies[rowsAt]!['rows'] as unknown[][];
    const entries = bodies[windowAt]!['entries'] as [number, [string, unknown[]][]][];
    const [version, keys] = entries[0]!;
    const cases: { input: Uint8Array[]; what: RegExp; at: number }[] = [
      { input: replaced(rowsAt, { ...bodies[rowsAt], rows: [['one', ...rows[0]!.slice(1)], ...rows.slice(1)] }), what: /table accounts, row 0: .*id/, at: offsetOf(rowsAt) },
      { input: replaced(windowAt, { ...bodies[windowAt], entries: [[version, [['nosuch', [1]], ...keys]]] }), what: /window entry \d+: key 0 names no table/, at: offsetOf(windowAt) },
      { input: replaced(windowAt, { ...bodies[windowAt], entries: [[version, keys], [version - 1, keys]] }), what: /window entry \d+ after \d+/, at: offsetOf(windowAt) },
      { input: replaced(windowAt, { ...bodies[windowAt], entries: [[version]] }), what: /malformed window entry/, at: offsetOf(windowAt) },
      { input: replaced(windowAt, { ...bodies[windowAt], entries: [[version, [['accounts', ['x']]]]] }), what: /window entry \d+: .*id/, at: offsetOf(windowAt) },
    ];
    for (const { input, what, at } of cases) {
      const target = filled(20);
      const before = target.contentHash();
      let error: unknown;
      try {
        target.restoreSync(input, 'transfer');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CorruptError);
      expect((error as CorruptError).message).toMatch(what);
      expect((error as CorruptError).offset).toBe(at);
      expect(target.contentHash()).toBe(before);
    }
  });
});
