/**
 * The replicator with a journal that syncs in the background (thesis §10.2.1): the real replicator
 * actor, three of them, driven by a seeded schedule that delivers messages in any order (or drops them),
 * finishes syncs late, ticks, proposes, and crashes nodes, each losing what its journal had not synced.
 *
 * What a user would notice if this went wrong: an acknowledged write lost, or two nodes applying
 * different writes at one log index (Raft's State Machine Safety, §5.4.3). Checked over every commit
 * any node ever handed on, across crashes. Also checked directly: a follower's acknowledgement never
 * leaves before its sync, and a leader's append does; and no node hands on (applies, answers a writer
 * for, serves reads from) an entry its journal does not yet hold as committed, since after a crash it
 * would restart without it and its reads would go back.
 */
import { describe, expect, it } from 'vitest';
import { replicator } from '../../src/actors/replicator.js';
import type { Persisted, ReplicatorMessage } from '../../src/actors/replicator.js';
import type { ActorContext, Address, Message } from '../../src/runtime/actor.js';
import type { Entry, RaftMessage } from '../../src/cluster/raft/messages.js';
import { replay } from '../../src/actors/raft-journal.js';
import { Rng } from '../../simulate/rng.js';
import { PowerLossJournal } from '../actors/power-loss-journal.js';

const ids = ['n1', 'n2', 'n3'];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A journal on a disk that keeps only what was synced when its node crashes, with syncs finished late. */
class FlakyJournal extends PowerLossJournal {
  /** syncThen requests, oldest first: the record count each waits for (undefined: carried by a rewrite). */
  requests: { upTo: number | undefined; message: Message }[] = [];

  override rewrite(records: readonly Uint8Array[]): void {
    super.rewrite(records);
    for (const r of this.requests) r.upTo = undefined;
  }
  readonly syncThen = (message: Message): void => {
    for (const r of this.requests) r.upTo ??= this.records.length;
    this.requests.push({ upTo: this.records.length, message });
  };
  /** Finishes the oldest sync: its message, or undefined when none is asked for. */
  finishOne(): Message | undefined {
    const r = this.requests[0];
    if (r === undefined || r.upTo === undefined) return undefined;
    this.requests.shift();
    this.durable = Math.max(this.durable, r.upTo);
    return r.message;
  }
}

/** What a restart from the synced records alone would hold. */
function durableState(journal: FlakyJournal) {
  return replay(journal.afterPowerLoss(), { membership: { members: ids }, index: 0 });
}
const durableLast = (journal: FlakyJournal) => durableState(journal).log.lastIndex();
const durableVote = (journal: FlakyJournal) => durableState(journal).hardState.vote;

interface Sent {
  readonly from: string;
  readonly to: string;
  readonly msg: RaftMessage;
  /** The sender's durable record count and whether its journal had syncs outstanding, when sent. */
  readonly unsyncedAtSend: boolean;
}

class Cluster {
  readonly journals = new Map<string, FlakyJournal>();
  readonly actors = new Map<string, { receive(m: ReplicatorMessage, from: Address): void; afterBatch?(): void }>();
  readonly ticks = new Map<string, Message>();
  net: Sent[] = [];
  /** Every entry any node handed on as committed, by index: all must agree. */
  readonly committed = new Map<number, string>();
  /** Acknowledgements that left a follower while the records they claim were not durable. */
  earlyAcks = 0;
  /** Leader appends carrying entries that left before the leader's own sync. */
  earlyAppends = 0;
  /** Entries handed on while a crash would have restarted their node at an earlier commit index. */
  earlyApplies = 0;
  proposals = 0;
  /** The nodes that handed on each proposed payload. */
  readonly appliedBy = new Map<string, string[]>();

  /** batched: the host calls afterBatch (as the thread and inline hosts do), here after a random run of steps. */
  constructor(readonly rng: Rng, readonly batched: boolean) {
    for (const id of ids) this.start(id, []);
  }

  start(id: string, recovered: readonly Uint8Array[]): void {
    const journal = new FlakyJournal(recovered);
    this.journals.set(id, journal);
    const ctx: ActorContext<ReplicatorMessage> = {
      self: { node: id, actor: 'replicator' },
      journal,
      batchEnds: this.batched,
      now: () => 0,
      random: () => this.rng.next(),
      log: quiet,
      setTimer: (_delayMs, message) => {
        this.ticks.set(id, message);
        return 1;
      },
      cancelTimer: () => {},
      send: (to, message) => {
        if (message.type === 'raft') {
          const msg = (message as unknown as { msg: RaftMessage }).msg;
          const unsynced = journal.durable < journal.records.length;
          if (msg.type === 'appendResp' && msg.success && unsynced && durableLast(journal) < msg.index) this.earlyAcks++;
          if (msg.type === 'voteResp' && msg.granted && unsynced && durableVote(journal) !== to.node) this.earlyAcks++;
          if (msg.type === 'append' && msg.entries.length > 0 && unsynced) this.earlyAppends++;
          this.net.push({ from: id, to: to.node, msg, unsyncedAtSend: unsynced });
        } else if (message.type === 'committed') {
          const entries = (message as unknown as { entries: Entry[] }).entries;
          for (const e of entries) {
            this.agree(id, e);
            const payload = e.data.kind === 'command' ? e.data.payload : undefined;
            for (const p of Array.isArray(payload) ? payload : [payload]) if (typeof p === 'string') this.appliedBy.set(p, [...(this.appliedBy.get(p) ?? []), id]);
          }
          if (entries[entries.length - 1]!.index > durableState(journal).log.committed) this.earlyApplies++;
        }
        return undefined;
      },
    };
    const voters = ids.map((v) => ({ id: v, qrank: 1 }));
    this.actors.set(id, replicator.create(ctx, {
      voters, tickMs: 10, electionTicks: 10, heartbeatTicks: 2, preVote: true, checkQuorum: true, appendEntriesMax: 8, inflightAppendsMax: 4,
      logTransactionsRetained: 1_000_000, forwardedBytesMax: 1 << 30, imageFrameRowsMax: 100, imageFrameBytesMax: 1 << 20,
    }));
  }

  private agree(id: string, e: Entry): void {
    const seen = JSON.stringify([e.term, e.data]);
    const before = this.committed.get(e.index);
    if (before === undefined) this.committed.set(e.index, seen);
    else expect(seen, `${id} applied another entry at index ${e.index}`).toBe(before);
  }

  /** Delivers every message and finishes every sync, ticking each node when nothing else is left, `rounds` times. */
  settle(rounds: number): void {
    for (let round = 0; round < rounds; round++) {
      for (const [id, actor] of this.actors) {
        for (let message = this.journals.get(id)!.finishOne(); message !== undefined; message = this.journals.get(id)!.finishOne()) actor.receive(message as Persisted, { node: id, actor: 'replicator' });
        actor.afterBatch?.();
      }
      const net = this.net;
      this.net = [];
      for (const sent of net) this.actors.get(sent.to)!.receive({ type: 'raft', msg: sent.msg }, { node: sent.from, actor: 'replicator' });
      for (const actor of this.actors.values()) actor.afterBatch?.();
      if (net.length === 0) for (const [id, actor] of this.actors) actor.receive(this.ticks.get(id) as ReplicatorMessage, { node: id, actor: 'replicator' });
    }
  }

  step(): void {
    const rng = this.rng;
    if (this.batched && rng.chance(0.3)) for (const actor of this.actors.values()) actor.afterBatch?.();
    const id = ids[rng.int(ids.length)]!;
    const actor = this.actors.get(id)!;
    const roll = rng.next();
    if (roll < 0.4 && this.net.length > 0) {
      const [sent] = this.net.splice(rng.int(this.net.length), 1); // any order
      if (rng.chance(0.05)) return; // lost
      this.actors.get(sent!.to)!.receive({ type: 'raft', msg: sent!.msg }, { node: sent!.from, actor: 'replicator' });
    } else if (roll < 0.65) {
      const message = this.journals.get(id)!.finishOne();
      if (message !== undefined) actor.receive(message as Persisted, { node: id, actor: 'replicator' });
    } else if (roll < 0.8) {
      actor.receive(this.ticks.get(id) as ReplicatorMessage, { node: id, actor: 'replicator' });
    } else if (roll < 0.97) {
      actor.receive({ type: 'propose', payloads: [`w${this.proposals++}`], bytes: 0, replyTo: { node: id, actor: 'app' } }, { node: id, actor: 'app' });
    } else if (roll < 0.985) {
      // Crash: whatever the journal had not synced is gone; the node restarts from the rest.
      const journal = this.journals.get(id)!;
      this.start(id, journal.records.slice(0, journal.durable));
    }
  }
}

describe('replicator with a background-synced journal', () => {
  it('never loses or changes a committed entry across crashes that lose unsynced records; acks and applies wait for the disk, leader appends do not', () => {
    let commits = 0;
    let earlyAppends = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const cluster = new Cluster(new Rng(seed), seed % 2 === 0);
      for (let i = 0; i < 4000; i++) cluster.step();
      expect(cluster.earlyAcks, `seed ${seed}: a follower acknowledged entries before syncing them`).toBe(0);
      expect(cluster.earlyApplies, `seed ${seed}: a node applied entries before its journal held them as committed`).toBe(0);
      commits += cluster.committed.size;
      earlyAppends += cluster.earlyAppends;
    }
    // The schedule must actually commit things and exercise the early path, or it proves nothing.
    expect(commits).toBeGreaterThan(1000);
    expect(earlyAppends).toBeGreaterThan(100);
  });

  it('hands a lone write on to every node once their disks and the network are quiet (nothing more written after it)', () => {
    for (const batched of [false, true]) {
      const cluster = new Cluster(new Rng(7), batched);
      cluster.settle(100); // a leader is elected, and its first entry committed everywhere
      const before = cluster.committed.size;
      const n1 = cluster.actors.get('n1')!;
      n1.receive({ type: 'propose', payloads: ['lone'], bytes: 0, replyTo: { node: 'n1', actor: 'app' } }, { node: 'n1', actor: 'app' });
      n1.afterBatch?.();
      cluster.settle(100);
      expect(cluster.committed.size, 'the write was committed').toBe(before + 1);
      expect(cluster.appliedBy.get('lone')?.sort(), 'every node applied it').toEqual(ids);
    }
  });
});
