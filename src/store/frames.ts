/**
 * Reading frames `[u32 length][u32 crc32][payload]` out of a byte stream that arrives in chunks of any
 * size (disk reads, network messages). Pure: bytes in, frames or a verdict out.
 *
 * Invariants: `offset` is the stream position of the next unread frame; a frame is returned only whole
 * and with a matching CRC; the reader holds at most one partial frame plus the last chunk pushed.
 *
 * A frame that straddles two chunks is gathered into a buffer of exactly its size, which then fills
 * from the chunks that follow: each byte is copied once, whatever the frame's size. (Joining the
 * leftover with the whole next chunk copied every 1 MiB disk read once more per image load, and a frame
 * larger than a chunk again with every chunk: quadratic in its size.)
 */
import { frameBytesMax } from '../limits.js';
import { crc32Range, frameHeaderBytes } from './codec.js';

export type FrameResult =
  | { readonly kind: 'frame'; readonly payload: Uint8Array; readonly offset: number }
  | { readonly kind: 'more' }
  /** A frame that cannot be right: its length is impossible, or its CRC does not match. */
  | { readonly kind: 'bad'; readonly offset: number; readonly length: number; readonly reason: string };

const more: FrameResult = { kind: 'more' };

export class FrameReader {
  /** The chunk being read, from `start`. */
  private buffer: Uint8Array = new Uint8Array(0);
  private start = 0;
  /** A frame that straddles chunks, exactly its size, filled up to `partialBytes`. */
  private partial: Uint8Array | undefined;
  private partialBytes = 0;
  private position = 0;

  /** Stream offset of the next frame not yet returned. */
  get offset(): number {
    return this.position;
  }

  /** Bytes pushed but not yet returned in a frame. */
  get buffered(): number {
    return this.partialBytes + this.buffer.length - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.partial !== undefined && this.partialBytes < this.partial.length) {
      // Everything pushed since the partial frame began went into it: the buffer is empty.
      this.resume(chunk.subarray(this.fillPartial(chunk)));
      return;
    }
    const length = this.start < this.buffer.length && this.partial === undefined ? this.straddlingLength() : undefined;
    if (length !== undefined) {
      this.partial = new Uint8Array(frameHeaderBytes + length);
      this.partial.set(this.buffer.subarray(this.start));
      this.partialBytes = this.buffer.length - this.start;
      this.resume(chunk.subarray(this.fillPartial(chunk)));
    } else if (this.start < this.buffer.length) {
      // Frames not read yet, a header cut in two, or an impossible length (next() reports it): join
      // (rare: readers drain each chunk, and a cut falls in a header 8 times in 64 Ki).
      const joined = new Uint8Array(this.buffer.length - this.start + chunk.length);
      joined.set(this.buffer.subarray(this.start));
      joined.set(chunk, this.buffer.length - this.start);
      this.resume(joined);
    } else this.resume(chunk);
  }

  next(): FrameResult {
    if (this.partial !== undefined) return this.partialBytes < this.partial.length ? more : this.frameAt(this.partial, 0, true);
    if (this.buffer.length - this.start < frameHeaderBytes) return more;
    return this.frameAt(this.buffer, this.start, false);
  }

  /** The bytes after the last whole frame (the tail), for inspection. */
  rest(): Uint8Array {
    if (this.partial === undefined) return this.buffer.subarray(this.start);
    const out = new Uint8Array(this.buffered);
    out.set(this.partial.subarray(0, this.partialBytes));
    out.set(this.buffer.subarray(this.start), this.partialBytes);
    return out;
  }

  /** The frame at `at` in `bytes` (the gathered partial frame when `gathered`), checked. */
  private frameAt(bytes: Uint8Array, at: number, gathered: boolean): FrameResult {
    // Read the header bytes directly: a DataView per frame was measurable when replaying 1M records.
    const length = readUint32LE(bytes, at);
    const expected = readUint32LE(bytes, at + 4);
    if (length === 0 || length > frameBytesMax) {
      return { kind: 'bad', offset: this.position, length, reason: `frame length ${length} is outside 1..${frameBytesMax}` };
    }
    if (bytes.length - at < frameHeaderBytes + length) return more;
    const from = at + frameHeaderBytes;
    if (crc32Range(bytes, from, from + length) !== expected) return { kind: 'bad', offset: this.position, length, reason: 'checksum mismatch' };
    const payload = bytes.subarray(from, from + length);
    const offset = this.position;
    this.position += frameHeaderBytes + length;
    if (gathered) {
      this.partial = undefined;
      this.partialBytes = 0;
    } else this.start += frameHeaderBytes + length;
    return { kind: 'frame', payload, offset };
  }

  /** Reads on from the start of `bytes`. */
  private resume(bytes: Uint8Array): void {
    this.buffer = bytes;
    this.start = 0;
  }

  /** The length of the one incomplete frame left in the buffer, when its header is whole and sane. */
  private straddlingLength(): number | undefined {
    const available = this.buffer.length - this.start;
    if (available < frameHeaderBytes) return undefined;
    const length = readUint32LE(this.buffer, this.start);
    if (length === 0 || length > frameBytesMax || available >= frameHeaderBytes + length) return undefined;
    return length;
  }

  /** Copies what the partial frame still lacks from `chunk`; returns how many bytes of it were used. */
  private fillPartial(chunk: Uint8Array): number {
    const partial = this.partial as Uint8Array;
    const used = Math.min(partial.length - this.partialBytes, chunk.length);
    partial.set(used === chunk.length ? chunk : chunk.subarray(0, used), this.partialBytes);
    this.partialBytes += used;
    return used;
  }
}

function readUint32LE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0;
}
