/**
 * The Raft core's configuration and outputs (see raft.ts for the rules the host must follow with them).
 */
import type { Entry, RaftMessage } from './messages.js';
import type { NodeId, QuorumRule, Voter } from './quorum.js';
import type { VersionedMembership } from './membership.js';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface RaftConfig {
  readonly id: NodeId;
  readonly voters: readonly Voter[];
  /** Replaces the qrank arithmetic; must be monotone and admit no two disjoint quorums. */
  readonly quorum?: QuorumRule;
  /** Election timeout in ticks; each node draws its own in [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** The context's random source (seeded under the simulator). */
  readonly random: () => number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Entries in one append message. */
  readonly appendEntriesMax: number;
  /**
   * Bytes of entries in one append message, as `entryBytes` counts them; an entry larger on its own
   * still goes, alone. Unbounded when absent. (The host keeps it, and any single entry, within what its
   * network carries in one message.)
   */
  readonly appendBytesMax?: number;
  /** An entry's size on the wire, for appendBytesMax. */
  readonly entryBytes?: (entry: Entry) => number;
  /** Unacknowledged append messages per follower while replicating. */
  readonly inflightAppendsMax: number;
  /**
   * Transactions kept in the log behind the latest state image (the seeds' `transLogLength`), as
   * `entryTransactions` counts them, so that a follower lagging by fewer is fed from the log; one
   * lagging by more gets the image (state transfer). Also how many applied transactions make the
   * host's next image (imageIntervalReached).
   */
  readonly logTransactionsRetained: number;
  /** Bytes kept in the log behind the latest image, as `entryBytes` counts them (`transLogSize`): whichever of the two bounds is reached first. Unbounded when absent. */
  readonly logBytesRetained?: number;
  /** How many transactions an entry holds (a window batch: many); 1 an entry when absent. */
  readonly entryTransactions?: (entry: Entry) => number;
  /** Reads a leader may hold unconfirmed; more fail at once. */
  readonly readsPendingMax: number;
  /**
   * Leader: bytes of proposals forwarded by other nodes that it may hold uncommitted (the seeds'
   * `clusterRecvBuf`); a proposal past it is refused back to its origin, unless none is held.
   */
  readonly forwardedBytesMax: number;
  /** Tells this Raft instance from earlier ones of the same node (a restart): different on every start. */
  readonly incarnation: number;
  /**
   * The host syncs its journal in the background (advance(ready, false), then persisted()): entries are
   * applied only up to a commit index a completed sync made durable (RaftLog.durableCommit), so that a node
   * restarting after a crash never holds less than it applied (and answered, and served reads from) before.
   */
  readonly backgroundSync?: boolean;
}

/** A state image: the state machine after applying every entry up to `index`, as frames. */
export interface StateImage {
  readonly index: number;
  readonly term: number;
  readonly frames: readonly Uint8Array[];
  /** The membership in force at `index`, with its version. */
  readonly membership: VersionedMembership;
  /** The frames' digest (image-digest.ts); computed where absent (an image read back from the journal). */
  readonly digest?: number;
}

export interface HardState {
  readonly term: number;
  readonly vote: NodeId | undefined;
  readonly commit: number;
}

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId | undefined;
  readonly term: number;
}

export interface Ready {
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly messages: readonly RaftMessage[];
  readonly committed: readonly Entry[];
  /** Set when role, leader or term changed since the last ready. */
  readonly softState: SoftState | undefined;
  /**
   * A new state image: persist it (with the log from the compaction point on, replacing what is stored)
   * before anything else; when `install` is set it came from the leader, and the state machine must load
   * it before applying `committed`.
   */
  readonly image: { readonly image: StateImage; readonly install: boolean } | undefined;
  /** Linearizable reads asked on this node and confirmed: each may run once `index` is applied here. */
  readonly reads: readonly ReadState[];
  /** Reads asked on this node that cannot be confirmed now (no leader, or it stepped down). */
  readonly readsFailed: readonly number[];
  /** Reads asked on this node that the leader refused: it held `readsPendingMax` reads already. */
  readonly readsRefused: readonly number[];
  /** Proposals of this node's that the leader refused (its `clusterRecvBuf` was full): none is in the log. */
  readonly proposalsRefused: readonly ProposalRefused[];
}

export interface ProposalRefused {
  readonly payloads: readonly unknown[];
  /** Why, for the writer: which leader, how many bytes it held, and its bound. */
  readonly reason: string;
}

export interface ReadState {
  readonly id: number;
  readonly index: number;
}

export type ProposeResult = 'appended' | 'forwarded' | 'noLeader' | 'transferring';

/**
 * A membership request: the leader started the change, or it went to the leader; no leader is known;
 * a change is in flight (ask again); the membership already is so; or it would leave no data node.
 */
export type MembershipResult = 'started' | 'forwarded' | 'noLeader' | 'busy' | 'done' | 'refused';

