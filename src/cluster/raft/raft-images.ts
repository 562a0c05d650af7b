/**
 * Log compaction behind a state image and state transfer of that image in chunks (Raft §7), as the
 * layer between linearizable reads (raft-reads.ts) and the roles (raft.ts): the host's state machine
 * hands an image of what it applied (takeImage) or, with no journal to rewrite, the log is compacted
 * alone and an image is asked for only when a follower needs compacted entries (imageWanted); a leader
 * sends the image one chunk at a time (image-transfer.ts), an arbiter only where the log starts again.
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
import type { Progress } from './progress.js';
import { imageChunkAsked, imageChunkToSend } from './image-transfer.js';
import { RaftReads } from './raft-reads.js';
import { arbiterTransLogLengthsMax } from '../../limits.js';
import { ImageInterval, retentionPoint, type Retention, type Weigh } from './log-retention.js';

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
   * The state machine's image after applying every entry up to `index` (given on the host's request):
   * keep it, and compact the log to the retention behind it.
   */
  takeImage(index: number, frames: readonly Uint8Array[]): void {
    assert(index <= this.log.applied, `takeImage: ${index} is not applied yet (applied ${this.log.applied})`);
    assert(this.dataless === (frames.length === 0), `takeImage: ${this.dataless ? "an arbiter has no tables to image" : "an image has at least one frame"}`);
    if (this.image !== undefined && index <= this.image.index) return; // an older request answered late
    const term = this.log.term(index);
    assert(term !== undefined, `takeImage: entry ${index} is compacted already`);
    this.image = { index, term, frames, membership: this.members.at(index) };
    this.log.compact(Math.max(0, this.compactionPoint(index)));
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
  compactWithoutImage(index: number, holdAt?: number): void {
    assert(index <= this.log.applied, `compactWithoutImage: ${index} is not applied yet (applied ${this.log.applied})`);
    // Not past `holdAt`: an image being taken or sent for a follower (the host bounds how long it holds).
    const point = Math.min(retentionPoint(this.log, index, this.retention(), this.weigh), holdAt ?? Number.POSITIVE_INFINITY);
    this.log.compact(Math.max(0, point));
    this.members.compacted(this.log.compactedIndex);
    if (this.image !== undefined && this.image.index < this.log.compactedIndex) this.image = undefined;
  }

  /** Leader: the index of the image some follower is being sent, if any. */
  get imageBeingSent(): number | undefined {
    if (this.image === undefined || this.role !== 'leader') return undefined;
    for (const pr of this.progress.values()) if (pr.image !== undefined) return this.image.index;
    return undefined;
  }

  /** Leader: a follower needs compacted entries and no image covers them; the host asks for one (takeImage). */
  imageWanted = false;

  /**
   * The follower's next entry is compacted away: send it the image, one chunk at a time (the follower
   * asks for the next by SnapshotResp; a heartbeat resends the chunk it waits for, so a loss only delays).
   */
  protected sendImageChunk(to: NodeId, pr: Progress, heartbeat: boolean): void {
    const image = this.image;
    if (image === undefined || image.index < this.log.compactedIndex) {
      // Compacted without an image (compactWithoutImage): the host asks the state machine for one.
      this.imageWanted = true;
      return;
    }
    if (this.arbiters.has(to)) {
      // An arbiter keeps no tables: it needs only where the log starts again, one empty chunk.
      if (imageChunkToSend(image, pr, heartbeat) !== undefined) this.send({ type: 'snapshot', term: this.term, from: this.id, to, index: image.index, snapTerm: image.term, chunk: 0, chunks: 1, data: new Uint8Array(0), membership: image.membership });
      return;
    }
    if (image.frames.length === 0) return; // an arbiter leading has no tables to send: that node waits for a data node to lead
    const chunk = imageChunkToSend(image, pr, heartbeat);
    if (chunk === undefined) return;
    this.send({ type: 'snapshot', term: this.term, from: this.id, to, index: image.index, snapTerm: image.term, chunk, chunks: image.frames.length, data: image.frames[chunk]!, membership: image.membership });
  }

  protected handleSnapshotResp(m: SnapshotResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (imageChunkAsked(this.image, pr, m)) this.sendImageChunk(m.from, pr, true);
  }

  /** Follower: gathers the chunks of the leader's image; the last one installs it (§7). */
  protected handleSnapshot(m: Snapshot): void {
    this.heardLeader = true;
    if (m.index <= this.log.committed) {
      // Already here (a resent chunk, or we caught up): the leader may go on from our commit index.
      this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: true, index: this.log.committed, hint: 0 });
      return;
    }
    const got = this.incoming.receive(m);
    if ('next' in got) {
      this.send({ type: 'snapshotResp', term: this.term, from: this.id, to: m.from, index: m.index, next: got.next });
      return;
    }
    this.image = this.dataless ? { ...got.image, frames: [] } : got.image;
    this.log.install(m.index, m.snapTerm);
    this.members.installed(m.index, m.membership);
    this.membershipHeard = true;
    this.members.truncated((index) => this.log.term(index));
    this.refreshMembership();
    this.newImage = { image: this.image, install: true };
    this.behind(m.index, true);
    this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: true, index: m.index, hint: 0 });
  }
}
