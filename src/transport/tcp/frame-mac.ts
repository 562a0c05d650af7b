/**
 * Frame authentication on a connection without TLS: after the handshake every frame, either way,
 * carries a tag that the receiver checks before it decodes a byte of the frame.
 *
 *   tag = first 16 bytes of HMAC-SHA-256(directionKey, [direction][u64 sequence][u32 length][payload])
 *
 * The two direction keys are derived per connection from the handshake's key and transcript (both ids,
 * both nonces: handshake.ts, `Prover.session`), so a tag is bound to this connection and to one
 * direction of it; the sequence number is implicit (not on the wire) and counts each direction's frames
 * from 0, so a frame replayed, reordered, or sent on after one was dropped fails its check. What the tag
 * cannot show is a frame dropped at the end of a stream: that is a lost message, which the transport
 * allows (Raft resends; a client's request times out).
 *
 * Why HMAC-SHA-256: the handshake's primitive already, and on the frames that dominate (requests,
 * answers and appends of a few hundred bytes to a few KiB) its fixed cost per call is what counts, and
 * it is no larger than an AEAD's (measured in docs/transport.md, *What the handshake protects*).
 *
 * Invariants: each FrameMac is used for one direction of one connection, and its sequence number only
 * moves forward (one step per seal or check, whatever the outcome: a failed check closes the
 * connection). The key lives only inside the FrameMac.
 */
import type { Hmac, KeyObject } from 'node:crypto';
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { assert } from '../../runtime/assert.js';

/** Bytes of the tag after each frame (HMAC-SHA-256 truncated: 128 bits, as RFC 2104 allows). */
export const frameTagBytes = 16;

/** Which way a frame goes on its connection: part of every tag, and of the key that makes it. */
export type Direction = 'dialer-to-acceptor' | 'acceptor-to-dialer';

/** The two directions of one connection, as one end sees them. */
export interface FrameSession {
  readonly send: FrameMac;
  readonly receive: FrameMac;
}

export class FrameMac {
  private readonly key: KeyObject;
  /** [direction][u64 sequence number][u32 length]: the bytes hashed before the payload. */
  private readonly prefix = Buffer.alloc(13);
  private sequence = 0;

  constructor(key: Uint8Array, direction: Direction) {
    assert(key.byteLength === 32, 'FrameMac: a 32-byte key');
    this.key = createSecretKey(key);
    this.prefix[0] = direction === 'dialer-to-acceptor' ? 1 : 2;
  }

  /** Frames sealed or checked so far: the next frame's sequence number. */
  get frames(): number {
    return this.sequence;
  }

  /** The tag of the next frame sent: `frame` is as written, its 4-byte length prefix included. */
  seal(frame: Uint8Array): Uint8Array {
    return this.next(undefined).update(frame).digest().subarray(0, frameTagBytes);
  }

  /** Whether `tag` is the next received frame's, `payload` being that frame without its length prefix. */
  check(payload: Uint8Array, tag: Uint8Array): boolean {
    const expected = this.next(payload.byteLength).update(payload).digest().subarray(0, frameTagBytes);
    return tag.byteLength === frameTagBytes && timingSafeEqual(expected, tag);
  }

  /** An HMAC that has taken the direction, the sequence number (then moved on) and, if given, the length. */
  private next(length: number | undefined): Hmac {
    const sequence = this.sequence++;
    assert(Number.isSafeInteger(this.sequence), 'FrameMac: sequence number past 2^53');
    this.prefix.writeUInt32BE(Math.floor(sequence / 2 ** 32), 1);
    this.prefix.writeUInt32BE(sequence >>> 0, 5);
    if (length === undefined) return createHmac('sha256', this.key).update(this.prefix.subarray(0, 9));
    this.prefix.writeUInt32BE(length, 9);
    return createHmac('sha256', this.key).update(this.prefix);
  }
}
