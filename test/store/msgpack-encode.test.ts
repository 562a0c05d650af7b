/**
 * The msgpack encoder against @msgpack/msgpack's (the reference it replaces): the same bytes for every
 * value, with and without ignoreUndefined, so that images, content hashes, journals and the wire read
 * as before; and its one refusal.
 */
import { Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MsgpackEncoder, keepBytes, keptBytes } from '../../src/store/msgpack-encode.js';
import type { KeepsBytes } from '../../src/store/msgpack-encode.js';
import { decodeStoreMsgpack } from '../../src/store/msgpack-decode.js';

const text = fc.oneof(
  fc.string({ maxLength: 40 }), fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 120 }), // lone surrogates too: the reference writes them differently below and above 50 characters
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00'), maxLength: 70 }),
);
const scalar = fc.oneof(
  fc.constant(null), fc.constant(undefined), fc.boolean(), fc.integer(), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.constantFrom(0, -0, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 2 ** 53, NaN, Infinity, -Infinity),
  fc.double(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), text, fc.uint8Array({ maxLength: 300 }),
);
const value = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar,
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(text, tie('value'), { maxKeys: 20 })),
})).value;

describe('MsgpackEncoder', () => {
  test.each([false, true])('writes exactly the bytes @msgpack/msgpack writes (ignoreUndefined %s)', (ignoreUndefined) => {
    const ours = new MsgpackEncoder({ ignoreUndefined });
    const reference = new Encoder({ useBigInt64: true, ignoreUndefined });
    fc.assert(fc.property(value, (input) => {
      expect(Buffer.from(ours.encode(input)).toString('hex')).toBe(Buffer.from(reference.encode(input)).toString('hex'));
    }), { numRuns: 1000 });
  });

  test('sizes: long strings, bins and collections past every header width, and a buffer that has to grow', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: false });
    const reference = new Encoder({ useBigInt64: true, ignoreUndefined: false });
    for (const input of [
      // a lone surrogate below and above the reference's 50-character switch to TextEncoder
      'x'.repeat(44) + '\ud800', 'x'.repeat(50) + '\udc00', 'é'.repeat(60) + '\ud800y', '😀'.repeat(30) + '\udbff',
      'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(65_535), 'é'.repeat(40_000), 'x'.repeat(70_000),
      new Uint8Array(255), new Uint8Array(256), new Uint8Array(70_000), new Uint16Array([1, 2, 3]), new DataView(new ArrayBuffer(5)),
      Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 70_000 }, (_, i) => i),
      Object.assign(Object.create(null) as object, { a: 1, b: [2] }), Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }),
      new (class { x = 1; y = 'two'; method(): void {} })(), { 2: 'two', 1: 'one', b: 'b', a: 'a' },
      Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])), Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])),
    ]) {
      expect(Buffer.from(ours.encode(input)).equals(Buffer.from(reference.encode(input)))).toBe(true);
    }
  });

  test('keeps headerBytes free at the start, and hands back a copy that later encodes do not touch', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: true, headerBytes: 4 });
    const first = ours.encode({ a: 1 });
    ours.encode({ b: 'something else entirely' });
    expect([...first]).toEqual([0, 0, 0, 0, 0x81, 0xa1, 0x61, 0x01]);
  });

  test('refuses a bigint outside 64 bits instead of wrapping it, a Date, and a cycle instead of overflowing the stack', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: false });
    expect(() => ours.encode(2n ** 64n)).toThrow(RangeError);
    expect(() => ours.encode([-(2n ** 63n) - 1n])).toThrow(RangeError);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(() => ours.encode(cycle)).toThrow(/Too deep/);
    expect(() => ours.encode({ f: () => 1 })).toThrow(/Unrecognized object/);
    expect(() => ours.encode({ at: new Date(0) })).toThrow(/Date is not encodable/); // no decoder here reads extensions
  });
});

describe('kept bytes (a log entry encoded once, on the node that made it)', () => {
  const entry = () => ({ term: 3, index: 41, data: { kind: 'command', payload: { origin: 'n1', id: 7, changeSet: new Uint8Array([1, 2, 3]) } } });
  const reference = new Encoder({ useBigInt64: true, ignoreUndefined: true });
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

  test('an object asked to keep them is written as an ext of type 1 around its usual bytes, and keeps a view of those', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: true });
    const e = entry();
    keepBytes([e]);
    const out = ours.encode({ e: [e], h: [3, null, 40] });
    const plain = reference.encode(entry());
    const kept = (e as KeepsBytes)[keptBytes]!;
    expect(hex(kept)).toBe(hex(plain));
    const header = Buffer.from([0xc9, 0, 0, 0, plain.length, 1]).toString('hex');
    // { e: [<ext32 type 1: the entry's map>], h: [3, null, 40] }
    expect(hex(out)).toBe('82' + 'a165' + '91' + header + hex(plain) + 'a168' + hex(reference.encode([3, null, 40])));
  });

  test('once kept, the bytes are written as they are (the object is not walked again), and decoding keeps them on the copy', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: true });
    const e = entry();
    keepBytes([e]);
    const first = ours.encode([e]);
    (e as { term: number }).term = 99; // entries never change; this only shows the object is not read again
    expect(hex(ours.encode([e]))).toBe(hex(first));
    const decoded = decodeStoreMsgpack(first) as [ReturnType<typeof entry> & KeepsBytes];
    expect(decoded[0].term).toBe(3);
    expect(hex(decoded[0][keptBytes]!)).toBe(hex(reference.encode(entry())));
    expect(hex(ours.encode(decoded))).toBe(hex(first)); // a follower's journal gets the leader's bytes
  });

  test('encodeTransient: the same bytes as encode; bytes an object keeps stay as they were after later encodes', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: true });
    const plain = ours.encodeTransient({ h: [3, 'n1', 40] });
    expect(hex(plain)).toBe(hex(reference.encode({ h: [3, 'n1', 40] })));
    const e = entry();
    keepBytes([e]);
    const record = ours.encodeTransient({ e: [e] });
    const recordHex = hex(record);
    ours.encodeTransient({ x: 'y'.repeat(200) }); // overwrites the encoder's buffer
    expect(hex((e as KeepsBytes)[keptBytes]!)).toBe(hex(reference.encode(entry())));
    expect(hex(record)).toBe(recordHex); // a record that keeps bytes is its own copy
  });

  test('encodeMapTransient writes the bytes of the object with those keys and values, kept bytes too', () => {
    for (const ignoreUndefined of [false, true]) {
      const ours = new MsgpackEncoder({ ignoreUndefined });
      const plainRef = new Encoder({ useBigInt64: true, ignoreUndefined });
      expect(hex(ours.encodeMapTransient(['h'], [[3, null, 40]]))).toBe(hex(plainRef.encode({ h: [3, null, 40] })));
      expect(hex(ours.encodeMapTransient(['a', 'b', 'c'], [1, undefined, 'x']))).toBe(hex(plainRef.encode({ a: 1, b: undefined, c: 'x' })));
      const e = entry();
      keepBytes([e]);
      const both = ours.encodeMapTransient(['e', 'h'], [[e], [3, 'n1', 40]]);
      const bothHex = hex(both);
      expect(bothHex).toBe(hex(ours.encode({ e: [e], h: [3, 'n1', 40] })));
      ours.encodeMapTransient(['x'], ['y'.repeat(200)]);
      expect(hex(both)).toBe(bothHex); // it kept bytes: its own copy
      expect(hex((e as KeepsBytes)[keptBytes]!)).toBe(hex(reference.encode(entry())));
    }
  });

  test('transient results are the bytes just encoded, also after the buffer grew', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: false });
    expect(hex(ours.encodeMapTransient(['h'], [[3, 'n1', 40]]))).toBe(hex(reference.encode({ h: [3, 'n1', 40] })));
    expect(hex(ours.encodeMapTransient(['h'], [[4, 'n2', 41]]))).toBe(hex(reference.encode({ h: [4, 'n2', 41] }))); // same length
    ours.encodeTransient('x'.repeat(100_000)); // past the first buffer
    expect(hex(ours.encodeMapTransient(['h'], [[5, 'n3', 42]]))).toBe(hex(reference.encode({ h: [5, 'n3', 42] })));
    expect(hex(ours.encodeTransient({ v: 4 }))).toBe(hex(reference.encode({ v: 4 })));
  });

  test('an encode that throws leaves nothing kept behind for the next one', () => {
    const ours = new MsgpackEncoder({ ignoreUndefined: true });
    const e = entry();
    keepBytes([e]);
    expect(() => ours.encode([e, 2n ** 70n])).toThrow(RangeError);
    expect((e as KeepsBytes)[keptBytes]).toBe(null);
    const other = { a: 1 };
    ours.encode(other);
    expect((other as KeepsBytes)[keptBytes]).toBeUndefined();
  });

  test('the decoder refuses other extension types, kept bytes of a non-map, and an ext whose length lies', () => {
    expect(() => decodeStoreMsgpack(new Uint8Array([0xc9, 0, 0, 0, 1, 2, 0x01]))).toThrow(/extension type 2/);
    expect(() => decodeStoreMsgpack(new Uint8Array([0xc9, 0, 0, 0, 1, 1, 0x01]))).toThrow(/other than a map/);
    expect(() => decodeStoreMsgpack(new Uint8Array([0xc9, 0, 0, 0, 3, 1, 0x81, 0xa1, 0x61, 0x01]))).toThrow(/holds/);
    expect(() => decodeStoreMsgpack(new Uint8Array([0xc9, 0, 0, 0, 9, 1, 0x80]))).toThrow(/fewer bytes/);
  });
});
