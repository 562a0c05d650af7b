/**
 * The store's byte-level primitives: msgpack with int64 as bigint, CRC-32 for frames, SHA-256 for
 * fingerprints and content hashes, and binary framing `[u32 length][u32 crc32][payload]`.
 *
 * Invariants: encoding is canonical for canonical values (see values.ts), so equal stores encode to
 * equal bytes; a frame is accepted only when its length is within frameBytesMax and its CRC matches.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { decodeStoreMsgpack } from './msgpack-decode.js';
import { MsgpackEncoder } from './msgpack-encode.js';

// One encoder reused (its buffer grows once); bytes as @msgpack/msgpack's with useBigInt64.
const encoder = new MsgpackEncoder({ ignoreUndefined: false });

/** msgpack bytes of `value` (a fresh copy: the encoder's buffer is reused). */
export function encodeMsgpack(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/**
 * msgpack bytes of the map { keys[i]: values[i] }, as a view of the shared encoder's buffer valid only
 * until its next encode (MsgpackEncoder.encodeMapTransient): for a caller that copies them at once, as
 * Journal.append does.
 */
export function encodeMsgpackMapTransient(keys: readonly string[], values: readonly unknown[]): Uint8Array {
  return encoder.encodeMapTransient(keys, values);
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

/** Slicing-by-8 tables for crc32Range: table t maps a byte to its CRC contribution t bytes further on. */
let slices: Int32Array | undefined;
function sliceTables(): Int32Array {
  const out = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    out[n] = c;
  }
  for (let t = 1; t < 8; t++) {
    for (let n = 0; n < 256; n++) {
      const previous = out[(t - 1) * 256 + n] as number;
      out[t * 256 + n] = (previous >>> 8) ^ (out[previous & 0xff] as number);
    }
  }
  return out;
}

/** Below this many bytes crc32Range computes in JavaScript: the native call costs more than the sum. */
const crcNativeBytesMin = 512;

/**
 * CRC-32 of `bytes[start, end)` without a subarray. Short ranges (log records) are summed here: a call
 * into zlib.crc32 cost ~200-300 ns, more than slicing-by-8 over 100-odd bytes (~150 ns, measured).
 */
export function crc32Range(bytes: Uint8Array, start: number, end: number): number {
  if (end - start >= crcNativeBytesMin) return crc32(bytes.subarray(start, end));
  const t = (slices ??= sliceTables());
  let crc = -1;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = crc ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    crc = (t[1792 + (a & 0xff)] as number) ^ (t[1536 + ((a >>> 8) & 0xff)] as number) ^ (t[1280 + ((a >>> 16) & 0xff)] as number) ^ (t[1024 + (a >>> 24)] as number)
      ^ (t[768 + (bytes[i + 4] as number)] as number) ^ (t[512 + (bytes[i + 5] as number)] as number) ^ (t[256 + (bytes[i + 6] as number)] as number) ^ (t[bytes[i + 7] as number] as number);
  }
  for (; i < end; i++) crc = (t[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}
export { tableCrc32 as crc32Portable };

/** `[u32 length][u32 crc32][payload]`, little-endian. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(frameHeaderBytes + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  out.set(payload, frameHeaderBytes);
  view.setUint32(4, crc32Range(out, frameHeaderBytes, out.length), true);
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
