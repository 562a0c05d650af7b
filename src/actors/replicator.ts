/**
 * The replicator actor: owns the replicated log. It hosts the Raft state machine (src/cluster/raft),
 * drives it with ticks from its timer, feeds it the peers' messages and local proposals, and carries
 * out each Ready in the order Raft requires: persist, then send, then hand committed entries on.
 *
 * Persistence (Raft §5.1, Figure 2: "updated on stable storage before responding to RPCs"): when the
 * host gives this actor a journal, every Ready's entries and hard state are appended and synced before
 * any of its messages leave, and on start the journal is replayed into the log. Without a journal the
 * log lives in memory only, and a node must not come back under the same address.
 *
 * Journal records: `{ e: Entry[] }` (entries that replace the log from their first index on) and
 * `{ h: [term, vote, commit] }`.
 */
import type { Address } from '../runtime/actor.js';
import { APP, defineActor } from '../runtime/actor.js';
import { assert, assertNever } from '../runtime/assert.js';
import { Raft } from '../cluster/raft/raft.js';
import type { Ready } from '../cluster/raft/raft.js';
import type { Entry, RaftMessage } from '../cluster/raft/messages.js';
import type { NodeId, Voter } from '../cluster/raft/quorum.js';
import { RaftLog } from '../cluster/raft/log.js';
import type { HardState } from '../cluster/raft/raft.js';
import type { Journal } from '../runtime/journal.js';
import { decodeMsgpack, encodeMsgpack } from '../store/codec.js';

export const REPLICATOR = 'replicator';

/** A Raft message between two nodes' replicators. */
export interface PeerRaft {
  readonly type: 'raft';
  readonly msg: RaftMessage;
}
export interface Tick {
  readonly type: 'tick';
}
/** Local callers hand in command batches; `replyTo` hears if no leader can take them now. */
export interface ProposeRequest {
  readonly type: 'propose';
  readonly payloads: readonly unknown[];
  readonly replyTo: Address;
}
export interface TransferLeadership {
  readonly type: 'transferLeadership';
  readonly to: NodeId;
}
export type ReplicatorMessage = PeerRaft | Tick | ProposeRequest | TransferLeadership;

/** To `replyTo`: the proposal was not taken (no leader known, or leadership is moving). */
export interface ProposeRefused {
  readonly type: 'proposeRefused';
  readonly payloads: readonly unknown[];
  readonly reason: 'noLeader' | 'transferring';
}
/** To the apply target: entries committed by a quorum, in log order. */
export interface Committed {
  readonly type: 'committed';
  readonly entries: readonly Entry[];
}
/**
 * To the apply target, once: every entry committed before this node (re)started has been handed on,
 * so its tables hold at least what they held before; it may serve reads.
 */
export interface Recovered {
  readonly type: 'recovered';
  readonly index: number;
}
/** To the application: role, leader or term changed. */
export interface RaftStateChanged {
  readonly type: 'raftState';
  readonly role: string;
  readonly leader: NodeId | undefined;
  readonly term: number;
}

export interface ReplicatorParams {
  readonly voters: readonly Voter[];
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly appendEntriesMax: number;
  readonly inflightAppendsMax: number;
  /** The local actor that applies committed entries (the committer); APP when absent. */
  readonly applyTo?: string;
}

export const replicator = defineActor<ReplicatorMessage, ReplicatorParams>({
  kind: 'chorus/replicator',
  module: import.meta.url,
  create(ctx, params) {
    const self = ctx.self;
    assert(params.tickMs > 0, 'replicator: tickMs must be positive');
    const journal = ctx.journal;
    const raft = new Raft({
      id: self.node, voters: params.voters, electionTicks: params.electionTicks, heartbeatTicks: params.heartbeatTicks,
      random: () => ctx.random(), preVote: params.preVote, checkQuorum: params.checkQuorum,
      appendEntriesMax: params.appendEntriesMax, inflightAppendsMax: params.inflightAppendsMax,
    }, journal === undefined ? undefined : replay(journal));
    const applyTo: Address = { node: self.node, actor: params.applyTo ?? APP };
    const app: Address = { node: self.node, actor: APP };
    const recoveredIndex = raft.log.committed;
    let recoveryAnnounced = false;

    const handleReady = () => {
      while (raft.hasReady()) {
        const ready: Ready = raft.ready();
        if (journal !== undefined) persist(journal, ready); // 1. persist
        for (const msg of ready.messages) ctx.send({ node: msg.to, actor: REPLICATOR }, { type: 'raft', msg } satisfies PeerRaft); // 2. send
        if (ready.committed.length > 0) ctx.send(applyTo, { type: 'committed', entries: ready.committed } satisfies Committed); // 3. apply
        if (ready.softState) ctx.send(app, { type: 'raftState', ...ready.softState } satisfies RaftStateChanged);
        raft.advance(ready);
      }
      if (!recoveryAnnounced && raft.log.applied >= recoveredIndex) {
        recoveryAnnounced = true;
        ctx.send(applyTo, { type: 'recovered', index: recoveredIndex } satisfies Recovered);
      }
    };
    ctx.setTimer(params.tickMs, { type: 'tick' });
    handleReady(); // hands on what the journal says was committed, then announces recovery

    return {
      receive(message, from) {
        switch (message.type) {
          case 'tick':
            ctx.setTimer(params.tickMs, { type: 'tick' });
            raft.tick();
            break;
          case 'raft':
            // Peers may only speak for themselves: a message's claimed sender must be its transport sender.
            if (message.msg.from !== from.node || message.msg.to !== self.node) {
              ctx.log.warn('raft message with a forged or misrouted address dropped', { from: from.node, claimed: message.msg.from });
              return;
            }
            raft.step(message.msg);
            break;
          case 'propose': {
            const result = raft.propose(message.payloads);
            if (result === 'noLeader' || result === 'transferring') {
              ctx.send(message.replyTo, { type: 'proposeRefused', payloads: message.payloads, reason: result } satisfies ProposeRefused);
            }
            break;
          }
          case 'transferLeadership':
            raft.transferLeadership(message.to);
            break;
          default:
            assertNever(message, 'replicator message');
        }
        handleReady();
      },
    };
  },
});

/** Rebuilds the log and hard state from the journal (an empty journal gives a fresh node). */
function replay(journal: Journal): { hardState: HardState; log: RaftLog } {
  let hardState: HardState = { term: 0, vote: undefined, commit: 0 };
  let entries: Entry[] = [];
  for (const bytes of journal.recovered) {
    const record = decodeMsgpack(bytes) as { e?: Entry[]; h?: [number, NodeId | null, number] };
    if (record.h !== undefined) hardState = { term: record.h[0], vote: record.h[1] ?? undefined, commit: record.h[2] };
    const first = record.e?.[0];
    if (first !== undefined) entries = [...entries.slice(0, first.index - 1), ...record.e!];
  }
  // A commit index beyond the entries that survived cannot be (they were synced together): keep it honest.
  const commit = Math.min(hardState.commit, entries.length);
  return { hardState: { ...hardState, commit }, log: RaftLog.restore(entries, commit) };
}

function persist(journal: Journal, ready: Ready): void {
  if (ready.entries.length === 0 && ready.hardState === undefined) return;
  if (ready.entries.length > 0) journal.append(encodeMsgpack({ e: ready.entries }));
  const h = ready.hardState;
  if (h !== undefined) journal.append(encodeMsgpack({ h: [h.term, h.vote ?? null, h.commit] }));
  journal.sync();
}
