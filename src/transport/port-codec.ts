/**
 * The bytes of one PortLink batch: plain data (the shapes actor messages have) written by one end of a
 * link and read by the other, instead of structured clone.
 *
 * Why: a commit crosses ~11 thread boundaries on the thread host (three nodes, five actors each), and
 * structured clone costs ~2-3 µs per small message there, plus a separate ArrayBuffer for every byte
 * array (a change-set), which the garbage collector then tracks one by one. Here a batch is one
 * transferred buffer; its byte arrays are views into it (copies when the batch is large, so that a small
 * view never pins a large buffer); strings the receiver has seen before travel as numbers.
 *
 * Exactness: a batch is encoded only when reading it back gives what structured clone would give: plain
 * objects (prototype Object.prototype or null), arrays, well-formed strings, numbers (-0 and NaN
 * included), booleans, null, undefined, bigints, and Uint8Arrays over an ArrayBuffer. Anything else
 * (a Map, a Date, a class instance, another typed array, shared memory, a function, a key `__proto__`,
 * nesting past portCodecDepthMax, which a cycle reaches) makes `encode` return undefined, and the link
 * sends that batch by structured clone, errors included. Known differences, none of which actor messages
 * rely on: array holes read back as undefined, extra properties on arrays are dropped, and one object
 * referenced twice reads back as two equal objects.
 *
 * Echoes: byte arrays the main thread sends (up to portCodecEchoBytesMax bytes) are numbered; the number
 * travels with their bytes through every worker that passes them on, and when the bytes come back to the
 * main thread unchanged it gets the very array it sent, as the inline host hands messages by reference.
 * That keeps what hangs on the array: a change-set's decoded form, which the three nodes of one process
 * then do not decode again. The main thread keeps the last portCodecEchoEntriesMax such arrays; an older
 * one, or a changed one, comes back as a copy, as before.
 *
 * The string table: each end of a link keeps the same list of strings (object keys, and values of at most
 * portCodecStringCharsMax characters), at most portCodecStringsMax of them; a string first travels in full
 * and is appended at both ends, later only its number. Both ends append in batch order, which holds
 * because a port is FIFO and a refused batch adds nothing.
 */
import { AssertionError, assert } from '../runtime/assert.js';
import {
  portCodecBatchBytesMax, portCodecBufferBytesKept, portCodecDepthMax, portCodecEchoBytesMax, portCodecEchoEntriesMax, portCodecSharedBytesMax, portCodecStringCharsMax, portCodecStringsMax,
} from '../limits.js';

// Tags. 0x00-0x7f: the integers 0-127 themselves.
const SMALL_INT_MAX = 0x7f;
const UNDEFINED = 0x80;
const NULL = 0x81;
const FALSE = 0x82;
const TRUE = 0x83;
const INT32 = 0x84; // 4 bytes, little-endian
const FLOAT64 = 0x85; // 8 bytes, little-endian
const BIGINT = 0x86; // then its decimal digits as a string
const STRING = 0x87; // varint byte length, UTF-8
const STRING_NEW = 0x88; // as STRING, and appended to the string table
const STRING_REF = 0x89; // varint index into the string table
const ARRAY = 0x8a; // varint length, then the items
const OBJECT = 0x8b; // (key, value) pairs, keys as strings, until END
const BYTES = 0x8c; // varint length, raw bytes
const END = 0x8d;
const BYTES_ECHO = 0x8e; // varint echo number, then as BYTES

/** The echo number a byte array carries through a worker (set on arrays decoded there). */
const echoNumber: unique symbol = Symbol('chorusdb.portEcho');
type Echoing = Uint8Array & { [echoNumber]?: number };

/**
 * The byte arrays one thread (the main thread) sent lately, by echo number: a ring of the last
 * portCodecEchoEntriesMax. Shared by every link of that thread, since an array often comes back on
 * another link than it left on (from each node's committer).
 */
/** Echo numbers wrap here (a multiple of the ring's size, and small enough for a 32-bit varint). */
const echoNumbersMax = 2 ** 30;

export class EchoRegistry {
  private readonly arrays: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(portCodecEchoEntriesMax);
  private next = 0;

  /** The array's echo number, numbering it now if it has none (undefined: it cannot take one). */
  numberOf(array: Echoing): number | undefined {
    let number = array[echoNumber];
    if (number === undefined) {
      if (!Object.isExtensible(array)) return undefined;
      number = this.next;
      this.next = (this.next + 1) % echoNumbersMax;
      array[echoNumber] = number;
      this.arrays[number % portCodecEchoEntriesMax] = array;
    }
    return number;
  }

  /** The array numbered `number` if it is still kept and holds exactly `bytes[start, end)`. */
  find(number: number, bytes: Buffer, start: number, end: number): Uint8Array | undefined {
    const array = this.arrays[number % portCodecEchoEntriesMax];
    if (array === undefined || (array as Echoing)[echoNumber] !== number || array.length !== end - start) return undefined;
    return bytes.compare(array, 0, array.length, start, end) === 0 ? array : undefined;
  }
}

/** Thrown inside an encode that meets a value it cannot write exactly; caught by `encode`. */
const refusal = new Error('port codec: not plain data');

type WellFormed = string & { isWellFormed(): boolean };
/** Node's native UTF-8 reader behind Buffer#toString, without its argument checks (used where present). */
interface Utf8Slice {
  utf8Slice(start: number, end: number): string;
}
const textEncoder = new TextEncoder();

export class PortEncoder {
  private bytes = new Uint8Array(portCodecBufferBytesKept);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;
  private readonly strings = new Map<string, number>();
  /** Strings this encode appended to the table: taken out again if it is refused. */
  private readonly added: string[] = [];

  /** `echoes`: on the main thread, where the byte arrays it sends are numbered (see the file comment). */
  constructor(private readonly echoes?: EchoRegistry) {}

  /** The items' bytes in a fresh buffer (for transfer), or undefined: send these by structured clone. */
  encode(items: readonly unknown[]): Uint8Array | undefined {
    this.pos = 0;
    let out: Uint8Array | undefined;
    try {
      this.value(items, 0);
      out = this.bytes.slice(0, this.pos);
    } catch (error) {
      // Refused or failed, the batch never reaches the receiver: the strings it added leave the table
      // (the last ones added, so the numbers of later ones stay in step with the receiver's).
      for (const string of this.added) this.strings.delete(string);
      if (error !== refusal) throw error;
    } finally {
      this.added.length = 0;
      if (this.bytes.length > portCodecBufferBytesKept) this.resize(portCodecBufferBytesKept);
    }
    return out;
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        return this.string(value, value.length <= portCodecStringCharsMax);
      case 'number':
        return this.number(value);
      case 'boolean':
        return this.byte(value ? TRUE : FALSE);
      case 'undefined':
        return this.byte(UNDEFINED);
      case 'bigint':
        this.byte(BIGINT);
        return this.string(value.toString(), false);
      case 'object':
        if (value === null) return this.byte(NULL);
        if (depth >= portCodecDepthMax) throw refusal;
        if (Array.isArray(value)) return this.array(value, depth + 1);
        if (value instanceof Uint8Array) return this.binary(value);
        return this.object(value, depth + 1);
      default:
        throw refusal; // functions and symbols: structured clone throws, and should
    }
  }

  private array(items: readonly unknown[], depth: number): void {
    this.byte(ARRAY);
    this.varint(items.length);
    for (let i = 0; i < items.length; i++) this.value(items[i], depth);
  }

  private object(value: object, depth: number): void {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw refusal;
    this.byte(OBJECT);
    const record = value as Record<string, unknown>;
    // for-in over a plain object yields its own enumerable string keys, in the order structured clone uses.
    for (const key in record) {
      if (key === '__proto__') throw refusal;
      this.string(key, true);
      this.value(record[key], depth);
    }
    this.byte(END);
  }

  private binary(value: Echoing): void {
    if (!(value.buffer instanceof ArrayBuffer)) throw refusal; // shared memory stays shared: structured clone
    const echo = value[echoNumber] ?? (this.echoes !== undefined && value.length <= portCodecEchoBytesMax ? this.echoes.numberOf(value) : undefined);
    if (echo !== undefined) {
      this.byte(BYTES_ECHO);
      this.varint(echo);
    }
    this.byte(BYTES);
    this.varint(value.length);
    this.reserve(value.length);
    this.bytes.set(value, this.pos);
    this.pos += value.length;
  }

  private number(value: number): void {
    if ((value | 0) === value && !Object.is(value, -0)) {
      if (value >= 0 && value <= SMALL_INT_MAX) return this.byte(value);
      this.reserve(5);
      this.bytes[this.pos] = INT32;
      this.view.setInt32(this.pos + 1, value, true);
      this.pos += 5;
      return;
    }
    this.reserve(9);
    this.bytes[this.pos] = FLOAT64;
    this.view.setFloat64(this.pos + 1, value, true);
    this.pos += 9;
  }

  private string(value: string, tabled: boolean): void {
    if (tabled) {
      const index = this.strings.get(value);
      if (index !== undefined) {
        this.byte(STRING_REF);
        return this.varint(index);
      }
      if (this.strings.size >= portCodecStringsMax) tabled = false;
    }
    const start = this.pos;
    this.byte(tabled ? STRING_NEW : STRING);
    if (!this.ascii(value)) {
      if (!(value as WellFormed).isWellFormed()) throw refusal; // a lone surrogate would not survive UTF-8
      this.pos = start + 1;
      const length = Buffer.byteLength(value, 'utf8');
      this.varint(length);
      this.reserve(length);
      textEncoder.encodeInto(value, this.bytes.subarray(this.pos, this.pos + length));
      this.pos += length;
    }
    if (tabled) {
      this.strings.set(value, this.strings.size);
      this.added.push(value);
    }
  }

  /** Writes an all-ASCII string's length and bytes; false (position undefined) when it is not all ASCII. */
  private ascii(value: string): boolean {
    const length = value.length;
    this.varint(length);
    this.reserve(length);
    const b = this.bytes;
    const at = this.pos;
    for (let i = 0; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) return false;
      b[at + i] = unit;
    }
    this.pos = at + length;
    return true;
  }

  private varint(value: number): void {
    this.reserve(5);
    while (value > 0x7f) {
      this.bytes[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.bytes[this.pos++] = value;
  }

  private byte(value: number): void {
    this.reserve(1);
    this.bytes[this.pos++] = value;
  }

  private reserve(count: number): void {
    if (this.pos + count <= this.bytes.length) return;
    // A batch past the bound (a state image with all its frames) goes by structured clone, frame by frame
    // as it always did, instead of being copied whole into one buffer that doubles as it grows.
    if (this.pos + count > portCodecBatchBytesMax) throw refusal;
    this.resize(Math.min(portCodecBatchBytesMax, Math.max(this.bytes.length * 2, this.pos + count)));
  }

  private resize(length: number): void {
    const next = new Uint8Array(length);
    if (this.pos <= length) next.set(this.bytes.subarray(0, this.pos));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
}

export class PortDecoder {
  private readonly strings: string[] = [];
  private bytes: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.bytes.buffer);
  private text: (Buffer & Partial<Utf8Slice>) | undefined;
  private pos = 0;
  private shared = true;

  /** `echoes`: on the main thread, the registry its encoders number byte arrays in (see the file comment). */
  constructor(private readonly echoes?: EchoRegistry) {}

  /** The items of a batch that the other end's PortEncoder wrote (trusted: same process, same code). */
  decode(bytes: Uint8Array): unknown[] {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.text = undefined;
    this.pos = 0;
    this.shared = bytes.byteLength <= portCodecSharedBytesMax;
    const items = this.value();
    assert(Array.isArray(items) && this.pos === bytes.length, 'port codec: a batch is one array filling its bytes');
    this.bytes = new Uint8Array(0); // hold no batch between calls
    return items;
  }

  private value(): unknown {
    const tag = this.bytes[this.pos++]!;
    if (tag <= SMALL_INT_MAX) return tag;
    switch (tag) {
      case UNDEFINED:
        return undefined;
      case NULL:
        return null;
      case FALSE:
        return false;
      case TRUE:
        return true;
      case INT32:
        this.pos += 4;
        return this.view.getInt32(this.pos - 4, true);
      case FLOAT64:
        this.pos += 8;
        return this.view.getFloat64(this.pos - 8, true);
      case BIGINT:
        return BigInt(this.value() as string);
      case STRING:
      case STRING_NEW:
      case STRING_REF:
        return this.string(tag);
      case ARRAY: {
        const length = this.varint();
        const items = new Array<unknown>(length);
        for (let i = 0; i < length; i++) items[i] = this.value();
        return items;
      }
      case OBJECT: {
        const out: Record<string, unknown> = {};
        while (this.bytes[this.pos] !== END) out[this.string(this.bytes[this.pos++]!)] = this.value();
        this.pos++;
        return out;
      }
      case BYTES:
        return this.binary();
      case BYTES_ECHO: {
        const number = this.varint();
        assert(this.bytes[this.pos++] === BYTES, 'port codec: an echo number is followed by bytes');
        const length = this.varint();
        const sent = this.echoes?.find(number, this.buffer(), this.pos, this.pos + length);
        if (sent !== undefined) {
          this.pos += length;
          return sent;
        }
        const copy: Echoing = this.binary(length);
        copy[echoNumber] = number; // carried on, should this thread pass it on
        return copy;
      }
      default:
        throw new AssertionError(`port codec: unknown tag ${tag} at ${this.pos - 1}`);
    }
  }

  private binary(length = this.varint()): Uint8Array {
    const start = this.pos;
    this.pos += length;
    return this.shared ? this.bytes.subarray(start, this.pos) : this.bytes.slice(start, this.pos);
  }

  private string(tag: number): string {
    if (tag === STRING_REF) return this.strings[this.varint()]!;
    assert(tag === STRING || tag === STRING_NEW, `port codec: a string expected at ${this.pos - 1}, got tag ${tag}`);
    const length = this.varint();
    const start = this.pos;
    this.pos += length;
    let value = '';
    if (length <= portCodecStringCharsMax) {
      for (let i = start; i < this.pos; i++) {
        const unit = this.bytes[i]!;
        if (unit >= 0x80) {
          value = this.utf8(start, this.pos);
          break;
        }
        value += String.fromCharCode(unit);
      }
    } else value = this.utf8(start, this.pos);
    if (tag === STRING_NEW) this.strings.push(value);
    return value;
  }

  /** The batch as a Buffer (made once per batch, when needed). */
  private buffer(): Buffer & Partial<Utf8Slice> {
    this.text ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return this.text;
  }

  private utf8(start: number, end: number): string {
    const text = this.buffer();
    return text.utf8Slice !== undefined ? text.utf8Slice(start, end) : text.toString('utf8', start, end);
  }

  private varint(): number {
    let byte = this.bytes[this.pos++]!;
    if (byte < 0x80) return byte;
    let value = byte & 0x7f;
    let scale = 0x80;
    for (;;) {
      byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}
