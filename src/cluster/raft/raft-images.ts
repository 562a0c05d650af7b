/**
 * Log compaction behind a state image and state transfer of that image in chunks (Raft §7), as the
 * layer between linearizable reads (raft-reads.ts) and the roles (raft.ts): the host's state machine
 * hands an image of what it applied (takeImage) or, with no journal to rewrite, the log is compacted
 * alone and an image is asked for only when a follower needs compacted entries (imageWanted); a leader
 * sends the image in chunks, several in flight (image-transfer.ts), an arbiter only where the log starts
 * again. While an image is being taken for a follower or sent to one that keeps acknowledging, the leader
 * compacts its log no further than that image, however long it takes, within a bound in memory
 * (imageHoldTransLogSizesMax): otherwise under steady writes a long transfer would never end.
 *
 * An arbiter has no tables, so no image to send a data node: it compacts only what every data node of
 * the membership holds (what its leader tells it with each append, or its own progress when it leads),
 * so that leading while the up-to-date data nodes are down it can still feed a lagging one from its log.
 * Bound: never more than `arbiterTransLogLengthsMax` × the retention behind its image.
 *
 * The retention (log-retention.ts) counts transactions and bytes, not entries: a window batch is one
 * entry of many transactions.
 */
import { assert } from '../../runtime/assert.js';
import type { Snapshot, SnapshotResp } from './messages.js';
import type { NodeId } from './quorum.js';
import type { ImageSending, Progress } from './progress.js';
import type { StateImage } from './types.js';
import { arbiterImage, imageChunksAcked, imageChunksDue, imageResendDue } from './image-transfer.js';
import { imageDigest } from './image-digest.js';
import { RaftReads } from './raft-reads.js';
import { arbiterTransLogLengthsMax, imageHoldTransLogSizesMax, imageStallElectionTimeouts, logTransactionHeapBytes, transLogSizeDefault } from '../../limits.js';
import { ImageInterval, heldWithin, retentionPoint, type Retention, type Weigh } from './log-retention.js';

export abstract class RaftImages extends RaftReads {
  /** What an entry weighs for the retention: its transactions and bytes as the host counts them. */
  private readonly weigh: Weigh = {
    transactions: (entry) => this.config.entryTransactions?.(entry) ?? 1,
    bytes: (entry) => this.config.entryBytes?.(entry) ?? 0,
  };

  /** The configured retention, `times` over. */
  private retention(times = 1): Retention {
    return { transactions: times * this.config.logTransactionsRetained, bytes: times * (this.config.logBytesRetained ?? Number.POSITIVE_INFINITY) };
  }

  private interval: ImageInterval | undefined;

  /**
   * Host: has a retention's worth of transactions or bytes been applied since it last asked for an image
   * (imageAsked)? Before the first ask, `headStart` transactions count as applied already.
   */
  imageIntervalReached(headStart: number): boolean {
    this.interval ??= new ImageInterval(this.log.applied, headStart, this.retention(), this.weigh);
    return this.interval.reached(this.log);
  }

  /** Host: it asked for an image (or compacted) at the applied index; the next interval starts there. */
  imageAsked(): void {
    this.interval?.restart(this.log);
  }

  /**
   * The state machine's image after applying every entry up to `index` (given on the host's request),
   * with its digest (image-digest.ts; computed when not given): keep it, and compact the log to the
   * retention behind it (not past a state transfer under way: heldPoint).
   */
  takeImage(index: number, frames: readonly Uint8Array[], digest = imageDigest(frames)): void {
    assert(index <= this.log.applied, `takeImage: ${index} is not applied yet (applied ${this.log.applied})`);
    assert(this.dataless === (frames.length === 0), `takeImage: ${this.dataless ? "an arbiter has no tables to image" : "an image has at least one frame"}`);
    if (this.image !== undefined && index <= this.image.index) return; // an older request answered late
    const term = this.log.term(index);
    assert(term !== undefined, `takeImage: entry ${index} is compacted already`);
    this.image = { index, term, frames, membership: this.members.at(index), digest };
    this.log.compact(Math.max(0, this.heldPoint(this.compactionPoint(index))));
    this.members.compacted(this.log.compactedIndex);
    this.newImage = { image: this.image, install: false };
  }

  /** Arbiter following: the highest index every data node of the membership holds, as its leader last said. */
  protected dataHeld = 0;

  /**
   * Leader: the highest index every data node of the membership is known to hold (sent to arbiters).
   * A data node just (re)joined, or not heard from since this leader began, counts as holding nothing.
   */
  protected dataMatch(): number {
    let held = this.log.lastIndex();
    for (const id of this.peers) if (!this.arbiters.has(id)) held = Math.min(held, this.progress.get(id)!.match); // progress: exactly the peers
    return held;
  }

  /** Where the log may be compacted to behind an image at `index` (an arbiter: see the file's header). */
  private compactionPoint(index: number): number {
    const retained = retentionPoint(this.log, index, this.retention(), this.weigh);
    if (!this.dataless) return retained;
    const held = this.role === 'leader' ? this.dataMatch() : this.dataHeld;
    if (held >= retained) return retained;
    return Math.max(retentionPoint(this.log, index, this.retention(arbiterTransLogLengthsMax), this.weigh), held);
  }

  /**
   * For a node whose log is not on disk (no journal to rewrite): compact the log to the retention
   * behind `index` without an image. Any image of the applied state at or after the compaction
   * point serves a follower that needs compacted entries, so one is asked for then (`imageWanted`)
   * instead of being made and kept every time, for nothing most of the time.
   */
  compactWithoutImage(index: number): void {
    assert(index <= this.log.applied, `compactWithoutImage: ${index} is not applied yet (applied ${this.log.applied})`);
    this.log.compact(Math.max(0, this.heldPoint(retentionPoint(this.log, index, this.retention(), this.weigh))));
    this.members.compacted(this.log.compactedIndex);
    if (this.image !== undefined && this.image.index < this.log.compactedIndex) this.image = undefined;
  }

  /** Leader, log in memory: the applied index an image for a follower was asked at, until one comes (compaction holds there; the host sets and clears it). */
  imageTakingAt: number | undefined;

  /**
   * Leader: where compaction holds for state transfers (see imageHoldTransLogSizesMax): at the image being
   * taken for a follower, and at each image being sent to a follower that keeps acknowledging chunks.
   */
  private compactionHold(): number | undefined {
    if (this.role !== 'leader') return (this.imageTakingAt = undefined);
    let hold = this.imageTakingAt;
    const stalledTicks = imageStallElectionTimeouts * this.config.electionTicks;
    for (const id of this.peers) {
      const s = this.progress.get(id)!.image;
      if (s !== undefined && s.idleTicks <= stalledTicks) hold = Math.min(hold ?? s.image.index, s.image.index);
    }
    return hold;
  }

  /** The compaction point `point`, lowered to the hold if the entries held past it stay within the bound. */
  private heldPoint(point: number): number {
    const hold = this.compactionHold();
    if (hold === undefined || hold >= point) return point;
    const retained = this.config.logBytesRetained;
    const bytesMax = imageHoldTransLogSizesMax * (retained !== undefined && Number.isFinite(retained) ? retained : transLogSizeDefault);
    if (heldWithin(this.log, hold, point, bytesMax, logTransactionHeapBytes, this.weigh)) return hold;
    if (this.imageTakingAt !== undefined && this.imageTakingAt < point) this.imageTakingAt = undefined; // compacted past: asked anew
    return point; // held too much: the transfers held for start over with a later image
  }

  /** Leader: a follower needs compacted entries and no image covers them; the host asks for one (takeImage). */
  imageWanted = false;

  /** Leader, every tick: a transfer with no acknowledgement for an election timeout sends again (image-transfer.ts). */
  protected tickImages(): void {
    for (const id of this.peers) {
      const pr = this.progress.get(id)!;
      const s = pr.image;
      if (s === undefined) continue;
      if (s.image.index < this.log.compactedIndex) {
        this.sendImageChunk(id, pr, false); // compacted past it: starts over with a later image
        continue;
      }
      const chunk = imageResendDue(s, this.config.electionTicks);
      if (chunk !== undefined) this.sendChunk(id, s.image, chunk);
    }
  }

  /**
   * The follower's next entry is compacted away: send it an image, chunks pipelined (image-transfer.ts).
   * A heartbeat with no chunk due goes as an empty append at the image's index: it keeps the follower's
   * election timer and echoes read rounds, and a follower that installed the image already acknowledges it.
   */
  protected sendImageChunk(to: NodeId, pr: Progress, heartbeat: boolean): void {
    const s = this.imageSending(to, pr);
    if (s === undefined) return;
    const due = imageChunksDue(s);
    for (const chunk of due) this.sendChunk(to, s.image, chunk);
    if (due.length > 0) pr.sentSinceHeartbeat = true;
    else if (heartbeat) this.send({ type: 'append', term: this.term, from: this.id, to, prevIndex: s.image.index, prevTerm: s.image.term, entries: [], commit: this.log.committed, ...this.heartbeatExtras(to) });
  }

  /** An append's optional fields (raft.ts sendAppend sets the same, without a spread, on its hot path). */
  private heartbeatExtras(to: NodeId): { readRound?: number; dataMatch?: number } {
    const round = this.reads.currentRound;
    return { ...(round > 0 ? { readRound: round } : {}), ...(this.arbiters.has(to) ? { dataMatch: this.dataMatch() } : {}) };
  }

  private sendChunk(to: NodeId, image: StateImage, chunk: number): void {
    this.send({ type: 'snapshot', term: this.term, from: this.id, to, index: image.index, snapTerm: image.term, chunk, chunks: image.frames.length, data: image.frames[chunk]!, membership: image.membership, commit: this.log.committed, digest: image.digest! });
  }

  /** The transfer to `to`: the one under way, or one of the latest image; none when no image can go (one is asked for). */
  private imageSending(to: NodeId, pr: Progress): ImageSending | undefined {
    if (pr.image !== undefined && pr.image.image.index >= this.log.compactedIndex) return pr.image;
    pr.image = undefined; // compacted past it (it held too much, or the follower stalled): useless once whole
    let image = this.image;
    if (image === undefined || image.index < this.log.compactedIndex) {
      // Compacted without an image (compactWithoutImage): the host asks the state machine for one.
      this.imageWanted = true;
      return undefined;
    }
    if (this.arbiters.has(to)) image = arbiterImage(image);
    else if (image.frames.length === 0) return undefined; // an arbiter leading has no tables to send: that node waits for a data node to lead
    else if (image.digest === undefined) image = this.image = { ...image, digest: imageDigest(image.frames) }; // read back from the journal
    pr.startImage(image);
    return pr.image;
  }

  protected handleSnapshotResp(m: SnapshotResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    const s = pr.image;
    if (s !== undefined && s.image.index === m.index && imageChunksAcked(s, m.next)) this.sendImageChunk(m.from, pr, false);
  }

  /** Follower: gathers the chunks of the leader's image; the last one installs it (§7). */
  protected handleSnapshot(m: Snapshot): void {
    // The first word from a leader after losing touch says how far behind this node is, image or not.
    if (!this.heardLeader && m.commit > this.log.committed) this.behind(m.commit, false);
    this.heardLeader = true;
    if (m.index <= this.log.committed) {
      // Already here (a resent chunk, or we caught up): the leader may go on from our commit index.
      this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: true, index: this.log.committed, hint: 0 });
      return;
    }
    const got = this.incoming.receive(m);
    if (got === undefined) return;
    if ('next' in got) {
      this.send({ type: 'snapshotResp', term: this.term, from: this.id, to: m.from, index: m.index, next: got.next });
      return;
    }
    this.image = this.dataless ? { index: m.index, term: m.snapTerm, frames: [], membership: m.membership } : got.image;
    this.log.install(m.index, m.snapTerm);
    this.members.installed(m.index, m.membership);
    this.membershipHeard = true;
    this.members.truncated((index) => this.log.term(index));
    this.refreshMembership();
    this.newImage = { image: this.image, install: true };
    this.behind(Math.max(m.index, m.commit), true); // synced once it applied what the leader had committed
    this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: true, index: m.index, hint: 0 });
  }
}
