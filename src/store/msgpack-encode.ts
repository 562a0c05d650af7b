/**
 * msgpack encoding for everything chorusdb writes: log and journal records, change-sets, wire frames.
 *
 * Why not @msgpack/msgpack's Encoder: on a leader under load it was a quarter of the main thread
 * (profiled: the change-set, the journal record, each append and each client answer), most of it its
 * per-value dispatch (an extension lookup per object, a size check and a DataView call per byte) and
 * counting each string's UTF-8 bytes before writing them. This encoder writes straight into one
 * growable buffer and writes ASCII strings in one pass.
 *
 * Invariant: the bytes are exactly those of @msgpack/msgpack's Encoder with `useBigInt64` (and the same
 * `ignoreUndefined`), so images, content hashes and everything already on disk or on the wire read the
 * same (differential tests against it). The one difference is a refusal: a bigint outside
 * [-2^63, 2^64) throws a RangeError (the library would write it modulo 2^64), and so does a Date (the
 * library writes it as a timestamp extension, which no decoder here reads: refused where it is sent, not
 * where it arrives).
 *
 * Kept bytes: an object may carry its own msgpack bytes under the `keptBytes` symbol (invisible to
 * Object.keys, for...in and structured clone). It is then written as those bytes, wrapped in an ext32
 * of type `keptExtType` (1), which the store's decoder unwraps and keeps again on the object it makes.
 * Set it to null to ask for it: the object is encoded as usual inside the ext, and keeps a view of
 * those bytes in the result. So a Raft log entry is encoded once, on the node that made it, and its
 * bytes go as they are into that node's journal, every follower's append, the followers' journals and
 * each journal rewrite. The bytes must be the object's (entries never change once made).
 */
import { msgpackEncodeDepthMax } from '../limits.js';
import { assert } from '../runtime/assert.js';

/** Where an object keeps its own msgpack bytes (see the file's comment). */
export const keptBytes: unique symbol = Symbol('chorusdb.msgpackKeptBytes');
/** An object that keeps (Uint8Array) or asks to keep (null) its msgpack bytes. */
export interface KeepsBytes {
  [keptBytes]?: Uint8Array | null;
}
/** The msgpack ext type that wraps kept bytes. */
export const keptExtType = 1;

/**
 * Writes an integer in [-2^31, 2^32) at `at` in msgpack's shortest form (at most 5 bytes; the caller
 * reserved them); returns where it ends. Shared with the image frames' direct writer (image-frames.ts).
 */
export function writeInt32(b: Uint8Array, at: number, value: number): number {
  if (value >= 0) {
    if (value < 0x80) b[at++] = value;
    else if (value < 0x100) (b[at++] = 0xcc), (b[at++] = value);
    else if (value < 0x10000) (b[at++] = 0xcd), (b[at++] = value >>> 8), (b[at++] = value & 0xff);
    else (b[at++] = 0xce), (b[at++] = value >>> 24), (b[at++] = (value >>> 16) & 0xff), (b[at++] = (value >>> 8) & 0xff), (b[at++] = value & 0xff);
  } else if (value >= -0x20) b[at++] = value & 0xff;
  else if (value >= -0x80) (b[at++] = 0xd0), (b[at++] = value & 0xff);
  else if (value >= -0x8000) (b[at++] = 0xd1), (b[at++] = (value >> 8) & 0xff), (b[at++] = value & 0xff);
  else (b[at++] = 0xd2), (b[at++] = (value >> 24) & 0xff), (b[at++] = (value >> 16) & 0xff), (b[at++] = (value >> 8) & 0xff), (b[at++] = value & 0xff);
  return at;
}

/** Writes a str header for `byteLength` UTF-8 bytes at `at` (at most 5 bytes); returns where it ends. */
/**
 * Writes `value`'s code units at `at` while they are ASCII (their UTF-8 bytes are the units themselves),
 * and returns how many it wrote: `value.length` when the whole string is ASCII. Room for them is the
 * caller's to reserve.
 */
export function writeAscii(b: Uint8Array, at: number, value: string): number {
  const length = value.length;
  let i = 0;
  for (; i < length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0x80) break;
    b[at + i] = unit;
  }
  return i;
}

export function writeStrHeader(b: Uint8Array, at: number, byteLength: number): number {
  if (byteLength < 32) b[at++] = 0xa0 | byteLength;
  else if (byteLength < 0x100) (b[at++] = 0xd9), (b[at++] = byteLength);
  else if (byteLength < 0x10000) (b[at++] = 0xda), (b[at++] = byteLength >>> 8), (b[at++] = byteLength & 0xff);
  else if (byteLength < 0x100000000) (b[at++] = 0xdb), (b[at++] = byteLength >>> 24), (b[at++] = (byteLength >>> 16) & 0xff), (b[at++] = (byteLength >>> 8) & 0xff), (b[at++] = byteLength & 0xff);
  else throw new Error(`Too long string: ${byteLength} bytes in UTF-8`);
  return at;
}

/** Asks each object to keep its bytes the next time it is encoded (those that keep them already do). */
export function keepBytes(values: readonly object[]): void {
  for (const value of values) if ((value as KeepsBytes)[keptBytes] === undefined) (value as KeepsBytes)[keptBytes] = null;
}

/** Lengths below which transient results are views kept for reuse (MsgpackEncoder.views). */
const transientViewsMax = 4096;

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
/** @msgpack/msgpack writes strings longer than this with TextEncoder (lone surrogates become U+FFFD), shorter ones in JavaScript (they stay as 3-byte sequences). */
const textEncoderCharsMin = 51;

interface Utf8Write {
  utf8Write(text: string, offset: number, length: number): number;
}
const nativeUtf8Write = typeof (Buffer.prototype as Partial<Utf8Write>).utf8Write === 'function';

export interface MsgpackEncoderOptions {
  /** Leave out object keys whose value is undefined (otherwise they are written as nil). */
  readonly ignoreUndefined: boolean;
  /** Bytes kept free at the start of every result, for a caller's frame header. */
  readonly headerBytes?: number;
}

export class MsgpackEncoder {
  private bytes = new Uint8Array(16 * 1024);
  /**
   * transientResult's views of `bytes`, by length (views[n] is bytes[0, n)), made once per length while
   * the buffer stays: a view made per record cost more than encoding a small record (profiled).
   */
  private views: (Uint8Array | undefined)[] = [];
  private view = new DataView(this.bytes.buffer);
  private text: Utf8Write = Buffer.from(this.bytes.buffer) as unknown as Utf8Write;
  private pos = 0;
  /** Objects that asked to keep their bytes in this encode, each with its bytes' start and end. */
  private keeping: { readonly value: KeepsBytes; readonly start: number; readonly end: number }[] = [];
  private readonly ignoreUndefined: boolean;
  private readonly headerBytes: number;

  constructor(options: MsgpackEncoderOptions) {
    this.ignoreUndefined = options.ignoreUndefined;
    this.headerBytes = options.headerBytes ?? 0;
  }

  /** A fresh copy of `value`'s bytes, after `headerBytes` zero bytes. */
  encode(value: unknown): Uint8Array {
    if (this.keeping.length > 0) this.keeping = []; // left by an encode that threw
    this.pos = this.headerBytes;
    this.value(value, 1);
    const out = this.bytes.slice(0, this.pos);
    if (this.keeping.length > 0) {
      for (const { value: kept, start, end } of this.keeping) kept[keptBytes] = out.subarray(start, end);
      this.keeping = [];
    }
    return out;
  }

  /**
   * `value`'s bytes as a view of this encoder's buffer, valid only until its next encode: for a caller
   * that copies them at once (a journal's append). When an object in `value` asked to keep its bytes,
   * they must outlive that, so the result is then a fresh copy, as from encode().
   */
  encodeTransient(value: unknown): Uint8Array {
    if (this.keeping.length > 0) this.keeping = []; // left by an encode that threw
    this.pos = this.headerBytes;
    this.value(value, 1);
    return this.transientResult();
  }

  /**
   * encodeTransient of the map { keys[0]: values[0], ... } (the same bytes as of that object), without
   * walking an object's keys: for the records written on every commit (raft-journal.ts), where the
   * walk of a map of varying shapes (keyed loads by name) was most of their encoding.
   */
  encodeMapTransient(keys: readonly string[], values: readonly unknown[]): Uint8Array {
    assert(keys.length === values.length, 'encodeMapTransient: a value per key');
    if (this.keeping.length > 0) this.keeping = []; // left by an encode that threw
    this.pos = this.headerBytes;
    let size = keys.length;
    if (this.ignoreUndefined) for (const value of values) if (value === undefined) size--;
    this.collectionHeader(size, 0x80, 0xde);
    for (let i = 0; i < keys.length; i++) {
      if (values[i] === undefined && this.ignoreUndefined) continue;
      this.string(keys[i]!);
      this.value(values[i], 2);
    }
    return this.transientResult();
  }

  /** The bytes just encoded: a view, or a copy when objects in them keep views of their own (encodeTransient). */
  private transientResult(): Uint8Array {
    if (this.keeping.length === 0) return this.pos < transientViewsMax ? (this.views[this.pos] ??= this.bytes.subarray(0, this.pos)) : this.bytes.subarray(0, this.pos);
    const out = this.bytes.slice(0, this.pos);
    for (const { value: kept, start, end } of this.keeping) kept[keptBytes] = out.subarray(start, end);
    this.keeping = [];
    return out;
  }

  private reserve(count: number): void {
    if (this.pos + count <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, (this.pos + count) * 2));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.views = [];
    this.view = new DataView(grown.buffer);
    this.text = Buffer.from(grown.buffer) as unknown as Utf8Write;
  }

  private value(value: unknown, depth: number): void {
    if (depth > msgpackEncodeDepthMax) throw new Error(`Too deep objects in depth ${depth}`);
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number':
        return this.number(value);
      case 'boolean':
        this.reserve(1);
        this.bytes[this.pos++] = value ? 0xc3 : 0xc2;
        return;
      case 'bigint':
        return this.bigint(value);
      case 'undefined':
        this.reserve(1);
        this.bytes[this.pos++] = 0xc0;
        return;
      case 'object':
        if (value === null) {
          this.reserve(1);
          this.bytes[this.pos++] = 0xc0;
        } else if (Array.isArray(value)) this.array(value, depth);
        else if (ArrayBuffer.isView(value)) this.binary(value);
        else if (value instanceof Date) throw new RangeError('a Date is not encodable here (msgpack extension types are not read back); send its getTime()');
        else if ((value as KeepsBytes)[keptBytes] !== undefined) this.kept(value as Record<string, unknown>, depth);
        else this.map(value as Record<string, unknown>, depth);
        return;
      default:
        throw new Error(`Unrecognized object: ${Object.prototype.toString.apply(value)}`);
    }
  }

  private number(value: number): void {
    this.reserve(9);
    const b = this.bytes;
    const at = this.pos;
    if (Number.isSafeInteger(value) && value >= -0x80000000 && value < 0x100000000) {
      this.pos = writeInt32(b, at, value);
      return;
    }
    // Fractions, and with useBigInt64 also integers beyond 32 bits: float64.
    b[at] = 0xcb;
    this.view.setFloat64(at + 1, value);
    this.pos = at + 9;
  }

  private bigint(value: bigint): void {
    if (value < INT64_MIN || value > UINT64_MAX) throw new RangeError(`bigint ${value} does not fit in 64 bits`);
    this.reserve(9);
    if (value >= 0n) {
      this.bytes[this.pos] = 0xcf;
      this.view.setBigUint64(this.pos + 1, value);
    } else {
      this.bytes[this.pos] = 0xd3;
      this.view.setBigInt64(this.pos + 1, value);
    }
    this.pos += 9;
  }

  private string(value: string): void {
    const length = value.length;
    this.reserve(5 + 3 * length);
    // ASCII (nearly every key and value): its UTF-8 length is its length, written in one pass.
    const header = length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    if (writeAscii(this.bytes, this.pos + header, value) === length) {
      this.stringHeader(length);
      this.pos += length;
      return;
    }
    const byteLength = utf8Count(value);
    this.stringHeader(byteLength);
    if (length >= textEncoderCharsMin && nativeUtf8Write) this.text.utf8Write(value, this.pos, byteLength);
    else if (length >= textEncoderCharsMin) new TextEncoder().encodeInto(value, this.bytes.subarray(this.pos));
    else utf8EncodeJs(value, this.bytes, this.pos);
    this.pos += byteLength;
  }

  private stringHeader(byteLength: number): void {
    this.pos = writeStrHeader(this.bytes, this.pos, byteLength);
  }

  private binary(value: ArrayBufferView): void {
    const size = value.byteLength;
    this.reserve(5 + size);
    const b = this.bytes;
    let at = this.pos;
    if (size < 0x100) (b[at++] = 0xc4), (b[at++] = size);
    else if (size < 0x10000) (b[at++] = 0xc5), (b[at++] = size >>> 8), (b[at++] = size & 0xff);
    else if (size < 0x100000000) (b[at++] = 0xc6), (b[at++] = size >>> 24), (b[at++] = (size >>> 16) & 0xff), (b[at++] = (size >>> 8) & 0xff), (b[at++] = size & 0xff);
    else throw new Error(`Too large binary: ${size}`);
    b.set(value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, size), at);
    this.pos = at + size;
  }

  /** An object that keeps its bytes: ext32 of keptExtType around them (encoded now, and kept, if it has none yet). */
  private kept(value: Record<string, unknown> & KeepsBytes, depth: number): void {
    const bytes = value[keptBytes];
    const size = bytes === null || bytes === undefined ? 0 : bytes.byteLength;
    this.reserve(6 + size);
    const header = this.pos;
    this.bytes[header] = 0xc9;
    this.bytes[header + 5] = keptExtType;
    this.pos = header + 6;
    if (bytes === null || bytes === undefined) {
      this.map(value, depth);
      this.keeping.push({ value, start: header + 6, end: this.pos });
    } else {
      this.bytes.set(bytes, this.pos);
      this.pos += size;
    }
    this.view.setUint32(header + 1, this.pos - header - 6);
  }

  private collectionHeader(size: number, fix: number, wide16: number): void {
    this.reserve(5);
    const b = this.bytes;
    let at = this.pos;
    if (size < 16) b[at++] = fix | size;
    else if (size < 0x10000) (b[at++] = wide16), (b[at++] = size >>> 8), (b[at++] = size & 0xff);
    else if (size < 0x100000000) (b[at++] = wide16 + 1), (b[at++] = size >>> 24), (b[at++] = (size >>> 16) & 0xff), (b[at++] = (size >>> 8) & 0xff), (b[at++] = size & 0xff);
    else throw new Error(`Too large collection: ${size}`);
    this.pos = at;
  }

  private array(value: readonly unknown[], depth: number): void {
    this.collectionHeader(value.length, 0x90, 0xdc);
    for (let i = 0; i < value.length; i++) this.value(value[i], depth + 1);
  }

  private map(value: Record<string, unknown>, depth: number): void {
    // Object.keys would allocate an array per map (a quarter of what a leader allocated per commit
    // went to those, profiled); for...in walks V8's cached key list of a plain object instead. Its order
    // is Object.keys' for own keys, and a plain object has no enumerable inherited ones.
    if (Object.getPrototypeOf(value) !== Object.prototype) return this.mapOfKeys(value, Object.keys(value), depth);
    let size = 0;
    for (const key in value) if (!this.ignoreUndefined || value[key] !== undefined) size++;
    this.collectionHeader(size, 0x80, 0xde);
    for (const key in value) {
      const item = value[key];
      if (item === undefined && this.ignoreUndefined) continue;
      this.string(key);
      this.value(item, depth + 1);
    }
  }

  private mapOfKeys(value: Record<string, unknown>, keys: readonly string[], depth: number): void {
    let size = keys.length;
    if (this.ignoreUndefined) for (const key of keys) if (value[key] === undefined) size--;
    this.collectionHeader(size, 0x80, 0xde);
    for (const key of keys) {
      const item = value[key];
      if (item === undefined && this.ignoreUndefined) continue;
      this.string(key);
      this.value(item, depth + 1);
    }
  }
}

/** UTF-8 length as @msgpack/msgpack counts it (a lone surrogate: 3 bytes). */
function utf8Count(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    let unit = text.charCodeAt(i);
    if (unit < 0x80) count += 1;
    else if (unit < 0x800) count += 2;
    else {
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if ((low & 0xfc00) === 0xdc00) {
          i++;
          unit = 0x10000;
        }
      }
      count += unit >= 0x10000 ? 4 : 3;
    }
  }
  return count;
}

/** @msgpack/msgpack's JavaScript UTF-8 writer (for strings up to 50 characters): a lone surrogate as its 3-byte sequence. */
function utf8EncodeJs(text: string, out: Uint8Array, offset: number): void {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let unit = text.charCodeAt(i);
    if (unit < 0x80) {
      out[at++] = unit;
      continue;
    }
    if (unit < 0x800) {
      out[at++] = 0xc0 | (unit >> 6);
    } else {
      if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
        const low = text.charCodeAt(i + 1);
        if ((low & 0xfc00) === 0xdc00) {
          i++;
          unit = ((unit & 0x3ff) << 10) + (low & 0x3ff) + 0x10000;
        }
      }
      if (unit < 0x10000) {
        out[at++] = 0xe0 | (unit >> 12);
        out[at++] = 0x80 | ((unit >> 6) & 0x3f);
      } else {
        out[at++] = 0xf0 | (unit >> 18);
        out[at++] = 0x80 | ((unit >> 12) & 0x3f);
        out[at++] = 0x80 | ((unit >> 6) & 0x3f);
      }
    }
    out[at++] = 0x80 | (unit & 0x3f);
  }
}
