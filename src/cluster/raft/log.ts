/**
 * The replicated log as one node holds it in memory: entries after the compaction point (everything at
 * or before it is in the state image the replicator keeps), the commit and apply positions, and which
 * entries are not yet persisted.
 *
 * Invariants (Raft §5.3, §5.4):
 * - indexes are contiguous from snapshotIndex + 1 to lastIndex; terms never decrease along the log;
 * - applied <= committed <= lastIndex, and committed never goes back;
 * - a committed entry is never truncated (an attempt is a protocol bug and asserts);
 * - entries above stableIndex are not yet on disk: the host persists them before it sends anything
 *   that depends on them;
 * - stableIndex <= writtenIndex <= lastIndex: entries up to writtenIndex were handed to the journal
 *   (with an asynchronous sync they may not be durable yet), so unstable() gives only later ones;
 * - entries are applied only up to min(committed, stableIndex, durableCommit): on this node's disk, and,
 *   with an asynchronous sync, with a commit index that covers them on disk too.
 */
import { assert } from '../../runtime/assert.js';
import type { Entry } from './messages.js';

export class RaftLog {
  private entries: Entry[] = [];
  private snapshotIndex = 0;
  private snapshotTerm = 0;
  committed = 0;
  applied = 0;
  /** Last index known to be persisted. */
  stableIndex = 0;
  /** Last index handed to the journal, durable or not (>= stableIndex). */
  writtenIndex = 0;
  /**
   * With an asynchronous sync (RaftConfig.backgroundSync): the commit index a completed sync made durable.
   * Applying past it could let a crash take back what this node applied, answered and served reads from
   * (it would restart at the older commit). Undefined when the journal syncs before anything is applied.
   */
  durableCommit: number | undefined = undefined;

  /**
   * Restores a log from what the host persisted: entries after the compaction point `base`, and the
   * index of the state image the host hands to the state machine first (`imageIndex`, at or after base).
   */
  static restore(entries: readonly Entry[], committed: number, base = { index: 0, term: 0 }, imageIndex = base.index): RaftLog {
    const log = new RaftLog();
    log.snapshotIndex = base.index;
    log.snapshotTerm = base.term;
    entries.forEach((e, i) => assert(e.index === base.index + 1 + i, `restore: entry ${i} has index ${e.index}`));
    log.entries = [...entries];
    log.stableIndex = log.writtenIndex = log.lastIndex();
    assert(committed <= log.lastIndex(), `restore: commit ${committed} beyond last index ${log.lastIndex()}`);
    assert(imageIndex >= base.index && imageIndex <= Math.max(committed, base.index), `restore: image ${imageIndex} outside [${base.index}, ${committed}]`);
    log.committed = Math.max(committed, imageIndex);
    log.applied = imageIndex;
    return log;
  }

  /** The compaction point: entries up to it are gone from memory. */
  get compactedIndex(): number {
    return this.snapshotIndex;
  }

  get compactedTerm(): number {
    return this.snapshotTerm;
  }

  /** Drops entries up to `index` (already applied, and covered by a state image the host keeps). */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    assert(index <= this.applied, `compact: ${index} is not applied yet (applied ${this.applied})`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /**
   * A state image at (index, term) from the leader replaces everything up to it (§7). Entries after it are
   * kept only when the log agrees at `index`; otherwise the whole log goes.
   */
  install(index: number, term: number): void {
    assert(index > this.committed, `install: image ${index} is not beyond commit ${this.committed}`);
    if (this.term(index) === term) this.entries = this.entries.slice(index - this.snapshotIndex);
    else this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.applied = index;
    if (this.durableCommit !== undefined) this.durableCommit = Math.max(this.durableCommit, index); // the image's journal rewrite is synced
    this.stableIndex = Math.min(Math.max(this.stableIndex, index), this.lastIndex());
    this.writtenIndex = Math.min(Math.max(this.writtenIndex, index), this.lastIndex());
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length === 0 ? this.snapshotTerm : this.entries[this.entries.length - 1]!.term;
  }

  /** The term of entry `index`; undefined when it is compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1]!.term;
  }

  /** §5.4.1: is a log ending at (lastIndex, lastTerm) at least as up to date as this one? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entry `index`; undefined when it is compacted away or beyond the end. */
  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  /** Up to `countMax` entries from `from` on (from must not be compacted away). */
  slice(from: number, countMax: number): Entry[] {
    assert(from > this.snapshotIndex, `slice: index ${from} is compacted (first index ${this.firstIndex()})`);
    const start = from - this.snapshotIndex - 1;
    return this.entries.slice(start, start + countMax);
  }

  /**
   * Up to `countMax` entries from `from` on, and no more than `bytesMax` bytes of them as `sizeOf` counts
   * — but always the first one, however large (from must not be compacted away).
   */
  sliceBytes(from: number, countMax: number, bytesMax: number, sizeOf: (entry: Entry) => number): Entry[] {
    const entries = this.slice(from, countMax);
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      bytes += sizeOf(entries[i]!);
      if (bytes > bytesMax && i > 0) return entries.slice(0, i);
    }
    return entries;
  }

  /** Leader: appends new entries at the end. */
  appendNew(entries: readonly Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.lastIndex() + 1 && e.term >= this.lastTerm(), `appendNew: entry ${e.index}/${e.term} does not extend ${this.lastIndex()}/${this.lastTerm()}`);
      this.entries.push(e);
    }
  }

  /**
   * Follower: accepts entries following (prevIndex, prevTerm) from the leader. Returns the last index
   * now known to match the leader, or undefined when prevIndex/prevTerm does not match (§5.3).
   * Entries that already match are kept, so a stale or duplicated append never truncates anything.
   */
  tryAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | undefined {
    if (this.term(prevIndex) !== prevTerm) return undefined;
    for (const e of entries) {
      const existing = this.term(e.index);
      if (existing === e.term) continue;
      if (e.index <= this.snapshotIndex) continue; // compacted: committed, so it matches
      assert(e.index > this.committed, `tryAppend: entry ${e.index} conflicts with a committed entry (commit ${this.committed})`);
      this.entries.length = e.index - this.snapshotIndex - 1; // drop the conflicting suffix
      this.stableIndex = Math.min(this.stableIndex, e.index - 1);
      this.writtenIndex = Math.min(this.writtenIndex, e.index - 1);
      this.entries.push(e);
    }
    return prevIndex + entries.length;
  }

  /** First index of the term that `index` belongs to, looking back no further than `floor`. */
  firstIndexOfTerm(index: number, floor: number): number {
    const term = this.term(index);
    let i = index;
    while (i - 1 > Math.max(floor, this.snapshotIndex) && this.term(i - 1) === term) i--;
    return i;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commitTo: ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries not yet handed to the journal. */
  unstable(): Entry[] {
    const written = Math.max(this.stableIndex, this.writtenIndex);
    return written >= this.lastIndex() ? [] : this.slice(Math.max(written + 1, this.firstIndex()), Number.MAX_SAFE_INTEGER);
  }

  /** True when some entries were not handed to the journal yet (unstable() without building it). */
  hasUnstable(): boolean {
    return Math.max(this.stableIndex, this.writtenIndex) < this.lastIndex();
  }

  /** True when toApply would give entries. */
  hasToApply(): boolean {
    return this.applyLimit() > this.applied;
  }

  /** Committed entries not yet handed to the state machine, at most `countMax`. */
  toApply(countMax: number): Entry[] {
    const upTo = this.applyLimit();
    return upTo <= this.applied ? [] : this.slice(this.applied + 1, Math.min(countMax, upTo - this.applied));
  }

  /** Applied only what is also on our disk, under a commit index that is on our disk too. */
  private applyLimit(): number {
    const onDisk = Math.min(this.committed, this.stableIndex);
    return this.durableCommit === undefined ? onDisk : Math.min(onDisk, this.durableCommit);
  }
}
