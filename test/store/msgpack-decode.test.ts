/**
 * The store's msgpack decoder against @msgpack/msgpack (the reference it replaces): equal values for
 * everything the store's encoder writes, refusals for what it must not accept.
 */
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeMsgpack } from '../../src/store/codec.js';
import { MsgpackReader, decodeStoreMsgpack } from '../../src/store/msgpack-decode.js';
import { rowFromArray, rowFromReader } from '../../src/store/rows.js';
import { Schema } from '../../src/store/schema.js';

const scalar = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.double({ noNaN: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.string({ unit: 'grapheme', maxLength: 300 }), fc.uint8Array({ maxLength: 300 }),
);
const value = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 20 }), fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 8 })),
})).value;

describe('decodeStoreMsgpack', () => {
  test('decodes what the store encodes exactly as @msgpack/msgpack does', () => {
    fc.assert(fc.property(value, (input) => {
      const bytes = encodeMsgpack(input);
      expect(decodeStoreMsgpack(bytes)).toEqual(decode(bytes, { useBigInt64: true }));
    }), { numRuns: 500 });
  });

  test('short strings come out right however the string cache fills, collides and evicts', () => {
    const strings = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `é${i}` : i % 5 === 0 ? '' : `k${i % 3000}`.padEnd(1 + (i % 16), 'x')));
    const once = encodeMsgpack(strings);
    expect(decodeStoreMsgpack(once)).toEqual(strings);
    expect(decodeStoreMsgpack(once)).toEqual(strings); // second time, from the cache where it holds them
    const keys = Object.fromEntries(strings.map((k, i) => [k, i]));
    expect(decodeStoreMsgpack(encodeMsgpack(keys))).toEqual(decode(encodeMsgpack(keys), { useBigInt64: true }));
    // Bad UTF-8 in a short string: U+FFFD, as the uncached path gives, and still so from the cache.
    const bad = new Uint8Array([0x92, 0xa3, 0x61, 0xff, 0x62, 0xa3, 0x61, 0xff, 0x62]);
    expect(decodeStoreMsgpack(bad)).toEqual(['a\ufffdb', 'a\ufffdb']);
  });

  test('decodes a payload that is a view into a larger buffer (a frame inside a read chunk)', () => {
    const payload = encodeMsgpack([1, 'two', [3.5, 4n], { five: new Uint8Array([5]) }]);
    const chunk = new Uint8Array(payload.length + 10);
    chunk.set(payload, 7);
    expect(decodeStoreMsgpack(chunk.subarray(7, 7 + payload.length))).toEqual([1, 'two', [3.5, 4n], { five: new Uint8Array([5]) }]);
  });

  test('refuses truncation, trailing bytes, ext types, __proto__ keys and absurd lengths', () => {
    const bytes = encodeMsgpack({ a: [1, 2, 'three'] });
    expect(() => decodeStoreMsgpack(bytes.subarray(0, bytes.length - 1))).toThrow(/insufficient data/);
    expect(() => decodeStoreMsgpack(new Uint8Array([...bytes, 0]))).toThrow(/extra bytes/);
    expect(() => decodeStoreMsgpack(encode(new Date(0)))).toThrow(/unsupported msgpack type/);
    expect(() => decodeStoreMsgpack(new Uint8Array([0x81, 0xa9, ...Buffer.from('__proto__'), 0x01]))).toThrow(/__proto__/);
    expect(() => decodeStoreMsgpack(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x00]))).toThrow(/fewer bytes/);
    expect(() => decodeStoreMsgpack(new Uint8Array(200).fill(0x91))).toThrow(/storeDecodeDepthMax/);
  });
});

describe('rows read straight from msgpack (rowFromReader) against decode-then-check (rowFromArray)', () => {
  const table = new Schema({
    tables: [{
      name: 't',
      fields: [
        { name: 'id', type: 'uint32' }, { name: 's', type: 'string' }, { name: 'f', type: 'float64' },
        { name: 'at', type: 'timestamp' }, { name: 'o', type: 'string', optional: true }, { name: 'i', type: 'int32' },
      ],
      primaryKey: ['id'],
    }],
  }).table('t');
  const outcome = (read: () => unknown): unknown => {
    try {
      return { row: read() };
    } catch (error) {
      const e = error as { code?: string; table?: string; field?: string; constructor: unknown };
      return { error: [e.constructor, e.code, e.table, e.field] }; // the messages show the value, which differs in form
    }
  };
  /** msgpack of a float64 whatever its value (the encoder writes integral doubles as integers). */
  const float64 = (x: number): Uint8Array => {
    const out = new Uint8Array(9);
    out[0] = 0xcb;
    new DataView(out.buffer).setFloat64(1, x);
    return out;
  };

  test('same row or same refusal for any values, in any encoding', () => {
    const field = fc.oneof(scalar, fc.constantFrom(-0, 2 ** 32, 2 ** 53, 1.5, -1, 'é', '\u{1F600}'));
    // Mostly well-typed rows (so that every field's fast path also succeeds), and anything at all.
    const typed = fc.tuple(
      fc.oneof(fc.nat(), fc.constantFrom(0xffffffff, 2 ** 32, -1)), fc.string({ unit: 'grapheme', maxLength: 40 }), fc.double(),
      fc.oneof(fc.maxSafeNat(), fc.double()), fc.option(fc.string({ maxLength: 300 }), { nil: null }),
      fc.oneof(fc.integer(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, -(2 ** 31), 1.5, -0)),
    ).map((row) => row as unknown[]);
    fc.assert(fc.property(fc.oneof(typed, fc.array(field, { minLength: 5, maxLength: 7 })), fc.integer({ min: 0, max: 6 }), fc.double(), (values, at, x) => {
      const plain = encodeMsgpack(values);
      // The same array with one element replaced by a raw float64 (as a foreign writer might send it).
      const parts = values.map((v, i) => (i === at ? float64(x) : encodeMsgpack(v)));
      const raw = new Uint8Array([0x90 | values.length, ...parts.flatMap((p) => [...p])]);
      for (const bytes of [plain, raw]) {
        const direct = outcome(() => rowFromReader(table, new MsgpackReader(bytes), 0));
        const general = outcome(() => rowFromArray(table, decodeStoreMsgpack(bytes) as unknown[]));
        expect(direct).toEqual(general);
      }
    }), { numRuns: 500 });
    const negativeZero = new Uint8Array([0x96, 0x01, 0xa1, 0x61, ...float64(-0), 0x02, 0xc0, 0xff]);
    expect(Object.is(rowFromReader(table, new MsgpackReader(negativeZero), 0)['f'], 0)).toBe(true); // canonical: -0 stored as 0
  });
});
