/**
 * Image frames write the usual values (strings, small integers, booleans, null) directly instead of
 * through the msgpack encoder. An image and the content hash built from it must not depend on that:
 * the bytes are the encoder's own, for every kind of value, at every size boundary.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { Encoder } from '@msgpack/msgpack';
import { rowFrames, windowFrames } from '../../src/store/image-frames.js';
import { frameHeaderBytes } from '../../src/store/codec.js';

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });
const boundaries = [0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -0, 0.5, 2 ** 53];
const strings = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(70_000), 'é', 'é'.repeat(16), '日本'.repeat(11), '😀'.repeat(8), 'a😀'.repeat(60)];

/** The payload bytes of one frame holding these rows, written by the direct path. */
function direct(rows: readonly Record<string, unknown>[], names: readonly string[]): Uint8Array {
  const frames = [...rowFrames('t', rows, names, { itemsMax: 1_000_000, bytesMax: 1 << 30 })];
  expect(frames).toHaveLength(1);
  return frames[0]!.subarray(frameHeaderBytes);
}

/** The same payload as the encoder writes it from the object literal. */
function viaEncoder(rows: readonly Record<string, unknown>[], names: readonly string[]): Uint8Array {
  return encoder.encode({ type: 'rows', table: 't', rows: rows.map((row) => names.map((name) => row[name])) });
}

describe('image frames', () => {
  test('rows are the bytes the msgpack encoder writes, at every size boundary of integers and strings', () => {
    const values: unknown[] = [...boundaries, ...strings, null, true, false, 10n, new Uint8Array([1, 2, 3]), [1, 'a'], 1.5e300];
    const rows = values.map((v, i) => ({ id: i, v }));
    expect(direct(rows, ['id', 'v'])).toEqual(viaEncoder(rows, ['id', 'v']));
  });

  test('and for any row of scalars', () => {
    const scalar = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }), fc.string(), fc.string({ unit: 'binary' }), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
    fc.assert(fc.property(fc.array(fc.tuple(scalar, scalar), { minLength: 1, maxLength: 20 }), (pairs) => {
      const rows = pairs.map(([a, b]) => ({ a, b }));
      expect(direct(rows, ['a', 'b'])).toEqual(viaEncoder(rows, ['a', 'b']));
    }), { seed: Number(process.env.FC_SEED ?? 1) });
  });

  test('window entries too', () => {
    const entries = [1, 200, 70_000, 2 ** 32 + 5].map((version, i) => ({ version, keys: [['accounts', [i, 'k'.repeat(40 * i)]] as const, ['orders', [-i - 40]] as const] }));
    const frames = [...windowFrames(entries, { itemsMax: 1000, bytesMax: 1 << 20 })];
    expect(frames).toHaveLength(1);
    const expected = encoder.encode({ type: 'window', entries: entries.map((e) => [e.version, e.keys.map(([t, k]) => [t, k])]) });
    expect(frames[0]!.subarray(frameHeaderBytes)).toEqual(expected);
  });
});
