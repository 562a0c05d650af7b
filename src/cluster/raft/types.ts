/**
 * The Raft core's configuration and outputs (see raft.ts for the rules the host must follow with them).
 */
import type { Entry, RaftMessage } from './messages.js';
import type { NodeId, QuorumRule, Voter } from './quorum.js';

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
  /** Unacknowledged append messages per follower while replicating. */
  readonly inflightAppendsMax: number;
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
}

export type ProposeResult = 'appended' | 'forwarded' | 'noLeader' | 'transferring';

