/**
 * The replicator's messages (replicator.ts): what it takes from its peers, its timer, the committer and
 * the application, and what it tells the apply target (the committer) and the application.
 */
import type { Address } from '../runtime/actor.js';
import type { Entry, RaftMessage } from '../cluster/raft/messages.js';
import type { NodeId } from '../cluster/raft/quorum.js';

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
  /** Their size as the committer counted it (the leader's `clusterRecvBuf` counts forwarded bytes). */
  readonly bytes: number;
  readonly replyTo: Address;
}
export interface TransferLeadership {
  readonly type: 'transferLeadership';
  readonly to: NodeId;
}
/** From the state machine: its image after applying every entry up to `index` (asked by ImageWanted). */
export interface ImageTaken {
  readonly type: 'imageTaken';
  readonly index: number;
  readonly frames: readonly Uint8Array[];
  /** The frames' digest (src/cluster/raft/image-digest.ts), made with them where they are taken. */
  readonly digest: number;
}
/** From the application: confirm a linearizable read (thesis §6.4); answered by ReadReady or ReadFailed. */
export interface ReadIndexRequest {
  readonly type: 'readIndex';
  readonly id: number;
}
/**
 * From the application: take this node out of the membership (detach) or put it back (attach), §6.
 * Answered by Membership, in order with `committed`, once done. While out, the replicator stands still:
 * it ignores the peers and its timer, and keeps its log and journal as they were.
 */
export interface MembershipRequest {
  readonly type: 'detach' | 'attach';
}
/** From the journal (Journal.syncThen): every record written before sync `seq` was asked for is durable. */
export interface Persisted {
  readonly type: 'persisted';
  readonly seq: number;
  /** The disk refused: the node cannot go on (it would acknowledge what is not durable). */
  readonly failed?: string;
}
export type ReplicatorMessage = PeerRaft | Tick | ProposeRequest | TransferLeadership | ImageTaken | ReadIndexRequest | MembershipRequest | Persisted;

/** To the apply target: this node is out of the membership and stands still (or is back in), at `applied`; or a leader refused the detach, and why. */
export interface MembershipDone {
  readonly type: 'membership';
  readonly state: 'detached' | 'attached' | 'refused';
  readonly applied: number;
  readonly reason?: string;
}

/** To the apply target, in order with `committed`: everything the read must see is applied; run it. */
export interface ReadReady {
  readonly type: 'readReady';
  readonly id: number;
}
/** To the apply target: the read could not be confirmed (no leader, or it stepped down; `overloaded`: the leader held readsPendingMax reads). */
export interface ReadFailed {
  readonly type: 'readFailed';
  readonly id: number;
  readonly overloaded?: boolean;
}

/**
 * To `replyTo`: the proposal was not taken (no leader known, or leadership is moving); or, to the apply
 * target, the leader refused a forwarded one (`overloaded`: its `clusterRecvBuf` was full; `detail` says so).
 */
export interface ProposeRefused {
  readonly type: 'proposeRefused';
  readonly payloads: readonly unknown[];
  readonly reason: 'noLeader' | 'transferring' | 'overloaded';
  readonly detail?: string;
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
/**
 * To the apply target, in order with `committed`: send ImageTaken with an image of the tables after every
 * entry handed on so far (`index`), cut into frames within these bounds.
 */
export interface ImageWanted {
  readonly type: 'imageWanted';
  readonly index: number;
  readonly frameRowsMax: number;
  readonly frameBytesMax: number;
  readonly replyTo: Address;
}
/** To the apply target, in order with `committed`: replace the tables with this image (from the leader, or the journal). */
export interface Restore {
  readonly type: 'restore';
  readonly index: number;
  readonly frames: readonly Uint8Array[];
}
/** To the apply target: this node had fallen behind and has now applied what the leader had committed then. */
export interface Synced {
  readonly type: 'synced';
  readonly index: number;
  readonly via: 'log' | 'image';
}
/** To the application: role, leader or term changed. */
export interface RaftStateChanged {
  readonly type: 'raftState';
  readonly role: string;
  readonly leader: NodeId | undefined;
  readonly term: number;
}
