/**
 * msgpack decoding for the store's frames (snapshot images, log records, change-sets) and the TCP
 * transport's frames.
 *
 * Why not @msgpack/msgpack's Decoder: replaying a log or loading an image decodes
 * millions of small frames, and its per-call setup and JavaScript UTF-8 decoding of short strings took
 * about a fifth of replay and load time (profiled). This decoder is a plain recursive descent over one
 * buffer that makes strings natively (Buffer's utf8Slice), and short ones (map keys, names) once: they
 * are kept by their bytes (storeDecodeStringCacheEntries). On a 64-entry Raft append it takes ~20% less
 * time than @msgpack/msgpack's, on a change-set or a client request ~45% less (measured).
 *
 * Same values as @msgpack/msgpack with `useBigInt64`: int64/uint64 formats become bigint, every other
 * integer and float a number, bin a Uint8Array view into the input, maps plain objects with string (or
 * number) keys; an ext32 of type 1 is a map that keeps its bytes (msgpack-encode.ts): the map, with a
 * view of them under `keptBytes`. Differences, all refusals: other ext types, a `__proto__` key,
 * nesting deeper than storeDecodeDepthMax, and a length that claims more items than there are bytes.
 * Invalid UTF-8 decodes with U+FFFD replacements (the store only writes well-formed strings).
 *
 * Invariants: every failure is a thrown Error (callers turn it into CorruptError); nothing is read past
 * the end of the input; the whole input must be one value.
 */
import { storeDecodeCacheBytesMax, storeDecodeDepthMax, storeDecodeStringCacheEntries } from '../limits.js';
import type { KeepsBytes } from './msgpack-encode.js';
import { keptBytes, keptExtType } from './msgpack-encode.js';

export class MsgpackDecodeError extends Error {}

/**
 * UTF-8 text out of a byte range. Node's Buffer has `utf8Slice`, the native method that
 * `toString(undefined, start, end)` calls after checking its arguments in JavaScript; called directly
 * it saves that wrapper, ~6% of a snapshot load's CPU (profiled: 2M strings). Where a runtime lacks it,
 * toString stands in.
 */
interface Utf8Text {
  utf8Slice(start: number, end: number): string;
}

const nativeUtf8Slice = typeof (Buffer.prototype as Partial<Utf8Text>).utf8Slice === 'function';

function utf8Text(buffer: ArrayBufferLike): Utf8Text {
  const bytes = Buffer.from(buffer);
  return nativeUtf8Slice ? (bytes as unknown as Utf8Text) : { utf8Slice: (start, end) => bytes.toString('utf8', start, end) };
}

/** Views over one ArrayBuffer, reused while frames keep coming from the same read chunk. */
interface Views {
  readonly buffer: ArrayBufferLike;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly text: Utf8Text;
}

let cached: Views | undefined;

/** Strings of at most this many bytes are kept in the cache (the longest usual map key is shorter). */
const cachedStringBytesMax = 16;
const cacheBytes = new Uint8Array(storeDecodeStringCacheEntries * cachedStringBytesMax);
/** Each slot's byte length; 255 (no string is that long here) marks an empty slot. */
const cacheLengths = new Uint8Array(storeDecodeStringCacheEntries).fill(255);
const cacheStrings: string[] = new Array<string>(storeDecodeStringCacheEntries).fill('');

function viewsOf(buffer: ArrayBufferLike): Views {
  if (cached?.buffer === buffer) return cached;
  const views = { buffer, bytes: new Uint8Array(buffer), view: new DataView(buffer), text: utf8Text(buffer) };
  // Only read-chunk-sized buffers are kept for the next frame: never pin a large image in memory.
  cached = buffer.byteLength <= storeDecodeCacheBytesMax ? views : undefined;
  return views;
}

/**
 * Item-by-item reading of one msgpack value, for callers that turn large arrays (a snapshot frame's
 * rows) straight into their own objects instead of materialising the arrays first; decodeStoreMsgpack
 * reads whole values with it. Every failure is a thrown MsgpackDecodeError. One class, no wrapper: the
 * row readers' calls into it are then shallow enough for V8 to inline (measured: ~2% of a load's CPU).
 * Positions are absolute in the underlying ArrayBuffer; `end` is the end of the value's bytes.
 */
export class MsgpackReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly text: Utf8Text;
  private pos: number;
  private readonly end: number;

  constructor(input: Uint8Array) {
    const views = viewsOf(input.buffer);
    this.bytes = views.bytes;
    this.view = views.view;
    this.text = views.text;
    this.pos = input.byteOffset;
    this.end = input.byteOffset + input.byteLength;
  }

  /** Whether the next value is a map (fixmap, map16 or map32). */
  nextIsMap(): boolean {
    const head = this.peek();
    return (head >= 0x80 && head <= 0x8f) || head === 0xde || head === 0xdf;
  }

  /** Whether the next value is an array (fixarray, array16 or array32). */
  nextIsArray(): boolean {
    const head = this.peek();
    return (head >= 0x90 && head <= 0x9f) || head === 0xdc || head === 0xdd;
  }

  /** Consumes a map header and returns its entry count (MsgpackDecodeError when the next value is no map). */
  mapHeader(): number {
    return this.header(0x80, 0xde, 'a map', 2);
  }

  /** Consumes an array header and returns its length (MsgpackDecodeError when the next value is no array). */
  arrayHeader(): number {
    return this.header(0x90, 0xdc, 'an array', 1);
  }

  /** Throws unless every byte has been read. */
  finish(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} extra bytes after the value`);
  }

  private fail(what: string): never {
    throw new MsgpackDecodeError(`${what} at byte ${this.pos} of the frame's buffer`);
  }

  /** Advances over `count` bytes and returns where they start. */
  private take(count: number): number {
    const at = this.pos;
    if (count > this.end - at) this.fail(`insufficient data (${count} bytes needed)`);
    this.pos = at + count;
    return at;
  }

  private u8(): number {
    return this.bytes[this.take(1)] as number;
  }

  /** The next value when it is a string of at most `bytesMax` bytes (consumed), else undefined (nothing consumed). */
  stringOrUndefined(bytesMax: number): string | undefined {
    const head = this.peek();
    let length: number;
    let start: number;
    if (head >= 0xa0 && head <= 0xbf) {
      length = head & 0x1f;
      start = this.pos + 1;
    } else if (head === 0xd9 && this.pos + 2 <= this.end) {
      length = this.bytes[this.pos + 1] as number;
      start = this.pos + 2;
    } else return undefined;
    if (length > bytesMax || length > this.end - start) return undefined; // the general path refuses it
    this.pos = start + length;
    return this.text.utf8Slice(start, start + length);
  }

  /** The next value when it is a number (any format but 64-bit integers; consumed), else undefined. */
  numberOrUndefined(): number | undefined {
    const head = this.peek();
    if (head <= 0x7f) {
      this.pos++;
      return head;
    }
    if (head === 0xcb && this.pos + 9 <= this.end) {
      const value = this.view.getFloat64(this.pos + 1);
      this.pos += 9;
      return value;
    }
    if (head >= 0xe0) {
      this.pos++;
      return head - 0x100;
    }
    let width: number;
    switch (head) {
      case 0xcc: case 0xd0: width = 1; break;
      case 0xcd: case 0xd1: width = 2; break;
      case 0xce: case 0xd2: width = 4; break;
      default: return undefined; // 64-bit integers are bigints: the general path
    }
    if (this.pos + 1 + width > this.end) return undefined;
    const at = this.pos + 1;
    const view = this.view;
    const value = head === 0xcc ? view.getUint8(at) : head === 0xcd ? view.getUint16(at) : head === 0xce ? view.getUint32(at)
      : head === 0xd0 ? view.getInt8(at) : head === 0xd1 ? view.getInt16(at) : view.getInt32(at);
    this.pos = at + width;
    return value;
  }

  private peek(): number {
    if (this.pos >= this.end) this.fail('insufficient data (1 byte needed)');
    return this.bytes[this.pos] as number;
  }

  /** A fix/16/32 container header (`fix` its fixed-size tag, `wide` its 16-bit tag; 32-bit follows). */
  private header(fix: number, wide: number, what: string, bytesPerItem: number): number {
    const head = this.u8();
    const length = head >= fix && head <= fix + 0x0f ? head - fix
      : head === wide ? this.view.getUint16(this.take(2))
      : head === wide + 1 ? this.view.getUint32(this.take(4))
      : this.fail(`expected ${what}, found type 0x${head.toString(16)}`);
    if (length * bytesPerItem > this.end - this.pos) this.fail(`${what} of ${length} items in fewer bytes`);
    return length;
  }

  /** The next whole value. `depth`: how deep it sits (storeDecodeDepthMax bounds its nesting). */
  value(depth: number): unknown {
    const head = this.u8();
    if (head <= 0x7f) return head;
    if (head >= 0xe0) return head - 0x100;
    if (head >= 0xa0 && head <= 0xbf) return this.string(head & 0x1f);
    if (head >= 0x90 && head <= 0x9f) return this.array(head & 0x0f, depth);
    if (head >= 0x80 && head <= 0x8f) return this.map(head & 0x0f, depth);
    return this.tagged(head, depth);
  }

  private tagged(head: number, depth: number): unknown {
    const view = this.view;
    switch (head) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.binary(this.u8());
      case 0xc5: return this.binary(view.getUint16(this.take(2)));
      case 0xc6: return this.binary(view.getUint32(this.take(4)));
      case 0xca: return view.getFloat32(this.take(4));
      case 0xcb: return view.getFloat64(this.take(8));
      case 0xcc: return this.u8();
      case 0xcd: return view.getUint16(this.take(2));
      case 0xce: return view.getUint32(this.take(4));
      case 0xcf: return view.getBigUint64(this.take(8));
      case 0xd0: return view.getInt8(this.take(1));
      case 0xd1: return view.getInt16(this.take(2));
      case 0xd2: return view.getInt32(this.take(4));
      case 0xd3: return view.getBigInt64(this.take(8));
      case 0xd9: return this.string(this.u8());
      case 0xda: return this.string(view.getUint16(this.take(2)));
      case 0xdb: return this.string(view.getUint32(this.take(4)));
      case 0xdc: return this.array(view.getUint16(this.take(2)), depth);
      case 0xdd: return this.array(view.getUint32(this.take(4)), depth);
      case 0xde: return this.map(view.getUint16(this.take(2)), depth);
      case 0xdf: return this.map(view.getUint32(this.take(4)), depth);
      case 0xc9: return this.ext(view.getUint32(this.take(4)), depth);
      default: return this.fail(`unsupported msgpack type 0x${head.toString(16)}`);
    }
  }

  private string(length: number): string {
    const at = this.take(length);
    return length <= cachedStringBytesMax ? this.shortString(at, length) : this.text.utf8Slice(at, at + length);
  }

  /**
   * A short string (map keys, a message's type, node names: the same few again and again) from the
   * cache when its bytes are there, else made and kept: no native call and no new string per key.
   */
  private shortString(at: number, length: number): string {
    const b = this.bytes;
    let hash = length;
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ (b[at + i] as number), 0x01000193);
    const slot = (hash >>> 0) % storeDecodeStringCacheEntries;
    const base = slot * cachedStringBytesMax;
    if (cacheLengths[slot] === length) {
      let i = 0;
      while (i < length && cacheBytes[base + i] === b[at + i]) i++;
      if (i === length) return cacheStrings[slot] as string;
    }
    const text = length === 0 ? '' : this.text.utf8Slice(at, at + length);
    cacheBytes.set(b.subarray(at, at + length), base);
    cacheLengths[slot] = length;
    cacheStrings[slot] = text;
    return text;
  }

  /** An ext32: only keptExtType, a value with its own bytes, which it keeps (msgpack-encode.ts). */
  private ext(length: number, depth: number): unknown {
    const type = this.u8();
    if (type !== keptExtType) this.fail(`unsupported msgpack extension type ${type}`);
    const start = this.pos;
    if (length > this.end - start) this.fail(`extension of ${length} bytes in fewer bytes`);
    const value = this.value(depth + 1);
    if (this.pos !== start + length) this.fail(`extension of ${length} bytes holds ${this.pos - start} bytes of value`);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) this.fail('kept bytes of something other than a map');
    (value as KeepsBytes)[keptBytes] = this.bytes.subarray(start, start + length);
    return value;
  }

  private binary(length: number): Uint8Array {
    const at = this.take(length);
    return this.bytes.subarray(at, at + length);
  }

  private array(length: number, depth: number): unknown[] {
    if (depth >= storeDecodeDepthMax) this.fail(`nesting deeper than ${storeDecodeDepthMax} (storeDecodeDepthMax)`);
    if (length > this.end - this.pos) this.fail(`array of ${length} items in fewer bytes`);
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(size: number, depth: number): Record<string, unknown> {
    if (depth >= storeDecodeDepthMax) this.fail(`nesting deeper than ${storeDecodeDepthMax} (storeDecodeDepthMax)`);
    if (size * 2 > this.end - this.pos) this.fail(`map of ${size} entries in fewer bytes`);
    const out: Record<string, unknown> = {};
    for (let i = 0; i < size; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string' && typeof key !== 'number') this.fail(`map key of type ${typeof key}`);
      if (key === '__proto__') this.fail('map key __proto__');
      out[key] = this.value(depth + 1);
    }
    return out;
  }
}

/** Decodes exactly one msgpack value filling all of `bytes`; throws MsgpackDecodeError otherwise. */
export function decodeStoreMsgpack(bytes: Uint8Array): unknown {
  const reader = new MsgpackReader(bytes);
  const value = reader.value(0);
  reader.finish();
  return value;
}
