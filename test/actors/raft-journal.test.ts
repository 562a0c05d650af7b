/**
 * The replicator's journal records (src/actors/raft-journal.ts) as a restarted node reads them: term and
 * vote survive a compaction and a power loss right after it (Raft §5.2: at most one vote per term),
 * a replay applies entries that replace a conflicting suffix as Raft wrote them (§5.3), and a journal
 * that is another node's or another cluster's is refused before anything in it is used.
 */
import { describe, expect, it } from 'vitest';
import { Raft } from '../../src/cluster/raft/raft.js';
import type { RaftMessage } from '../../src/cluster/raft/messages.js';
import type { Journal } from '../../src/runtime/journal.js';
import { ChorusError } from '../../src/runtime/errors.js';
import { JOURNAL_FORMAT, identityRecord, persist, replay, write } from '../../src/actors/raft-journal.js';
import type { JournalIdentity } from '../../src/actors/raft-journal.js';
import { encodeMsgpack } from '../../src/store/codec.js';
import { imageDigest } from '../../src/cluster/raft/image-digest.js';
import { PowerLossJournal as SyncedOnlyJournal } from './power-loss-journal.js';

/** A disk that keeps, after a power loss, what was synced (a rewrite is synced when it returns) and nothing else. */
class PowerLossJournal extends SyncedOnlyJournal {
  /** A background sync asked for, still under way when the power goes. */
  readonly syncThen = (): void => {};
}

const voters = ['n1', 'n2', 'n3'].map((id) => ({ id, qrank: 1 }));
const everyone = { membership: { members: ['n1', 'n2', 'n3'] }, index: 0 };
const config = (incarnation: number) => ({
  id: 'n1', voters, electionTicks: 10, heartbeatTicks: 1, random: () => 0.5, preVote: false, checkQuorum: false,
  appendEntriesMax: 64, inflightAppendsMax: 4, logTransactionsRetained: 1, readsPendingMax: 8, forwardedBytesMax: 1 << 20, incarnation,
});
const noop = (term: number, index: number) => ({ term, index, data: { kind: 'noop' as const } });

/** n1 votes for n2 in term 5, synced before its answer leaves; returns it with its journal. */
function votedForN2(): { raft: Raft; journal: PowerLossJournal; drain: () => RaftMessage[] } {
  const journal = new PowerLossJournal();
  const raft = new Raft(config(1), replay(journal, everyone));
  const drain = () => {
    const out: RaftMessage[] = [];
    while (raft.hasReady()) {
      const ready = raft.ready();
      persist(journal, raft, ready);
      out.push(...ready.messages);
      raft.advance(ready);
    }
    return out;
  };
  raft.step({ type: 'vote', term: 5, from: 'n2', to: 'n1', lastIndex: 0, lastTerm: 0, transfer: false });
  expect(drain()).toContainEqual(expect.objectContaining({ type: 'voteResp', granted: true, term: 5 }));
  return { raft, journal, drain };
}

/** Writes the next Ready the background way (write now, sync later: never, the power goes first). */
function writeWithoutSync(raft: Raft, journal: PowerLossJournal): void {
  const ready = raft.ready();
  write(journal, raft, ready, raft.hardState());
  raft.advance(ready, false);
}

/** The answer a node restarted from `journal` gives n3, a candidate of term 5 with a log as long as any. */
function answerToN3(journal: Journal, lastIndex: number): RaftMessage | undefined {
  const restarted = new Raft(config(2), replay(journal, everyone));
  restarted.step({ type: 'vote', term: 5, from: 'n3', to: 'n1', lastIndex, lastTerm: 5, transfer: false });
  const answers: RaftMessage[] = [];
  while (restarted.hasReady()) {
    const ready = restarted.ready();
    answers.push(...ready.messages);
    restarted.advance(ready);
  }
  return answers.find((m) => m.type === 'voteResp');
}

describe('raft journal: term and vote across a compaction', () => {
  it('a node that compacts its journal and loses power before the next sync still refuses a second vote in its term', () => {
    const { raft, journal, drain } = votedForN2();
    raft.step({ type: 'append', term: 5, from: 'n2', to: 'n1', prevIndex: 0, prevTerm: 0, entries: [noop(5, 1), noop(5, 2)], commit: 2 });
    drain();
    raft.takeImage(2, [new Uint8Array([1, 2, 3])]);
    writeWithoutSync(raft, journal); // the rewrite (synced) and what follows it (not)
    expect(answerToN3(journal.afterPowerLoss(), 2)).toMatchObject({ type: 'voteResp', term: 5, granted: false });
  });

  it('so does a follower that installs a leader\'s image', () => {
    const { raft, journal } = votedForN2();
    raft.step({ type: 'snapshot', term: 5, from: 'n2', to: 'n1', index: 10, snapTerm: 5, chunk: 0, chunks: 1, data: new Uint8Array([7]), membership: everyone, commit: 10, digest: imageDigest([new Uint8Array([7])]) });
    writeWithoutSync(raft, journal);
    const after = replay(journal.afterPowerLoss(), everyone);
    expect(after.image?.index).toBe(10);
    expect(after.hardState).toMatchObject({ term: 5, vote: 'n2' });
    expect(answerToN3(journal.afterPowerLoss(), 10)).toMatchObject({ type: 'voteResp', term: 5, granted: false });
  });

  it('a journal compacted by an earlier version (no hard state in the rewrite) restarts in its image\'s and entries\' term, not term 0', () => {
    const rewritten = [
      encodeMsgpack({ v: JOURNAL_FORMAT }),
      encodeMsgpack({ i: [4, 5, 1, everyone] }), encodeMsgpack({ f: new Uint8Array([1]) }), encodeMsgpack({ b: [4, 5, everyone] }),
    ];
    expect(replay({ recovered: rewritten, append() {}, sync() {}, rewrite() {} }, everyone).hardState.term).toBe(5);
    const withEntry = [...rewritten, encodeMsgpack({ e: [noop(6, 5)] })];
    expect(replay({ recovered: withEntry, append() {}, sync() {}, rewrite() {} }, everyone).hardState).toMatchObject({ term: 6, vote: undefined });
  });
});

const journalOf = (...records: object[]): Journal => ({ recovered: records.map((r) => encodeMsgpack(r)), append() {}, sync() {}, rewrite() {} });

describe('raft journal: replay', () => {
  it('entries replace the log from their first index on: a conflicting suffix goes, what came before stays', () => {
    const journal = journalOf(
      { v: JOURNAL_FORMAT },
      { e: [noop(1, 1), noop(1, 2), noop(1, 3), noop(1, 4), noop(1, 5)] },
      { e: [noop(2, 4), noop(2, 5), noop(2, 6)], h: [2, null, 3] }, // a new leader's entries over 4 and 5
      { e: [noop(2, 7)] },
      { e: [noop(3, 3)], h: [3, null, 2] }, // and another's over 3 to 7
      { e: [noop(3, 4)] },
    );
    const { log, hardState } = replay(journal, everyone);
    expect(log.slice(1, log.lastIndex()).map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 1], [3, 3], [4, 3]]);
    expect(hardState).toMatchObject({ term: 3, commit: 2 });
  });

  it('after a rewrite, entries count from where the log on disk starts', () => {
    const journal = journalOf(
      { v: JOURNAL_FORMAT }, { i: [10, 2, 0, everyone] }, { b: [10, 2, everyone] },
      { e: [noop(2, 11), noop(2, 12), noop(2, 13)] }, { e: [noop(3, 12)] },
    );
    const { log } = replay(journal, everyone);
    expect(log.slice(11, log.lastIndex() - 10).map((e) => [e.index, e.term])).toEqual([[11, 2], [12, 3]]);
  });

  it('refuses entries that leave a gap in the log (CORRUPT), naming where the log runs', () => {
    const journal = journalOf({ v: JOURNAL_FORMAT }, { e: [noop(1, 1)] }, { e: [noop(1, 3)] });
    expect(() => replay(journal, everyone)).toThrow(/holds entries from index 3, but its log runs from 1 to 1/);
  });
});

const identity: JournalIdentity = { node: 'n1', nodes: ['n1', 'n2', 'n3'] };
const refusal = (held: JournalIdentity, mine: JournalIdentity = identity): ChorusError | undefined => {
  try {
    replay({ path: '/data/n1.replicator.journal', recovered: [encodeMsgpack({ v: JOURNAL_FORMAT }), identityRecord(held)], append() {}, sync() {}, rewrite() {} }, everyone, mine);
    return undefined;
  } catch (error) {
    return error as ChorusError;
  }
};

describe('raft journal: whose journal it is', () => {
  it('opens its own journal, whatever the order its nodes were given in', () => {
    expect(refusal({ node: 'n1', nodes: ['n3', 'n1', 'n2'] })).toBeUndefined();
  });

  it('refuses another node\'s, another cluster\'s, or one of another cluster name (FOREIGN_DATA), naming the journal and what differs', () => {
    const other = refusal({ node: 'n2', nodes: ['n1', 'n2', 'n3'] });
    expect(other?.code).toBe('FOREIGN_DATA');
    expect(other?.message).toMatch(/^the Raft journal \/data\/n1\.replicator\.journal belongs to another node or cluster: it is the journal of node "n2", this node is "n1"/);
    expect(refusal({ node: 'n1', nodes: ['n1', 'n2', 'n4'] })?.message).toMatch(/its cluster's nodes were \["n1","n2","n4"\], this node's are \["n1","n2","n3"\]/);
    expect(refusal({ node: 'n1', nodes: ['n1', 'n2', 'n3'], cluster: 'orders' }, { ...identity, cluster: 'billing' })?.message).toMatch(/its cluster name was "orders", this node's is "billing"/);
    expect(refusal({ node: 'n1', nodes: ['n1', 'n2', 'n3'] }, { ...identity, cluster: 'billing' })?.message).toMatch(/its cluster name was none, this node's is "billing"/);
  });

  it('adopts a journal written before identities (it has none)', () => {
    const legacy = journalOf({ v: JOURNAL_FORMAT }, { h: [3, 'n2', 0] }, { e: [noop(3, 1)] });
    expect(replay(legacy, everyone, identity).hardState).toMatchObject({ term: 3, vote: 'n2' });
  });
});
