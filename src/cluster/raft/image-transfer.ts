/**
 * State transfer of a state image in chunks (Raft §7), both sides, as pure bookkeeping the Raft core
 * drives. Pipelined: the leader keeps up to `imageChunksInflightMax` chunks (and `imageInflightBytesMax`
 * bytes) unacknowledged; the follower answers each chunk with how many it holds in order (SnapshotResp),
 * and the leader sends on as answers come. A chunk lost costs an election timeout: then the leader sends
 * again from what the follower last said it holds (go-back-N). The follower installs the image when its
 * last chunk is in and the chunks digest to the image's digest, all at once.
 *
 * Invariants: the leader sends one image to a follower until that transfer is done (a later image does
 * not replace it: under steady writes a long transfer would start over for ever), unless the log was
 * compacted past it; the follower gathers chunks of one image only — one leader, term, index, chunk
 * count and digest — and a chunk of any other starts the gathering over (a late chunk of an earlier image
 * from the same leader is ignored); an image is installed whole and verified, or not at all.
 */
import { assert } from '../../runtime/assert.js';
import type { Snapshot } from './messages.js';
import type { ImageSending } from './progress.js';
import type { StateImage } from './types.js';
import { ImageDigest } from './image-digest.js';
import { imageChunksInflightMax, imageInflightBytesMax } from '../../limits.js';

/** Leader: the chunks that may go to the follower now (taken: `next` moves past them). */
export function imageChunksDue(s: ImageSending): number[] {
  const frames = s.image.frames;
  let bytes = 0;
  for (let i = s.acked; i < s.next; i++) bytes += frames[i]!.byteLength;
  const due: number[] = [];
  while (s.next < frames.length && s.next - s.acked < imageChunksInflightMax) {
    const size = frames[s.next]!.byteLength;
    if (bytes + size > imageInflightBytesMax && s.next > s.acked) break; // one chunk always goes
    bytes += size;
    due.push(s.next++);
  }
  return due;
}

/** Leader: the follower says it holds chunks [0, next); true when that is news (it may take more). */
export function imageChunksAcked(s: ImageSending, next: number): boolean {
  s.reported = next;
  if (next <= s.acked) return false; // a duplicate or late answer, or the follower lost chunks (see imageResendDue)
  s.acked = Math.min(next, s.image.frames.length);
  s.next = Math.max(s.next, s.acked);
  s.idleTicks = 0;
  return true;
}

/**
 * Leader, on each tick: after `resendTicks` without an acknowledgement, the chunk to send again (taken):
 * the first the follower's latest answer says it lacks (chunks lost on the way, or a follower that started
 * over). One only: its answer opens the window again, and a follower gone for long costs one chunk per
 * `resendTicks`, not a window.
 */
export function imageResendDue(s: ImageSending, resendTicks: number): number | undefined {
  if (++s.idleTicks % resendTicks !== 0) return undefined;
  const chunk = Math.min(s.reported, s.image.frames.length - 1);
  s.acked = chunk;
  s.next = chunk + 1;
  return chunk;
}

/** The image an arbiter is sent: no tables, only where the log starts again (one empty chunk). */
export function arbiterImage(image: StateImage): StateImage {
  const frames = [new Uint8Array(0)];
  return { index: image.index, term: image.term, membership: image.membership, frames, digest: emptyChunkDigest };
}
const emptyChunkDigest = (() => {
  const d = new ImageDigest();
  d.add(new Uint8Array(0));
  return d.value;
})();

/** Follower: gathers a leader's image chunk by chunk. */
export class ImageAssembler {
  private incoming: Incoming | undefined;

  /**
   * Takes one chunk: the whole image once its last chunk is in (and verified), else how many chunks it
   * holds in order (the answer), or undefined for a chunk that calls for none (a late one of an earlier image).
   */
  receive(m: Snapshot): { readonly image: StateImage } | { readonly next: number } | undefined {
    assert(m.chunks >= 1 && m.chunk < m.chunks, `image chunk ${m.chunk} of ${m.chunks}`);
    let incoming = this.incoming;
    if (incoming !== undefined && incoming.from === m.from && incoming.term === m.term && m.index < incoming.index) return undefined;
    if (incoming === undefined || !incoming.gathers(m)) incoming = this.incoming = new Incoming(m);
    incoming.take(m.chunk, m.data);
    if (incoming.frames.length < m.chunks) return { next: incoming.frames.length };
    this.incoming = undefined;
    if (incoming.digest.value !== m.digest) return { next: 0 }; // damaged or mixed: gathered again from the start
    return { image: { index: m.index, term: m.snapTerm, frames: incoming.frames, membership: m.membership, digest: m.digest } };
  }
}

/** One image being gathered: its chunks in order, and those that came early (within the leader's window). */
class Incoming {
  readonly from: string;
  readonly term: number;
  readonly index: number;
  private readonly snapTerm: number;
  private readonly chunks: number;
  private readonly expected: number;
  readonly frames: Uint8Array[] = [];
  readonly digest = new ImageDigest();
  private readonly early = new Map<number, Uint8Array>();

  constructor(m: Snapshot) {
    this.from = m.from;
    this.term = m.term;
    this.index = m.index;
    this.snapTerm = m.snapTerm;
    this.chunks = m.chunks;
    this.expected = m.digest;
  }

  gathers(m: Snapshot): boolean {
    return m.from === this.from && m.term === this.term && m.index === this.index && m.snapTerm === this.snapTerm && m.chunks === this.chunks && m.digest === this.expected;
  }

  take(chunk: number, data: Uint8Array): void {
    if (chunk < this.frames.length) return; // had it already
    if (chunk > this.frames.length) {
      if (chunk < this.frames.length + imageChunksInflightMax) this.early.set(chunk, data); // a gap before it: a chunk was lost or overtaken
      return;
    }
    this.early.delete(chunk);
    this.append(data);
    for (let next = this.early.get(this.frames.length); next !== undefined; next = this.early.get(this.frames.length)) {
      this.early.delete(this.frames.length);
      this.append(next);
    }
  }

  private append(data: Uint8Array): void {
    this.frames.push(data);
    this.digest.add(data);
  }
}
