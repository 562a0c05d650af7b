/**
 * Assembling snapshot-image frames under size bounds: rows and window keys are encoded one at a time
 * and gathered into frames of at most `rowsMax` items and at most `bytesMax` payload bytes.
 *
 * Invariants: every frame returned is `[u32 length][u32 crc32][msgpack payload]`, exactly sized (no
 * slack the consumer would keep alive); a payload exceeds `bytesMax` only when it holds one single item
 * that is larger on its own (or a header that cannot be split); items keep their order. Sizes are
 * budgeted with the widest msgpack array header (5 bytes), so the bound holds whatever the count.
 */
import { Encoder } from '@msgpack/msgpack';
import { assert } from '../runtime/assert.js';
import { crc32Range, encodeMsgpack, frameHeaderBytes } from './codec.js';
import { writeAscii, writeInt32, writeStrHeader } from './msgpack-encode.js';

/** Bounds of one frame's payload. */
export interface FrameBounds {
  /** Rows (or window keys) in one frame. */
  readonly itemsMax: number;
  /** Payload bytes in one frame, unless one item alone is larger. */
  readonly bytesMax: number;
}

/** Widest msgpack array header (array32). */
const arrayHeaderBytesMax = 5;
/** Widest window entry header: fixarray(2), a version (float64 or uint64: 9 bytes), array32 header. */
const entryHeaderBytesMax = 1 + 9 + arrayHeaderBytesMax;

// Items are encoded into this encoder's shared buffer and copied out at once (no allocation per row).
const itemEncoder = new Encoder({ useBigInt64: true, ignoreUndefined: false });

const utf8 = new TextEncoder();

/**
 * A growable byte buffer that items are written or copied into. The usual values (strings, integers of
 * up to 32 bits, booleans, null, arrays of them) are written directly, byte for byte as the msgpack
 * encoder writes them (the image and the content hash must not depend on which path wrote a value);
 * anything else goes through the encoder. Measured on a 150k-row image: ~40% less CPU, most of it
 * the arrays and the encoder's per-value dispatch that the direct path does not make.
 */
class Scratch {
  bytes = new Uint8Array(64 * 1024);
  used = 0;

  append(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.used);
    this.used += data.length;
  }

  /**
   * Appends `source[start, end)`. A row or a window key is a few dozen bytes: copied byte by byte rather
   * than through a view of each (a view per row and per key was a fifth of what an image allocated).
   */
  appendRange(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    if (count > 64) this.bytes.set(source.subarray(start, end), this.used);
    else for (let i = 0, b = this.bytes, at = this.used; i < count; i++) b[at + i] = source[start + i]!;
    this.used += count;
  }

  reserve(count: number): void {
    if (this.used + count <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + count));
    grown.set(this.bytes.subarray(0, this.used));
    this.bytes = grown;
  }

  byte(value: number): void {
    this.reserve(1);
    this.bytes[this.used++] = value;
  }

  arrayHeader(count: number): void {
    this.reserve(5);
    const b = this.bytes;
    if (count < 16) b[this.used++] = 0x90 | count;
    else if (count < 0x10000) (b[this.used++] = 0xdc), (b[this.used++] = count >>> 8), (b[this.used++] = count & 0xff);
    else (b[this.used++] = 0xdd), (b[this.used++] = count >>> 24), (b[this.used++] = (count >>> 16) & 0xff), (b[this.used++] = (count >>> 8) & 0xff), (b[this.used++] = count & 0xff);
  }

  value(value: unknown): void {
    if (typeof value === 'string') this.string(value);
    else if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff && !Object.is(value, -0)) this.int(value);
    else if (value === null) this.byte(0xc0);
    else if (value === true || value === false) this.byte(value ? 0xc3 : 0xc2);
    else this.append(itemEncoder.encodeSharedRef(value));
  }

  private int(value: number): void {
    this.reserve(5);
    this.used = writeInt32(this.bytes, this.used, value);
  }

  /** A str of the shortest header for its UTF-8 length, as the encoder writes it. */
  private string(value: string): void {
    const length = value.length;
    this.reserve(5 + 3 * length);
    const guess = strHeaderBytes(length); // exact when the string is ASCII
    // ASCII (nearly every table name and key): its UTF-8 bytes are its code units, written in one pass
    // without a view of the buffer for encodeInto (one per string was most of what a window image allocated).
    const b = this.bytes;
    if (writeAscii(b, this.used + guess, value) === length) {
      this.used = writeStrHeader(b, this.used, length) + length;
      return;
    }
    const { written } = utf8.encodeInto(value, this.bytes.subarray(this.used + guess));
    const header = strHeaderBytes(written);
    if (header !== guess) this.bytes.copyWithin(this.used + header, this.used + guess, this.used + guess + written);
    this.used = writeStrHeader(this.bytes, this.used, written) + written;
  }
}

function strHeaderBytes(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

function arrayHeader(count: number): number[] {
  if (count < 16) return [0x90 | count];
  if (count < 0x10000) return [0xdc, count >>> 8, count & 0xff];
  return [0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff];
}

/** A frame from payload parts (copied once into the exact-sized frame), with its length and CRC. */
function frameOf(parts: readonly (Uint8Array | number[])[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(frameHeaderBytes + length);
  let at = frameHeaderBytes;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  const view = new DataView(out.buffer);
  view.setUint32(0, length, true);
  view.setUint32(4, crc32Range(out, frameHeaderBytes, out.length), true);
  return out;
}

/**
 * Frames `{ type: 'rows', table, rows: [...] }` out of `rows` (each written as the array of its values
 * named `fieldNames`, in that order), in order, each within `bounds`.
 */
export function* rowFrames<T>(tableName: string, rows: Iterable<T>, fieldNames: readonly string[], bounds: FrameBounds): Generator<Uint8Array> {
  // Map keys in the order the object literal had them: type, table, rows.
  const prefix = concat([Uint8Array.of(0x83), encodeMsgpack('type'), encodeMsgpack('rows'), encodeMsgpack('table'), encodeMsgpack(tableName), encodeMsgpack('rows')]);
  const scratch = new Scratch();
  let count = 0;
  const flush = (): Uint8Array => {
    const out = frameOf([prefix, arrayHeader(count), scratch.bytes.subarray(0, scratch.used)]);
    scratch.used = 0;
    count = 0;
    return out;
  };
  const item = new Scratch();
  for (const row of rows) {
    item.used = 0;
    item.arrayHeader(fieldNames.length);
    for (const name of fieldNames) item.value((row as Record<string, unknown>)[name]);
    if (count > 0 && prefix.length + arrayHeaderBytesMax + scratch.used + item.used > bounds.bytesMax) yield flush();
    scratch.appendRange(item.bytes, 0, item.used);
    count++;
    if (count >= bounds.itemsMax) yield flush();
  }
  if (count > 0) yield flush();
}

/** One version's written keys, as the image stores them: `[table name, key values]` each. */
export interface WindowItem {
  readonly version: number;
  readonly keys: readonly (readonly [string, readonly unknown[]])[];
}

/**
 * Frames `{ type: 'window', entries: [[version, [[table, key], ...]], ...] }`, each within `bounds`.
 * An entry too large for one frame is split over several, as consecutive entries of the same version
 * (the loader joins them back).
 */
export function* windowFrames(entries: Iterable<WindowItem>, bounds: FrameBounds): Generator<Uint8Array> {
  const prefix = concat([Uint8Array.of(0x82), encodeMsgpack('type'), encodeMsgpack('window'), encodeMsgpack('entries')]);
  const scratch = new Scratch();
  /** Closed and open entries of the frame being built: version, key bytes range, key count. */
  let pieces: { version: number; start: number; end: number; count: number }[] = [];
  let keys = 0;
  const budget = (): number => prefix.length + arrayHeaderBytesMax + pieces.length * entryHeaderBytesMax + scratch.used;
  const payload = new Scratch();
  const flush = (): Uint8Array => {
    payload.used = 0;
    payload.append(prefix);
    payload.arrayHeader(pieces.length);
    for (const piece of pieces) {
      payload.byte(0x92);
      payload.value(piece.version);
      payload.arrayHeader(piece.count);
      payload.appendRange(scratch.bytes, piece.start, piece.end);
    }
    const out = frameOf([payload.bytes.subarray(0, payload.used)]);
    scratch.used = 0;
    pieces = [];
    keys = 0;
    return out;
  };
  const item = new Scratch();
  for (const entry of entries) {
    const version = entry.version;
    let piece = { version, start: scratch.used, end: scratch.used, count: 0 };
    if (pieces.length > 0 && budget() + entryHeaderBytesMax > bounds.bytesMax) yield flush();
    pieces.push(piece);
    piece.start = piece.end = scratch.used;
    // Indexed, not destructured: a pattern [table, values] steps an iterator over each key (an object per step).
    const entryKeys = entry.keys;
    for (let k = 0; k < entryKeys.length; k++) {
      const key = entryKeys[k]!;
      const values = key[1];
      item.used = 0;
      item.arrayHeader(2);
      item.value(key[0]);
      item.arrayHeader(values.length);
      for (let v = 0; v < values.length; v++) item.value(values[v]);
      const full = keys >= bounds.itemsMax || budget() + item.used > bounds.bytesMax;
      if (full && keys > 0) {
        // Close this piece (possibly empty of keys only when earlier entries filled the frame) and go on
        // with the same version in the next frame.
        if (piece.count === 0) pieces.pop();
        yield flush();
        piece = { version, start: 0, end: 0, count: 0 };
        pieces.push(piece);
      }
      scratch.appendRange(item.bytes, 0, item.used);
      piece.end = scratch.used;
      piece.count++;
      keys++;
    }
    if (keys >= bounds.itemsMax) yield flush();
  }
  if (pieces.length > 0) yield flush();
}

/** A frame around one encoded payload (header and end frames). */
export function frameOfPayload(payload: Uint8Array): Uint8Array {
  return frameOf([payload]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  assert(at === out.length, 'concat');
  return out;
}
