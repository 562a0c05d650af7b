/**
 * Framing and the msgpack codec of the TCP transport: the only place where transport bytes become
 * values and values become bytes.
 *
 * A frame is `[u32 big-endian payload length][payload]`, the payload one msgpack value (protocol.ts
 * says which). Values are encoded with int64 as bigint (`useBigInt64`), so a bigint crosses the wire
 * as itself; safe integers above 2^32 travel as float64 and come back as the same number. Object keys
 * whose value is `undefined` are left out, so they read back as absent (msgpack has no undefined;
 * inside arrays an `undefined` reads back as null).
 *
 * After the handshake of a connection without TLS, frames come in runs, each closed by a tag record:
 * a zero length, then the tag (`tagBytes`, frame-mac.ts).
 *
 * Invariants:
 * - FrameReader never holds more than one frame's worth of bytes plus one read chunk: a length above
 *   its bound is reported at once, before the payload is buffered.
 * - Every frame handed out is a fresh copy, so values decoded from it (a Uint8Array is a view into its
 *   frame) never pin a large socket read buffer, and nothing is shared between frames.
 * - Nothing here throws on bad input: decoding returns `{ ok: false, reason }`.
 */
import { decodeStoreMsgpack } from '../../store/msgpack-decode.js';
import { assert } from '../../runtime/assert.js';
import { MsgpackEncoder } from '../../store/msgpack-encode.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;
/** Up to this many bytes a copy out of a chunk is a loop, not a subarray and a set. */
const frameCopyLoopBytesMax = 256;

/** `tooLarge`: encodable, but past the bound it was encoded for (the rest are other failures). */
export type FrameResult = { readonly ok: true; readonly payload: Uint8Array } | { readonly ok: false; readonly reason: string; readonly tooLarge?: true };

/** A frame read: `frame` is a fresh copy of it, length prefix included, and `payload` the rest of that copy. */
export interface FrameRead {
  readonly ok: true;
  readonly frame: Uint8Array;
  readonly payload: Uint8Array;
}
/** A tag record read (a zero length, then the tag: frame-mac.ts); only when the reader expects them. */
export interface TagRead {
  readonly ok: true;
  readonly tag: Uint8Array;
}
export interface ReadFailure {
  readonly ok: false;
  readonly reason: string;
}

/**
 * Reassembles frames from a byte stream that arrives in arbitrary chunks. The bound, and whether a
 * zero length is a tag record, can change between frames (a connection accepts only small, untagged
 * frames until its peer has authenticated): `add` a chunk, then take its frames one by one with `next`,
 * so that a change made after one frame applies to the very next, even within one chunk.
 */
export class FrameReader {
  private chunks: Uint8Array[] = [];
  /** Bytes held in `chunks` not yet consumed; the first chunk is consumed from `offset`. */
  private held = 0;
  private offset = 0;
  private failed = false;
  /** From now on a zero length introduces a tag of this many bytes (0: a zero length is bad input). */
  tagBytes = 0;

  constructor(public frameBytesMax: number) {}

  /** Bytes received but not yet returned as a frame. */
  get bufferedBytes(): number {
    return this.held;
  }

  /**
   * Adds a chunk and returns the frames it completes, in order, for a stream without tag records. After a
   * result with `ok: false` the stream is unusable (frame boundaries are lost) and every later call
   * returns nothing.
   */
  push(chunk: Uint8Array): (FrameRead | ReadFailure)[] {
    assert(this.tagBytes === 0, 'FrameReader.push: a stream with tag records is read with next');
    this.add(chunk);
    const out: (FrameRead | ReadFailure)[] = [];
    for (let result = this.next(); result !== undefined; result = this.next()) out.push(result as FrameRead | ReadFailure);
    return out;
  }

  /** Holds a chunk for `next`. */
  add(chunk: Uint8Array): void {
    if (this.failed || chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.held += chunk.byteLength;
  }

  /** The next complete frame or tag record, or undefined until more bytes come (or for ever, after a failure). */
  next(): FrameRead | TagRead | ReadFailure | undefined {
    if (this.failed || this.held < FRAME_HEADER_BYTES) return undefined;
    const length = this.peekLength();
    if ((length === 0 && this.tagBytes === 0) || length > this.frameBytesMax) {
      this.failed = true;
      this.chunks = [];
      this.held = 0;
      return { ok: false, reason: length === 0 ? 'empty frame (length 0)' : `frame of ${length} bytes exceeds the bound of ${this.frameBytesMax} bytes` };
    }
    if (length === 0) {
      if (this.held < FRAME_HEADER_BYTES + this.tagBytes) return undefined;
      this.skip(FRAME_HEADER_BYTES);
      return { ok: true, tag: this.take(this.tagBytes) };
    }
    if (this.held < FRAME_HEADER_BYTES + length) return undefined;
    const frame = this.take(FRAME_HEADER_BYTES + length);
    return { ok: true, frame, payload: frame.subarray(FRAME_HEADER_BYTES) };
  }

  /** What is wrong with the stream if it ends now: undefined at a frame boundary. */
  endReason(): string | undefined {
    if (this.failed || this.held === 0) return undefined;
    if (this.held < FRAME_HEADER_BYTES) return `truncated frame: the connection ended inside a length prefix (${this.held} of ${FRAME_HEADER_BYTES} bytes)`;
    const length = this.peekLength();
    if (length === 0) return `truncated tag record: the connection ended ${this.held - FRAME_HEADER_BYTES} bytes into its ${this.tagBytes}-byte tag`;
    return `truncated frame: the connection ended ${this.held - FRAME_HEADER_BYTES} bytes into a frame of ${length} bytes`;
  }

  /** The next frame's length prefix (big-endian u32), read where it lies, across chunks if it must. */
  private peekLength(): number {
    const first = this.chunks[0]!;
    const at = this.offset;
    if (at + FRAME_HEADER_BYTES <= first.byteLength) {
      return ((first[at]! << 24) | (first[at + 1]! << 16) | (first[at + 2]! << 8) | first[at + 3]!) >>> 0;
    }
    let length = 0;
    for (let i = 0, index = 0, offset = at; i < FRAME_HEADER_BYTES; i++, offset++) {
      while (offset >= this.chunks[index]!.byteLength) {
        offset -= this.chunks[index]!.byteLength;
        index++;
      }
      length = length * 256 + this.chunks[index]![offset]!;
    }
    return length;
  }

  private skip(count: number): void {
    this.copyOut(undefined, count, true);
  }

  private take(count: number): Uint8Array {
    const payload = new Uint8Array(count);
    this.copyOut(payload, count, true);
    return payload;
  }

  /** Copies the next `count` held bytes into `into` (if given); `consume` drops them afterwards. */
  private copyOut(into: Uint8Array | undefined, count: number, consume: boolean): void {
    let copied = 0;
    let index = 0;
    let offset = this.offset;
    while (copied < count) {
      const chunk = this.chunks[index]!;
      const n = Math.min(count - copied, chunk.byteLength - offset);
      // A few bytes are copied by hand: a subarray per copy costs more than the loop (allocation).
      if (into !== undefined && n <= frameCopyLoopBytesMax) for (let i = 0; i < n; i++) into[copied + i] = chunk[offset + i]!;
      else into?.set(chunk.subarray(offset, offset + n), copied);
      copied += n;
      offset += n;
      if (offset === chunk.byteLength) {
        index++;
        offset = 0;
      }
    }
    if (!consume) return;
    this.chunks.splice(0, index);
    this.offset = offset;
    this.held -= count;
  }
}

/** Encodes values into frames and decodes payloads back. One per network; not shared across threads. */
export class FrameCodec {
  // Bytes as @msgpack/msgpack writes them (with ignoreUndefined), a bigint outside 64 bits refused
  // rather than wrapped; the frame's length prefix is left free and filled in here (one copy per frame).
  private readonly encoder = new MsgpackEncoder({ ignoreUndefined: true, headerBytes: FRAME_HEADER_BYTES });

  // Payloads are at most frameBytesMax (FrameReader), and the decoder refuses any length that claims
  // more than the bytes left, so a forged length cannot make it allocate beyond the frame.
  constructor(readonly frameBytesMax: number) {}

  /** The frame (length prefix included) for `value`, or why it cannot be encoded. */
  encode(value: unknown, frameBytesMax: number): FrameResult {
    return this.framed(value, frameBytesMax, false);
  }

  /**
   * encode, the frame a view of this codec's buffer, valid only until its next encode: for a caller that
   * hands it at once to Connection.send, which copies it (no allocation per frame).
   */
  encodeTransient(value: unknown, frameBytesMax: number): FrameResult {
    return this.framed(value, frameBytesMax, true);
  }

  private framed(value: unknown, frameBytesMax: number, transient: boolean): FrameResult {
    let frame: Uint8Array;
    try {
      frame = transient ? this.encoder.encodeTransient(value) : this.encoder.encode(value);
    } catch (error) {
      return { ok: false, reason: `not encodable as msgpack: ${(error as Error).message}` };
    }
    const length = frame.byteLength - FRAME_HEADER_BYTES;
    if (length > frameBytesMax) return { ok: false, reason: `message of ${length} bytes exceeds frameBytesMax (${frameBytesMax})`, tooLarge: true };
    frame[0] = length >>> 24;
    frame[1] = (length >>> 16) & 0xff;
    frame[2] = (length >>> 8) & 0xff;
    frame[3] = length & 0xff;
    return { ok: true, payload: frame };
  }

  /**
   * The value in one frame's payload, as `unknown`: a guard (protocol.ts) decides what it is. The
   * store's decoder: the values @msgpack/msgpack's would give, faster (short strings made once), and
   * refusing extension types and a `__proto__` key.
   */
  decode(payload: Uint8Array): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string } {
    try {
      return { ok: true, value: decodeStoreMsgpack(payload) };
    } catch (error) {
      return { ok: false, reason: `undecodable msgpack: ${(error as Error).message}` };
    }
  }

}
