/**
 * The replicator's start from its journal, as an operator sees it: a tail cut by the journal's
 * recovery is logged (offset, bytes, reason) rather than dropped without a word; the records read at
 * start are let go once replayed (the node does not hold its whole startup journal for its lifetime);
 * and the journal is marked with this run's format and the node's identity.
 */
import { describe, expect, it } from 'vitest';
import { replicator } from '../../src/actors/replicator.js';
import type { ReplicatorMessage } from '../../src/actors/replicator.js';
import type { ActorContext } from '../../src/runtime/actor.js';
import type { Journal } from '../../src/runtime/journal.js';
import { JOURNAL_FORMAT } from '../../src/actors/raft-journal.js';
import { decodeMsgpack, encodeMsgpack } from '../../src/store/codec.js';

class StartJournal implements Journal {
  appended: unknown[] = [];
  readonly path = '/data/n1.replicator.journal';
  readonly tailCut = { offset: 4096, bytes: 600, reason: 'checksum mismatch' };
  constructor(public recovered: readonly Uint8Array[]) {}
  append(record: Uint8Array): void {
    this.appended.push(decodeMsgpack(record));
  }
  sync(): void {}
  rewrite(): void {}
  releaseRecovered(): void {
    this.recovered = [];
  }
}

describe('replicator: start from a journal', () => {
  it('logs the tail its journal cut, lets go of the records it replayed, and marks the journal with its format and identity', () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({ term: 2, index: i + 1, data: { kind: 'noop' } }));
    const journal = new StartJournal([encodeMsgpack({ v: JOURNAL_FORMAT }), encodeMsgpack({ e: entries, h: [2, 'n2', 50] })]);
    const warnings: { msg: string; fields: unknown }[] = [];
    const ctx: ActorContext<ReplicatorMessage> = {
      self: { node: 'n1', actor: 'replicator' }, journal, batchEnds: true, now: () => 0, random: () => 0.5,
      log: { debug() {}, info() {}, warn: (msg, fields) => void warnings.push({ msg, fields }), error() {} },
      setTimer: () => 1, cancelTimer() {}, send: () => undefined,
    };
    const voters = ['n1', 'n2', 'n3'].map((id) => ({ id, qrank: 1 }));
    replicator.create(ctx, {
      voters, tickMs: 10, electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, appendEntriesMax: 8, inflightAppendsMax: 4,
      logTransactionsRetained: 1000, forwardedBytesMax: 1 << 20, imageFrameRowsMax: 100, imageFrameBytesMax: 1 << 20,
      identity: { node: 'n1', nodes: ['n1', 'n2', 'n3'] },
    });
    expect(warnings).toEqual([{ msg: expect.stringMatching(/^journal: a torn or unsynced tail was cut off/), fields: { journal: journal.path, offset: 4096, bytes: 600, reason: 'checksum mismatch' } }]);
    expect(journal.recovered).toEqual([]);
    expect(journal.appended.slice(0, 2)).toEqual([{ v: JOURNAL_FORMAT }, { n: ['n1', ['n1', 'n2', 'n3'], null] }]);
  });
});
