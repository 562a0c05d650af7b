/**
 * The store's byte-level primitives: msgpack with int64 as bigint, CRC-32 for frames, SHA-256 for
 * fingerprints and content hashes, and binary framing `[u32 length][u32 crc32][payload]`.
 *
 * Invariants: encoding is canonical for canonical values (see values.ts), so equal stores encode to
 * equal bytes; a frame is accepted only when its length is within frameBytesMax and its CRC matches.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { Encoder } from '@msgpack/msgpack';
import { decodeStoreMsgpack } from './msgpack-decode.js';

// One encoder reused: @msgpack/msgpack's encode() allocates an encoder per call otherwise.
const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });

/** msgpack bytes of `value` (a fresh copy: the encoder's buffer is reused). */
export function encodeMsgpack(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes msgpack; throws (a plain Error) on malformed input — callers turn that into CorruptError. */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  return decodeStoreMsgpack(bytes);
}

export const frameHeaderBytes = 8;

type Crc32 = (data: Uint8Array, value?: number) => number;
// zlib.crc32 arrived in Node 20.15; older Node 20 falls back to a table-driven CRC-32 (same polynomial).
const nativeCrc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | undefined;
function tableCrc32(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value >>> 0;
  for (let i = 0; i < data.length; i++) crc = (table[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

export const crc32: Crc32 = nativeCrc32 ?? tableCrc32;
export { tableCrc32 as crc32Portable };

/** `[u32 length][u32 crc32][payload]`, little-endian. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameHeaderBytes + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, crc32(payload), true);
  out.set(payload, frameHeaderBytes);
  return out;
}

/** SHA-256 hex of a sequence of byte chunks. */
export function sha256Hex(chunks: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

export type Sha256 = ReturnType<typeof createHash>;
export function sha256(): Sha256 {
  return createHash('sha256');
}

/** A UTF-16 string as bytes, lossless even for lone surrogates (internal keys may hold any code unit). */
export function unitsToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out[2 * i] = unit >>> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}
