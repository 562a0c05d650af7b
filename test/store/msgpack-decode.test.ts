/**
 * The store's msgpack decoder against @msgpack/msgpack (the reference it replaces): equal values for
 * everything the store's encoder writes, refusals for what it must not accept.
 */
import { decode, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeMsgpack } from '../../src/store/codec.js';
import { decodeStoreMsgpack } from '../../src/store/msgpack-decode.js';

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
