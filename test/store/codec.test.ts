import * as fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { crc32Portable, crc32Range } from '../../src/store/codec.js';

describe('crc32Range (frames are checked with it)', () => {
  test('equals the reference CRC-32 of the range, short (JavaScript) and long (native) alike', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      expect(crc32Range(bytes, start, end)).toBe(crc32Portable(bytes.subarray(start, end)));
    }));
    expect(crc32Range(new TextEncoder().encode('123456789'), 0, 9)).toBe(0xcbf43926); // the standard check value
  });
});
