/**
 * The replicator's journal: what a Ready writes (and in which order), the journal after compaction, the
 * replay on start, and, for journals that sync in the background, the Readies written but not yet
 * durable with the messages that must wait for them.
 *
 * Journal records: `{ v: format }` (JOURNAL_FORMAT, below), `{ e: Entry[] }` (entries that replace the log from their first index on; each entry
 * keeps its msgpack bytes, written as an ext of kept bytes: see src/store/msgpack-encode.ts),
 * `{ h: [term, vote, commit] }`, and, at the start of a rewritten journal, `{ i: [index, term, frames,
 * membership] }` followed by that many `{ f: frame }` (the image), then `{ b: [index, term, membership] }`
 * (where the log on disk starts, and the membership in force there; later changes are entries): the
 * image's own index on a data node, the compaction point on an arbiter (see `compacted`).
 *
 * Background sync (thesis §10.2.1): a leader sends its appends and image chunks while its own write is
 * being synced, and counts itself toward a commit only once it is (Raft.persisted). Every other message
 * (acknowledgements, votes, a candidate's requests) waits for every sync under way when it was made: it
 * may claim entries or a vote that only those make durable. Held messages leave in the order they were
 * made, and nothing is sent early past a held one, so per-link order is kept.
 */
import { assert } from '../runtime/assert.js';
import { Raft } from '../cluster/raft/raft.js';
import type { Ready } from '../cluster/raft/raft.js';
import type { Entry, RaftMessage } from '../cluster/raft/messages.js';
import type { NodeId } from '../cluster/raft/quorum.js';
import { RaftLog } from '../cluster/raft/log.js';
import type { HardState, StateImage } from '../cluster/raft/raft.js';
import type { VersionedMembership } from '../cluster/raft/membership.js';
import type { Journal } from '../runtime/journal.js';
import { decodeMsgpack, encodeMsgpack, encodeMsgpackMapTransient } from '../store/codec.js';
import { keepBytes } from '../store/msgpack-encode.js';
import { raftSyncsPendingMax } from '../limits.js';
import { ChorusError } from '../runtime/errors.js';

/** Readies written to a journal that syncs in the background, oldest first, with the messages held for each. */
export class SyncQueue {
  private seq = 0;
  private readonly pending: { readonly seq: number; index: number; readonly held: RaftMessage[] }[] = [];
  private holding = 0;

  /**
   * A Ready was written, its last entry at `index` (or nothing new: the written index then). Returns
   * the sequence number its sync reports back with. Call before routing its messages.
   */
  written(index: number, first: number | undefined): number {
    // A write that replaced entries from `first` on: syncs already asked for cover only those before.
    if (first !== undefined) for (const p of this.pending) p.index = Math.min(p.index, first - 1);
    this.pending.push({ seq: ++this.seq, index, held: [] });
    return this.seq;
  }

  /** The caller should sync at once (and call done(all)) rather than queue more. */
  get full(): boolean {
    return this.pending.length >= raftSyncsPendingMax;
  }

  /** The sequence number of the latest write (done(latest) releases everything). */
  get latest(): number {
    return this.seq;
  }

  /** True when `msg` may leave now; otherwise it is held until the syncs under way are done. */
  mayGo(msg: RaftMessage): boolean {
    const last = this.pending[this.pending.length - 1];
    if (last === undefined) return true;
    if (this.holding === 0 && (msg.type === 'append' || msg.type === 'snapshot')) return true; // a leader's own data
    last.held.push(msg);
    this.holding++;
    return false;
  }

  /** Sync `seq` (and every earlier one) is done: each one's durable index and held messages, in order. */
  done(seq: number): { readonly index: number; readonly messages: readonly RaftMessage[] }[] {
    const out: { index: number; messages: RaftMessage[] }[] = [];
    while (this.pending.length > 0 && this.pending[0]!.seq <= seq) {
      const p = this.pending.shift()!;
      this.holding -= p.held.length;
      out.push({ index: p.index, messages: p.held });
    }
    return out;
  }
}

/**
 * The journal's format, written as a `{ v }` record first in a fresh journal, first in every rewrite,
 * and once after each start. Format 4 is the first to say it (a command entry may hold a window batch:
 * src/actors/log-payload.ts). A journal holding a later format is refused at replay, so that an older
 * chorusdb never misreads records it does not know (one before format 4 cannot tell, and must not be
 * given a format-4 journal: docs/transport.md).
 */
export const JOURNAL_FORMAT = 4;

/** The format record. */
export function formatRecord(): Uint8Array {
  return encodeMsgpack({ v: JOURNAL_FORMAT });
}

/** Rebuilds the image, log and hard state from the journal (an empty journal gives a fresh node). */
export function replay(journal: Journal, everyone: VersionedMembership): { hardState: HardState; log: RaftLog; image: StateImage | undefined; membership: VersionedMembership } {
  let hardState: HardState = { term: 0, vote: undefined, commit: 0 };
  let base = { index: 0, term: 0 };
  let membership = everyone; // at the compaction point
  let image: { index: number; term: number; frames: Uint8Array[]; count: number; membership: VersionedMembership } | undefined;
  let entries: Entry[] = [];
  for (const bytes of journal.recovered) {
    const record = decodeMsgpack(bytes) as { e?: Entry[]; h?: [number, NodeId | null, number]; i?: [number, number, number, VersionedMembership?]; f?: Uint8Array; b?: [number, number, VersionedMembership?]; v?: number };
    if (record.v !== undefined && !(record.v <= JOURNAL_FORMAT)) {
      throw new ChorusError('CORRUPT', `the Raft journal was written by a later chorusdb (journal format ${String(record.v)}; this one reads up to ${JOURNAL_FORMAT}): open it with that version or later`);
    }
    if (record.i !== undefined) image = { index: record.i[0], term: record.i[1], count: record.i[2], frames: [], membership: record.i[3] ?? everyone };
    if (record.f !== undefined) image!.frames.push(record.f);
    if (record.b !== undefined) {
      base = { index: record.b[0], term: record.b[1] };
      membership = record.b[2] ?? everyone;
      entries = [];
    }
    if (record.h !== undefined) hardState = { term: record.h[0], vote: record.h[1] ?? undefined, commit: record.h[2] };
    const first = record.e?.[0];
    if (first !== undefined) entries = [...entries.slice(0, first.index - base.index - 1), ...record.e!];
  }
  // A rewrite is atomic, so an image is whole; check it anyway rather than start from half of one.
  assert(image === undefined || image.frames.length === image.count, `journal: image at ${image?.index} has ${image?.frames.length} of ${image?.count} frames`);
  // A commit index beyond the entries that survived cannot be (they were synced together): keep it honest.
  const imageIndex = image?.index ?? base.index;
  const commit = Math.max(Math.min(hardState.commit, base.index + entries.length), imageIndex);
  const restored = image === undefined ? undefined : { index: image.index, term: image.term, frames: image.frames, membership: image.membership };
  return { hardState: { ...hardState, commit }, log: RaftLog.restore(entries, commit, base, imageIndex), image: restored, membership };
}

/** Writes and syncs a Ready's image, hard state and entries (the synchronous way). */
export function persist(journal: Journal, raft: Raft, ready: Ready): void {
  if (ready.entries.length > 0 || ready.hardState !== undefined || ready.image !== undefined) {
    write(journal, raft, ready, raft.hardState());
    journal.sync();
  }
}

/**
 * Writes a Ready's image, hard state and entries, not synced yet. Returns whether anything must be
 * synced before what depends on it leaves: entries, an image, or a new term or vote. A commit index
 * alone needs no sync of its own (it is only a hint at restart: replay bounds it by the entries there,
 * and a leader tells the node again), so it rides on the next sync.
 */
export function write(journal: Journal, raft: Raft, ready: Ready, before: HardState): boolean {
  if (ready.entries.length === 0 && ready.hardState === undefined && ready.image === undefined) return false;
  keepBytes(ready.entries); // encoded once here (or kept from the wire), copied as they are from then on
  if (ready.image !== undefined) journal.rewrite(compacted(raft, ready.image.image));
  const h = ready.hardState ?? (ready.image !== undefined ? raft.hardState() : undefined); // a rewrite drops the old one
  const hard = h === undefined ? undefined : [h.term, h.vote ?? null, h.commit];
  // One record when both changed (replay applies a record's entries and hard state alike). The journal
  // copies what it is given, so a record is encoded into the encoder's own buffer, not into a copy of
  // its own (two records per commit on every node: most of them larger than V8 keeps on its heap).
  if (ready.entries.length > 0) journal.append(hard === undefined ? encodeMsgpackMapTransient(entriesKeys, [ready.entries]) : encodeMsgpackMapTransient(bothKeys, [ready.entries, hard]));
  else if (hard !== undefined) journal.append(encodeMsgpackMapTransient(hardKeys, [hard]));
  return ready.entries.length > 0 || ready.image !== undefined || (h !== undefined && (h.term !== before.term || h.vote !== before.vote));
}

/** The keys of the records a Ready writes: { e }, { e, h }, { h } (encodeMsgpackMapTransient). */
const entriesKeys = ['e'];
const bothKeys = ['e', 'h'];
const hardKeys = ['h'];

/**
 * The journal after compaction: the image, where the log starts again, the persisted entries after it.
 * A data node's journal starts at the image, which covers every entry up to it: its log keeps
 * `logTransactionsRetained` transactions behind the image in memory for lagging followers, but writing those again
 * (~29 MB with the default transLogLength of 100-byte rows, when it counted entries) made each rewrite block the node for
 * 100-400 ms (assembled, written and fsynced at once); after a restart, a follower that far behind gets
 * the image instead. An arbiter has no image to send: its journal keeps its whole log.
 */
function compacted(raft: Raft, image: StateImage): Uint8Array[] {
  const log = raft.log;
  const records = [formatRecord(), encodeMsgpack({ i: [image.index, image.term, image.frames.length, image.membership] })];
  for (const f of image.frames) records.push(encodeMsgpack({ f }));
  const from = raft.dataless
    ? { index: log.compactedIndex, term: log.compactedTerm, membership: raft.members.at(log.compactedIndex) }
    : { index: image.index, term: image.term, membership: image.membership };
  records.push(encodeMsgpack({ b: [from.index, from.term, from.membership] }));
  // Entries written before (synced or not: the rewrite replaces the file they are in) go in; later ones
  // are in ready.entries, appended right after the rewrite.
  const stable = Math.min(Math.max(log.stableIndex, log.writtenIndex), log.lastIndex());
  if (stable > from.index) {
    const entries = log.slice(from.index + 1, stable - from.index);
    keepBytes(entries); // from a journal of before kept bytes, they are encoded once more, then kept
    records.push(encodeMsgpack({ e: entries }));
  }
  return records;
}
