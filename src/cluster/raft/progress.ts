/**
 * What a leader knows about one follower's log (Raft §5.3): the highest index known to match
 * (`match`), the next index to send (`next`), and flow control. A follower is either being probed (one
 * append at a time until the leader finds where their logs agree) or replicated to (appends pipelined,
 * `next` advanced optimistically, at most `inflightAppendsMax` unacknowledged).
 *
 * While the follower's next entry is compacted away it is sent the leader's state image instead (§7).
 *
 * Invariant: match < next. The in-flight count is a soft bound: heartbeat replies cannot be told from
 * append replies, so it may undercount by a few; a lost append is recovered when the next heartbeat
 * is rejected and the follower drops back to probing.
 */
import type { StateImage } from './types.js';

/** A state image on its way to one follower, chunks pipelined (image-transfer.ts). */
export interface ImageSending {
  /** Kept until the transfer is done, whatever images the leader takes meanwhile. */
  readonly image: StateImage;
  /** The follower holds chunks [0, acked), as far as its answers tell. */
  acked: number;
  /** The next chunk to send (acked <= next <= chunks). */
  next: number;
  /** What the follower's latest answer said it holds (below `acked` after it lost chunks, or for a late answer). */
  reported: number;
  /** Leader ticks since the follower last acknowledged a new chunk (or since the transfer began). */
  idleTicks: number;
}

export class Progress {
  match = 0;
  inflight = 0;
  probing = true;
  /** Heard from since the leader's last check-quorum round. */
  recentActive = true;
  /**
   * An append went to the follower since the last heartbeat round: it stands in for that round's
   * heartbeat (it carries the same term, commit index and read round, and is answered alike).
   */
  sentSinceHeartbeat = false;
  /** Set while the follower is being sent a state image (§7; image-transfer.ts): that image is kept until it is done. */
  image: ImageSending | undefined;

  constructor(public next: number) {}

  canSend(inflightMax: number): boolean {
    return this.probing ? this.inflight === 0 : this.inflight < inflightMax;
  }

  sent(entries: number): void {
    if (entries === 0) return;
    this.inflight++;
    if (!this.probing) this.next += entries;
  }

  startImage(image: StateImage): void {
    this.image = { image, acked: 0, next: 0, reported: 0, idleTicks: 0 };
    this.inflight = 0;
  }

  /** The follower matches up to `index`; true when that is news. */
  acknowledged(index: number): boolean {
    this.inflight = Math.max(0, this.inflight - 1);
    if (this.image !== undefined && index >= this.image.image.index) this.image = undefined;
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probing = false;
    return true;
  }

  /** The follower rejected an append at `rejectedPrev`; true when the leader should resend. */
  rejected(rejectedPrev: number, hint: number): boolean {
    if (rejectedPrev < this.match || this.image !== undefined) return false; // stale, or the image will settle it
    this.next = Math.max(this.match + 1, Math.min(rejectedPrev, hint + 1));
    this.probing = true;
    this.inflight = 0;
    return true;
  }
}
