/**
 * Reading frames `[u32 length][u32 crc32][payload]` out of a byte stream that arrives in chunks of any
 * size (disk reads, network messages). Pure: bytes in, frames or a verdict out.
 *
 * Invariants: `offset` is the stream position of the next unread frame; a frame is returned only whole
 * and with a matching CRC; the reader holds at most one partial frame plus the last chunk pushed.
 */
import { frameBytesMax } from '../limits.js';
import { crc32Range, frameHeaderBytes } from './codec.js';

export type FrameResult =
  | { readonly kind: 'frame'; readonly payload: Uint8Array; readonly offset: number }
  | { readonly kind: 'more' }
  /** A frame that cannot be right: its length is impossible, or its CRC does not match. */
  | { readonly kind: 'bad'; readonly offset: number; readonly length: number; readonly reason: string };

export class FrameReader {
  private buffer: Uint8Array = new Uint8Array(0);
  private start = 0;
  private position = 0;

  /** Stream offset of the next frame not yet returned. */
  get offset(): number {
    return this.position;
  }

  /** Bytes pushed but not yet returned in a frame. */
  get buffered(): number {
    return this.buffer.length - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.start === this.buffer.length) {
      this.buffer = chunk;
    } else {
      const joined = new Uint8Array(this.buffer.length - this.start + chunk.length);
      joined.set(this.buffer.subarray(this.start));
      joined.set(chunk, this.buffer.length - this.start);
      this.buffer = joined;
    }
    this.start = 0;
  }

  next(): FrameResult {
    const available = this.buffer.length - this.start;
    if (available < frameHeaderBytes) return { kind: 'more' };
    // Read the header bytes directly: a DataView per frame was measurable when replaying 1M records.
    const length = readUint32LE(this.buffer, this.start);
    const expected = readUint32LE(this.buffer, this.start + 4);
    if (length === 0 || length > frameBytesMax) {
      return { kind: 'bad', offset: this.position, length, reason: `frame length ${length} is outside 1..${frameBytesMax}` };
    }
    if (available < frameHeaderBytes + length) return { kind: 'more' };
    const from = this.start + frameHeaderBytes;
    if (crc32Range(this.buffer, from, from + length) !== expected) return { kind: 'bad', offset: this.position, length, reason: 'checksum mismatch' };
    const payload = this.buffer.subarray(from, from + length);
    const offset = this.position;
    this.start += frameHeaderBytes + length;
    this.position += frameHeaderBytes + length;
    return { kind: 'frame', payload, offset };
  }

  /** The bytes after the last whole frame (the tail), for inspection. */
  rest(): Uint8Array {
    return this.buffer.subarray(this.start);
  }
}

function readUint32LE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0;
}
