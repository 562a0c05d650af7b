/**
 * The whole Raft protocol between replicators, on one screen (Ongaro & Ousterhout 2014, with the
 * pre-vote and check-quorum extensions of Ongaro's thesis §9.6 and §6.2, and leader transfer §3.10).
 * Every message carries the sender's term; each request has its reply next to it.
 */
import type { NodeId } from './quorum.js';
import type { Membership, VersionedMembership } from './membership.js';

/**
 * What the log holds. `noop` is the entry a new leader appends to commit its term (§5.4.2, §8);
 * `members` changes the membership (§6, membership.ts).
 */
export type EntryData =
  | { readonly kind: 'noop' }
  | { readonly kind: 'command'; readonly payload: unknown }
  | { readonly kind: 'members'; readonly membership: Membership };

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly data: EntryData;
}

interface Envelope {
  readonly term: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

/** §9.6: "would you vote for me in term `term`?" Changes no state on the receiver. */
export interface PreVote extends Envelope {
  readonly type: 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
}
export interface PreVoteResp extends Envelope {
  readonly type: 'preVoteResp';
  readonly granted: boolean;
}

/** §5.2 RequestVote. `transfer`: sent on TimeoutNow, so it may interrupt a live leader's lease. */
export interface Vote extends Envelope {
  readonly type: 'vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transfer: boolean;
}
export interface VoteResp extends Envelope {
  readonly type: 'voteResp';
  readonly granted: boolean;
}

/** §5.3 AppendEntries; with no entries it is also the heartbeat. */
export interface Append extends Envelope {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  /** The leader's latest ReadIndex round (thesis §6.4); echoed in the answer. Absent before any read. */
  readonly readRound?: number;
  /**
   * A commit notice with no entries, sent when the commit index moved: taken without an answer (the
   * leader learns nothing from one; a refusal is still answered, and so are heartbeats).
   */
  readonly quiet?: true;
  /**
   * To an arbiter only: the highest index every data node of the membership is known to hold (the
   * leader's match for each; its own last index if it is one). The arbiter compacts no further: it has no
   * image to give a data node that lacks what it compacted, should it lead while no data node can.
   */
  readonly dataMatch?: number;
}
/**
 * On success `index` is the last index the follower now matches. On rejection `index` is the prevIndex
 * it rejected and `hint` the highest index that may still match: its last index, or the entry before
 * its conflicting term (§5.3, the "fast backup" optimization).
 */
export interface AppendResp extends Envelope {
  readonly type: 'appendResp';
  readonly success: boolean;
  readonly index: number;
  readonly hint: number;
  readonly readRound?: number;
}

/** A follower forwards client commands to the leader it knows. */
export interface Propose extends Envelope {
  readonly type: 'propose';
  readonly payloads: readonly unknown[];
  /** The node whose committer proposed them (a node that relays a proposal keeps it). */
  readonly origin: NodeId;
  /** Their size as the origin counted it, for the leader's bound on forwarded bytes (`clusterRecvBuf`). */
  readonly bytes: number;
  /**
   * Which proposal this is: the origin's Raft instance (`RaftConfig.incarnation`) and its count of
   * proposals sent. A leader acts on each once: a copy delivered twice is neither taken twice nor taken
   * and then refused (a refusal tells the origin that nothing of the proposal is in the log).
   */
  readonly incarnation: number;
  readonly seq: number;
}
/**
 * The leader did not take a forwarded proposal: it holds `heldBytes` of other nodes' uncommitted
 * proposals, and this one would take it past `heldBytesMax` (`clusterRecvBuf`). Sent to the origin,
 * whose writers get OVERLOADED; nothing of it is in the log. Not bound to a term, like Propose.
 */
export interface ProposeRefused extends Envelope {
  readonly type: 'proposeRefused';
  readonly payloads: readonly unknown[];
  readonly heldBytes: number;
  readonly heldBytesMax: number;
}

/** §3.10: the leader tells an up-to-date follower to start an election at once. */
export interface TimeoutNow extends Envelope {
  readonly type: 'timeoutNow';
}

/**
 * §7 InstallSnapshot, in chunks: the leader's state image at (index, snapTerm) for a follower whose next
 * entry was compacted away. Chunk `chunk` of `chunks`; each is one image frame, bounded by the
 * `syncMsgObjects` / `syncMsgSize` the image was cut with. Several are in flight at once
 * (image-transfer.ts). The follower answers every chunk with a SnapshotResp, and the last one, once
 * installed, with an AppendResp for `index`.
 */
export interface Snapshot extends Envelope {
  readonly type: 'snapshot';
  readonly index: number;
  readonly snapTerm: number;
  readonly chunk: number;
  readonly chunks: number;
  readonly data: Uint8Array;
  /** The membership in force at `index`, with its version (it travels with the image: the log before it is gone). */
  readonly membership: VersionedMembership;
  /** The leader's commit index: how far a follower that installs the image is behind (its `synced` target). */
  readonly commit: number;
  /** The whole image's digest (image-digest.ts): chunks of another image are never gathered with these, and the image is installed only if its chunks digest to it. */
  readonly digest: number;
}
/** The follower holds chunks [0, next) of the image at `index`: send from chunk `next` on. */
export interface SnapshotResp extends Envelope {
  readonly type: 'snapshotResp';
  readonly index: number;
  readonly next: number;
}

/** A follower forwards a linearizable read to its leader (thesis §6.4). Not bound to a term, like Propose. */
export interface ReadIndex extends Envelope {
  readonly type: 'readIndex';
  readonly id: number;
}
/** The leader confirmed its leadership for read `id`: the reader waits until it applied `index`. */
export interface ReadIndexResp extends Envelope {
  readonly type: 'readIndexResp';
  readonly id: number;
  readonly ok: boolean;
  readonly index: number;
  /** Not confirmed because the leader holds readsPendingMax reads already (absent from older nodes: false). */
  readonly overloaded?: boolean;
}

/**
 * §6: a node asks the leader (through whoever it reaches) to take it out of the membership or put it
 * back. The leader starts the change when none is in flight; the asker repeats until its log shows it.
 */
export interface MembersChange extends Envelope {
  readonly type: 'membersChange';
  readonly op: 'detach' | 'attach';
  readonly node: NodeId;
  /**
   * The membership version (index of the entry that set it) the asker saw: a request made against
   * another version is not acted on, only answered, so that a late or duplicated request cannot undo a
   * later change.
   */
  readonly seen: number;
}
/** To a node that asked: the leader's committed membership and its version (the asker's log may be behind). */
export interface MembersChangeResp extends Envelope {
  readonly type: 'membersChangeResp';
  /** The leader's committed membership. */
  readonly membership: VersionedMembership;
  /**
   * The leader's membership version now (its latest membership entry, committed or not): the asker's
   * next request names it. Its own log may name a version no leader will ever have (an uncommitted entry
   * from a deposed leader), and a request against that would never be acted on.
   */
  readonly version: number;
  /** The request `op` was refused, and why: the membership it leads to could never commit anything. */
  readonly refused?: { readonly op: 'detach' | 'attach'; readonly reason: string };
}

export type RaftMessage = PreVote | PreVoteResp | Vote | VoteResp | Append | AppendResp | Propose | ProposeRefused | TimeoutNow | Snapshot | SnapshotResp | ReadIndex | ReadIndexResp | MembersChange | MembersChangeResp;
