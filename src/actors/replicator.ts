/**
 * The replicator actor: owns the replicated log. It hosts the Raft state machine (src/cluster/raft),
 * drives it with ticks from its timer, feeds it the peers' messages and local proposals, and carries
 * out each Ready in the order Raft requires: persist, then send, then hand committed entries on.
 *
 * Persistence: the Ready's hard state and entries are kept by this actor in memory for now; the durable
 * translog behind the disk interface takes this place with the store's integration. Until then a
 * restarted node must not rejoin as a voter with an empty log (Raft requires stable storage), which the
 * hosts do not yet offer: crash-restart is not part of this actor's tested behaviour.
 */
import type { Address } from '../runtime/actor.js';
import { APP, defineActor } from '../runtime/actor.js';
import { assert, assertNever } from '../runtime/assert.js';
import { Raft } from '../cluster/raft/raft.js';
import type { Ready } from '../cluster/raft/raft.js';
import type { Entry, RaftMessage } from '../cluster/raft/messages.js';
import type { NodeId, Voter } from '../cluster/raft/quorum.js';

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
    const raft = new Raft({
      id: self.node, voters: params.voters, electionTicks: params.electionTicks, heartbeatTicks: params.heartbeatTicks,
      random: () => ctx.random(), preVote: params.preVote, checkQuorum: params.checkQuorum,
      appendEntriesMax: params.appendEntriesMax, inflightAppendsMax: params.inflightAppendsMax,
    });
    const applyTo: Address = { node: self.node, actor: params.applyTo ?? APP };
    const app: Address = { node: self.node, actor: APP };

    const handleReady = () => {
      while (raft.hasReady()) {
        const ready: Ready = raft.ready();
        // 1. persist ready.hardState and ready.entries: not yet (see the header); Raft's own log holds them.
        for (const msg of ready.messages) ctx.send({ node: msg.to, actor: REPLICATOR }, { type: 'raft', msg } satisfies PeerRaft); // 2. send
        if (ready.committed.length > 0) ctx.send(applyTo, { type: 'committed', entries: ready.committed } satisfies Committed); // 3. apply
        if (ready.softState) ctx.send(app, { type: 'raftState', ...ready.softState } satisfies RaftStateChanged);
        raft.advance(ready);
      }
    };
    ctx.setTimer(params.tickMs, { type: 'tick' });

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
