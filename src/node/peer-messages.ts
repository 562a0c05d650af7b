/**
 * Which of a node's actors another node may talk to, and what it may say: the allow-list the TCP
 * transport applies to every message frame from a peer before it becomes a delivery (TcpNetworkConfig
 * .peerMessages). Only two kinds of message cross between nodes, each between an actor and its
 * namesake (the same pairs the in-process network joins directly between thread hosts):
 *
 *   to actor     from actor   type        guard
 *   replicator   replicator   raft        peerRaftProblem: every Raft message type's fields, sender = the peer
 *   watcher      watcher      heartbeat   heartbeatProblem: the status and stopAt
 *
 * Everything else is refused: other actors (committer, flusher, listener, the application), and the
 * internal types of these two (`persisted`, `propose`, `tick`, `localStatus`, `stopCluster`, ...), which
 * only the node itself, its timers and its journal send. Link events reach the listener from the
 * transport itself, never from a frame. Invariant: never throws; undefined means deliver.
 */
import { heartbeatProblem, peerRaftProblem } from '../actors/peer-guards.js';
import type { PeerEnvelope } from '../transport/tcp/config.js';
import { REPLICATOR, WATCHER } from './node-spec.js';

interface Allowed {
  /** The sending actor: its namesake on the peer. */
  readonly from: string;
  readonly type: string;
  readonly problem: (body: unknown, peer: string, self: string) => string | undefined;
}

const allowed: ReadonlyMap<string, Allowed> = new Map([
  [REPLICATOR, { from: REPLICATOR, type: 'raft', problem: peerRaftProblem }],
  [WATCHER, { from: WATCHER, type: 'heartbeat', problem: (body) => heartbeatProblem(body) }],
]);

/** Why a message from node `peer` must not reach this node (`self`), or undefined when it may. */
export function peerMessageProblem(envelope: PeerEnvelope, peer: string, self: string): string | undefined {
  const rule = allowed.get(envelope.to);
  const what = `${JSON.stringify(envelope.from.slice(0, 40))} -> ${JSON.stringify(envelope.to.slice(0, 40))}`;
  if (rule === undefined) return `${what}: no actor here takes messages from other nodes`;
  if (envelope.from !== rule.from) return `${what}: ${rule.from} takes messages only from its namesake`;
  if (envelope.body.type !== rule.type) return `${what}: type ${JSON.stringify(envelope.body.type.slice(0, 40))} is not one a peer may send (only ${rule.type})`;
  const problem = rule.problem(envelope.body, peer, self);
  return problem === undefined ? undefined : `${what}: ${problem}`;
}
