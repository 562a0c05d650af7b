/**
 * Frame authentication on a connection without TLS: after the handshake, every frame either way belongs
 * to a run, and each run ends with a tag record that covers all of its frames; the receiver checks it
 * before it decodes a byte of them.
 *
 *   run         [u32 length][payload] ... [u32 length][payload] [u32 0][tag: 16 bytes]
 *   tag         first 16 bytes of HMAC-SHA-256(directionKey, [direction][u64 run number][the run's frames])
 *
 * A frame's length is never 0, so a zero length marks a tag record. The two direction keys are derived
 * per connection from the handshake's key and transcript (both ids, both nonces: handshake.ts,
 * `Prover.session`), so a tag is bound to this connection and to one direction of it. The run number is
 * implicit (not on the wire) and counts each direction's runs from 0, so a frame altered, injected,
 * replayed, reordered or dropped, or a whole run replayed, reordered or dropped before another, fails
 * the check. What no tag can show is a run dropped at the end of a stream: a lost message, which the
 * transport allows (Raft resends; a client's request times out).
 *
 * Why runs rather than a tag per frame: HMAC-SHA-256 costs ~2 µs a call before it hashes a byte, and a
 * leader's client port carries two small frames per commit (a request and its answer). A run is the
 * frames a connection writes in one event-loop turn (one corked write), up to tcpTagRunBytesMax and
 * tcpTagRunFramesMax: a leader answering a batch of commits tags them with one call. The receiver holds
 * a run's frames (at most those bounds, or one larger frame) until its tag has checked; they arrive in
 * the same write, so nothing waits for more than the rest of its run.
 *
 * Invariants: each FrameMac serves one direction of one connection, and its run number only moves
 * forward; frames are handed on only from a run whose tag checked; the key lives only in its FrameMac.
 */
import type { Hmac, KeyObject } from 'node:crypto';
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { assert } from '../../runtime/assert.js';
import { tcpTagRunBytesMax, tcpTagRunFramesMax } from '../../limits.js';

/** Bytes of a tag (HMAC-SHA-256 truncated to 128 bits, as RFC 2104 allows). */
export const frameTagBytes = 16;
/** Bytes of a tag record: a zero length prefix, then the tag. */
export const tagRecordBytes = 4 + frameTagBytes;

/** Which way a frame goes on its connection: part of every tag, and of the key that makes it. */
export type Direction = 'dialer-to-acceptor' | 'acceptor-to-dialer';

/** The two directions of one connection, as one end sees them. */
export interface FrameSession {
  readonly send: FrameMac;
  readonly receive: FrameMac;
}

/** The key of one direction of one connection, and its next run number. */
export class FrameMac {
  private readonly key: KeyObject;
  /** [direction][u64 run number]: what a run's HMAC takes before its frames. */
  private readonly prefix = Buffer.alloc(9);
  private sequence = 0;

  constructor(key: Uint8Array, direction: Direction) {
    assert(key.byteLength === 32, 'FrameMac: a 32-byte key');
    this.key = createSecretKey(key);
    this.prefix[0] = direction === 'dialer-to-acceptor' ? 1 : 2;
  }

  /** Runs begun so far: the next run's number. */
  get runs(): number {
    return this.sequence;
  }

  /** The HMAC of the next run, which has taken the direction and the run's number. */
  begin(): Hmac {
    const sequence = this.sequence++;
    assert(Number.isSafeInteger(this.sequence), 'FrameMac: run number past 2^53');
    this.prefix.writeUInt32BE(Math.floor(sequence / 2 ** 32), 1);
    this.prefix.writeUInt32BE(sequence >>> 0, 5);
    return createHmac('sha256', this.key).update(this.prefix);
  }
}

/** The sending side: which frames form a run, and the tag record that ends each. */
export class RunSealer {
  private run: Hmac | undefined;
  private runBytes = 0;
  private runFrames = 0;

  constructor(private readonly mac: FrameMac) {}

  /**
   * Puts `frame` (as written, length prefix included) in the open run. Returns the tag record to write
   * before it when the open run had to end first (it would pass its bounds), else undefined.
   */
  add(frame: Uint8Array): Uint8Array | undefined {
    const before = this.full(frame.byteLength) ? this.end() : undefined;
    this.count(frame.byteLength);
    this.hash(frame);
    return before;
  }

  /** A run is open (a frame was counted since the last end). */
  get open(): boolean {
    return this.run !== undefined;
  }

  /** The open run must end before a frame of `size` bytes: it would pass its bounds. */
  full(size: number): boolean {
    return this.run !== undefined && (this.runBytes + size > tcpTagRunBytesMax || this.runFrames >= tcpTagRunFramesMax);
  }

  /**
   * Counts a frame of `size` bytes into the open run, opening one if none is; its bytes go through `hash`
   * before the run ends, in order, in as many pieces as the caller likes (one update per turn rather than
   * per frame: a connection hashes the bytes it copied together, connection.ts).
   */
  count(size: number): void {
    this.run ??= this.mac.begin();
    this.runBytes += size;
    this.runFrames++;
  }

  hash(bytes: Uint8Array): void {
    assert(this.run !== undefined, 'RunSealer.hash: no open run');
    this.run.update(bytes);
  }

  /** Ends the open run: its tag record, to write after its frames; undefined when no run is open. */
  end(): Uint8Array | undefined {
    const run = this.run;
    if (run === undefined) return undefined;
    this.run = undefined;
    this.runBytes = 0;
    this.runFrames = 0;
    const record = Buffer.alloc(tagRecordBytes);
    run.digest().copy(record, 4, 0, frameTagBytes);
    return record;
  }
}

/** The receiving side: holds each run's frames until its tag record has checked. */
export class RunChecker {
  private run: Hmac | undefined;
  private payloads: Uint8Array[] = [];
  private runBytes = 0;

  constructor(private readonly mac: FrameMac) {}

  /**
   * A frame of the open run (`frame` with its length prefix, `payload` the rest of it): undefined, or
   * why the stream is refused (the run would pass the bounds its sender keeps to).
   */
  add(frame: Uint8Array, payload: Uint8Array): string | undefined {
    if (this.payloads.length >= tcpTagRunFramesMax || (this.payloads.length > 0 && this.runBytes + frame.byteLength > tcpTagRunBytesMax)) {
      return `more than ${tcpTagRunFramesMax} frames or ${tcpTagRunBytesMax} bytes without a tag (tcpTagRunFramesMax, tcpTagRunBytesMax)`;
    }
    this.run ??= this.mac.begin();
    this.run.update(frame);
    this.runBytes += frame.byteLength;
    this.payloads.push(payload);
    return undefined;
  }

  /** The tag record ending the open run: its frames' payloads, in order, if the tag checks; else why not. */
  end(tag: Uint8Array): { readonly ok: true; readonly payloads: readonly Uint8Array[] } | { readonly ok: false; readonly reason: string } {
    const run = this.run;
    if (run === undefined) return { ok: false, reason: 'a tag record with no frame before it' };
    const number = this.mac.runs - 1;
    const payloads = this.payloads;
    this.run = undefined;
    this.payloads = [];
    this.runBytes = 0;
    const expected = run.digest().subarray(0, frameTagBytes);
    if (tag.byteLength === frameTagBytes && timingSafeEqual(expected, tag)) return { ok: true, payloads };
    return {
      ok: false,
      reason: `run ${number} (${payloads.length} frame${payloads.length === 1 ? '' : 's'}) after the handshake failed its authentication (its tag does not match: altered, forged, replayed, out of order, or sent on after a lost run)`,
    };
  }
}
