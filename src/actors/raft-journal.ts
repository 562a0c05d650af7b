/**
 * The replicator's journal: what a Ready writes (and in which order), the journal after compaction, the
 * replay on start, and, for journals that sync in the background, the Readies written but not yet
 * durable with the messages that must wait for them.
 *
 * Journal records: `{ v: format }` (JOURNAL_FORMAT, below), `{ n: identity }` (JournalIdentity: whose
 * journal it is), `{ e: Entry[] }` (entries that replace the log from their first index on; each entry
 * keeps its msgpack bytes, written as an ext of kept bytes: see src/store/msgpack-encode.ts),
 * `{ h: [term, vote, commit] }`, and, at the start of a rewritten journal, after its `{ v }`, `{ n }` and
 * `{ h }`, `{ i: [index, term, frames, membership] }` followed by that many `{ f: frame }` (the image),
 * then `{ b: [index, term, membership] }` (where the log on disk starts, and the membership in force
 * there; later changes are entries): the image's own index on a data node, the compaction point on an
 * arbiter (see `compacted`). A rewrite is durable when it returns and replaces the file the hard state
 * was in, so it holds the hard state itself: term and vote are never less durable than before.
 *
 * Background sync (thesis §10.2.1): a leader sends its appends and image chunks while its own write is
 * being synced, and counts itself toward a commit only once it is (Raft.persisted). Every other message
 * (acknowledgements, votes, a candidate's requests) waits for every sync under way when it was made: it
 * may claim entries or a vote that only those make durable. Held messages leave in the order they were
 * made, and nothing is sent early past a held one, so per-link order is kept. A new commit index is
 * synced as well before the entries under it are applied (RaftLog.durableCommit): otherwise a node that
 * crashed right after applying, answering a writer and serving reads would restart at the older commit,
 * and its reads would go back until a leader told it the commit again.
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
  private readonly pending: { readonly seq: number; index: number; readonly commit: number; readonly held: RaftMessage[] }[] = [];
  private holding = 0;

  /**
   * A Ready was written, its last entry at `index` (or nothing new: the written index then), and the
   * commit index of the hard state written last, `commit`. Returns the sequence number its sync reports
   * back with. Call before routing its messages.
   */
  written(index: number, first: number | undefined, commit: number): number {
    // A write that replaced entries from `first` on: syncs already asked for cover only those before.
    if (first !== undefined) for (const p of this.pending) p.index = Math.min(p.index, first - 1);
    this.pending.push({ seq: ++this.seq, index, commit, held: [] });
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

  /** Sync `seq` (and every earlier one) is done: each one's durable index and commit, and held messages, in order. */
  done(seq: number): { readonly index: number; readonly commit: number; readonly messages: readonly RaftMessage[] }[] {
    const out: { index: number; commit: number; messages: RaftMessage[] }[] = [];
    while (this.pending.length > 0 && this.pending[0]!.seq <= seq) {
      const p = this.pending.shift()!;
      this.holding -= p.held.length;
      out.push({ index: p.index, commit: p.commit, messages: p.held });
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

/**
 * Who wrote a journal: the node's address, the cluster's configured nodes (their addresses, sorted; the
 * `nodes` given at open, not the membership of the moment: detach and attach change that through the
 * log) and, over TCP, the cluster's name. Written as `{ n: [node, nodes, cluster | null] }` first in
 * every rewrite and once after each start (a journal from before it adopts the node's identity).
 */
export interface JournalIdentity {
  readonly node: NodeId;
  readonly nodes: readonly NodeId[];
  readonly cluster?: string | undefined;
}

/** The identity record. */
export function identityRecord(identity: JournalIdentity): Uint8Array {
  return encodeMsgpack({ n: [identity.node, [...identity.nodes].sort(), identity.cluster ?? null] });
}

/** What differs between the identity a journal holds and this node's (empty: the same node). */
export function identityDifferences(held: readonly unknown[], identity: JournalIdentity): string[] {
  const [node, nodes, cluster] = held as [unknown, unknown, unknown];
  const differences: string[] = [];
  if (node !== identity.node) differences.push(`it is the journal of node ${JSON.stringify(node)}, this node is ${JSON.stringify(identity.node)}`);
  const heldNodes = Array.isArray(nodes) ? nodes.map(String) : [];
  const missing = identity.nodes.filter((n) => !heldNodes.includes(n));
  const extra = heldNodes.filter((n) => !identity.nodes.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    differences.push(`its cluster's nodes were ${JSON.stringify([...heldNodes].sort())}, this node's are ${JSON.stringify([...identity.nodes].sort())}`);
  }
  if ((cluster ?? undefined) !== identity.cluster) differences.push(`its cluster name was ${JSON.stringify(cluster ?? undefined) ?? 'none'}, this node's is ${JSON.stringify(identity.cluster) ?? 'none'}`);
  return differences;
}

type JournalRecord = { e?: Entry[]; h?: [number, NodeId | null, number]; i?: [number, number, number, VersionedMembership?]; f?: Uint8Array; b?: [number, number, VersionedMembership?]; v?: number; n?: unknown[] };

/**
 * Rebuilds the image, log and hard state from the journal (an empty journal gives a fresh node). With
 * `identity`, a journal that holds another one (another node's, or another cluster's) is refused
 * (FOREIGN_DATA, naming the journal and what differs) before anything in it is used.
 */
export function replay(journal: Journal, everyone: VersionedMembership, identity?: JournalIdentity): { hardState: HardState; log: RaftLog; image: StateImage | undefined; membership: VersionedMembership } {
  let hardState: HardState = { term: 0, vote: undefined, commit: 0 };
  let base = { index: 0, term: 0 };
  let membership = everyone; // at the compaction point
  let image: { index: number; term: number; frames: Uint8Array[]; count: number; membership: VersionedMembership } | undefined;
  const entries: Entry[] = [];
  for (const bytes of journal.recovered) {
    const record = decodeMsgpack(bytes) as JournalRecord;
    if (record.v !== undefined && !(record.v <= JOURNAL_FORMAT)) {
      throw new ChorusError('CORRUPT', `the Raft journal was written by a later chorusdb (journal format ${String(record.v)}; this one reads up to ${JOURNAL_FORMAT}): open it with that version or later`);
    }
    if (record.n !== undefined && identity !== undefined) refuseForeign(journal, record.n, identity);
    if (record.i !== undefined) image = { index: record.i[0], term: record.i[1], count: record.i[2], frames: [], membership: record.i[3] ?? everyone };
    if (record.f !== undefined) image!.frames.push(record.f);
    if (record.b !== undefined) {
      base = { index: record.b[0], term: record.b[1] };
      membership = record.b[2] ?? everyone;
      entries.length = 0;
    }
    if (record.h !== undefined) hardState = { term: record.h[0], vote: record.h[1] ?? undefined, commit: record.h[2] };
    if (record.e !== undefined) replaceFrom(entries, base.index, record.e);
  }
  // A rewrite is atomic, so an image is whole; check it anyway rather than start from half of one.
  assert(image === undefined || image.frames.length === image.count, `journal: image at ${image?.index} has ${image?.frames.length} of ${image?.count} frames`);
  // A commit index beyond the entries that survived cannot be (they were synced together): keep it honest.
  const imageIndex = image?.index ?? base.index;
  const commit = Math.max(Math.min(hardState.commit, base.index + entries.length), imageIndex);
  const restored = image === undefined ? undefined : { index: image.index, term: image.term, frames: image.frames, membership: image.membership };
  return { hardState: atLeastLogTerm({ ...hardState, commit }, Math.max(base.term, image?.term ?? 0, entries[entries.length - 1]?.term ?? 0)), log: RaftLog.restore(entries, commit, base, imageIndex), image: restored, membership };
}

/**
 * An `{ e }` record's entries replace the log from their first index on (a new leader's entries over a
 * conflicting suffix, §5.3), in place: copying the log for each record made a replay quadratic (80,000
 * records: over two minutes).
 */
function replaceFrom(entries: Entry[], baseIndex: number, from: readonly Entry[]): void {
  const first = from[0];
  if (first === undefined) return;
  const keep = first.index - baseIndex - 1;
  if (keep < 0 || keep > entries.length) {
    throw new ChorusError('CORRUPT', `the Raft journal holds entries from index ${first.index}, but its log runs from ${baseIndex + 1} to ${baseIndex + entries.length}`);
  }
  entries.length = keep;
  for (const entry of from) entries.push(entry);
}

/**
 * The term a node restarts in is at least that of its last entry or image. Journals written before the
 * hard state went into every rewrite could lose term and vote to a power loss right after one; the
 * vote is unknown then, but no candidate of that term can win it: one that lacks the entries of its own
 * term (a candidate holds none: they come from that term's leader, which it would follow) is refused
 * as less up to date (§5.4.1).
 */
function atLeastLogTerm(hardState: HardState, logTerm: number): HardState {
  return logTerm > hardState.term ? { term: logTerm, vote: undefined, commit: hardState.commit } : hardState;
}

function refuseForeign(journal: Journal, held: unknown[], identity: JournalIdentity): void {
  const differences = identityDifferences(held, identity);
  if (differences.length === 0) return;
  const where = journal.path === undefined ? 'the Raft journal' : `the Raft journal ${journal.path}`;
  throw new ChorusError('FOREIGN_DATA', `${where} belongs to another node or cluster: ${differences.join('; ')}. Open the node with the dataDir it wrote, or, to start this node empty, move that journal aside (docs/cluster.md, "Durability")`);
}

/** Writes and syncs a Ready's image, hard state and entries (the synchronous way). */
export function persist(journal: Journal, raft: Raft, ready: Ready, identity?: JournalIdentity): void {
  if (ready.entries.length > 0 || ready.hardState !== undefined || ready.image !== undefined) {
    write(journal, raft, ready, raft.hardState(), identity);
    journal.sync();
  }
}

/**
 * Writes a Ready's image, hard state and entries, not synced yet. Returns whether anything must be
 * synced before what depends on it goes on: entries, an image, or a new term or vote (before messages
 * claiming them leave), or a new commit index (before the entries under it are applied: RaftLog.durableCommit).
 */
export function write(journal: Journal, raft: Raft, ready: Ready, before: HardState, identity?: JournalIdentity): boolean {
  if (ready.entries.length === 0 && ready.hardState === undefined && ready.image === undefined) return false;
  keepBytes(ready.entries); // encoded once here (or kept from the wire), copied as they are from then on
  // A rewrite replaces the file the hard state was in: it holds the current one (term and vote must
  // never be less durable than before, or a power loss right after could let this node vote twice).
  if (ready.image !== undefined) journal.rewrite(compacted(raft, ready.image.image, identity));
  const h = ready.hardState;
  const hard = h === undefined ? undefined : [h.term, h.vote ?? null, h.commit];
  // One record when both changed (replay applies a record's entries and hard state alike). The journal
  // copies what it is given, so a record is encoded into the encoder's own buffer, not into a copy of
  // its own (two records per commit on every node: most of them larger than V8 keeps on its heap).
  if (ready.entries.length > 0) journal.append(hard === undefined ? encodeMsgpackMapTransient(entriesKeys, [ready.entries]) : encodeMsgpackMapTransient(bothKeys, [ready.entries, hard]));
  else if (hard !== undefined) journal.append(encodeMsgpackMapTransient(hardKeys, [hard]));
  // A new commit index is synced too: entries are applied only under a durable one (RaftLog.durableCommit).
  return ready.entries.length > 0 || ready.image !== undefined || (h !== undefined && (h.term !== before.term || h.vote !== before.vote || h.commit !== before.commit));
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
function compacted(raft: Raft, image: StateImage, identity: JournalIdentity | undefined): Uint8Array[] {
  const log = raft.log;
  const hard = raft.hardState();
  const records = [formatRecord()];
  if (identity !== undefined) records.push(identityRecord(identity));
  records.push(encodeMsgpack({ h: [hard.term, hard.vote ?? null, hard.commit] }));
  records.push(encodeMsgpack({ i: [image.index, image.term, image.frames.length, image.membership] }));
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
