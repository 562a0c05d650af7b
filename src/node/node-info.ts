/**
 * What the embedded API tells the application: its events, and `info()` (like mco_cluster_info: this
 * node and the cluster as it sees them), built from what the actors last reported.
 */
import type { RaftStateChanged } from '../actors/replicator.js';
import type { ClusterView, NodeStatus } from '../actors/quorum-watcher.js';
import type { MembershipState } from './detached.js';

/** A peer as `connect` / `disconnect` name it. */
export interface PeerInfo {
  readonly nodeId: string;
  readonly addr: string;
  readonly qrank: number;
  /** Why the quorum watcher changed its mind (heartbeat, silence, link cut, ...). */
  readonly reason: string;
}

/**
 * The node's events (nanoevents). Those raised while the node opens — peers connecting, the first leader
 * — are delivered just after openNode has resolved, so listeners attached right after it hear them.
 */
export interface NodeEvents {
  leaderChanged: (leader: string | undefined, term: number) => void;
  /** A peer is reachable (heard from, link up). */
  connect: (peer: PeerInfo) => void;
  /** A peer is not reachable any more (silent for an election timeout, or its link went down). */
  disconnect: (peer: PeerInfo) => void;
  /** This node's side of the cluster holds no quorum any more: its writes fail at once with NO_QUORUM. */
  quorumLost: (reason: string) => void;
  quorumRegained: (reason: string) => void;
  /**
   * This node had fallen behind (it was down or cut off) and has caught up: it has applied what the
   * leader had committed when it noticed, from the log or by a state transfer (`via: 'image'`).
   */
  synced: (info: { readonly index: number; readonly via: 'log' | 'image' }) => void;
  /**
   * The node stopped itself because it cannot follow the log without diverging (a committed write of a
   * schema it cannot read: code INCOMPATIBLE_SCHEMA). Its pending writes reject with the same error.
   */
  failed: (error: Error & { readonly code: string }) => void;
}

/** One peer in `info()`, as this node last heard it. */
export interface PeerStatus {
  readonly nodeId: string;
  readonly qrank: number;
  readonly arbiter: boolean;
  readonly connected: boolean;
  /** Undefined until its first heartbeat. */
  readonly role: string | undefined;
  readonly term: number | undefined;
  readonly commitIndex: number | undefined;
  readonly appliedIndex: number | undefined;
  /** Log entries this node has committed that the peer had not applied when last heard (undefined: never heard). */
  readonly lag: number | undefined;
}

/** Like mco_cluster_info: this node and the cluster as it sees them. */
export interface NodeInfo {
  readonly nodeId: string;
  /** 'failed': an actor failed or the node cannot follow the log (see the `failed` event); the rest is as it was then. */
  readonly state: NodeState;
  /** An arbiter votes and keeps the log, but holds no tables. */
  readonly arbiter: boolean;
  /** 'detached': out of the membership, a standalone database (see detach()). */
  readonly membership: MembershipState;
  readonly role: string;
  readonly term: number;
  readonly leader: string | undefined;
  /** Raft log positions: committed by a quorum, applied here, last appended here. */
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex: number;
  readonly hasQuorum: boolean;
  /** Nodes this one is connected to, itself included. */
  readonly activeNodes: readonly string[];
  readonly peers: readonly PeerStatus[];
  /** Change-sets applied to this node's tables, and how many certification rejected (CONFLICT, UNIQUE). */
  readonly applied: number;
  readonly conflicts: number;
  /** Of those, the ones that came from other nodes. */
  readonly remoteCommits: number;
  readonly remoteRollbacks: number;
  readonly pendingWrites: number;
  readonly storeVersion: number;
  /** Bytes sent to and received from peers (nwType 'tcp'); undefined where nothing is serialized ('local'). */
  readonly bytesSent: number | undefined;
  readonly bytesReceived: number | undefined;
}

export interface ReadOptions {
  /**
   * 'local' (default): this node's tables as they are, at once. 'linearizable': first confirm with a
   * quorum that the leader is still the leader (ReadIndex, thesis §6.4) and wait until this node has
   * applied what it had committed, so the read sees every write acknowledged anywhere before it began.
   */
  readonly consistency: 'local' | 'linearizable';
}

export interface StopOptions {
  /**
   * 'cluster' (the default): stop together with every other attached node (the seeds' stop, which
   * "returns after ALL nodes call stop"). 'local': this node alone, at once; the rest go on without it.
   */
  readonly scope?: 'cluster' | 'local';
  /** How long a cluster-wide stop waits for the others (default: the node's `stopTimeoutMs`). */
  readonly timeoutMs?: number;
}

export interface WriteOptions {
  /** Times to run the body again on a fresh snapshot after a CONFLICT (default 0). */
  readonly retries?: number;
}

export type NodeState = 'running' | 'stopped' | 'failed';

export interface InfoSources {
  readonly nodeId: string;
  readonly state: NodeState;
  readonly arbiter: boolean;
  readonly voters: readonly { readonly id: string; readonly arbiter?: boolean }[];
  readonly membership: MembershipState;
  readonly raft: RaftStateChanged;
  readonly view: ClusterView;
  readonly hasQuorum: boolean;
  readonly traffic: { readonly bytesSent: number; readonly bytesReceived: number } | undefined;
  readonly counts: Pick<NodeInfo, 'applied' | 'conflicts' | 'remoteCommits' | 'remoteRollbacks' | 'pendingWrites' | 'storeVersion'>;
}

export function nodeInfo(s: InfoSources): NodeInfo {
  const self: NodeStatus | undefined = s.view.self;
  const commitIndex = self?.commit ?? 0;
  return {
    nodeId: s.nodeId, state: s.state, arbiter: s.arbiter, membership: s.membership, role: s.raft.role, term: s.raft.term, leader: s.raft.leader,
    commitIndex, appliedIndex: self?.applied ?? 0, lastIndex: self?.lastIndex ?? 0, hasQuorum: s.hasQuorum,
    activeNodes: [s.nodeId, ...s.view.peers.filter((p) => p.connected).map((p) => p.id)],
    peers: s.view.peers.map((p): PeerStatus => ({
      nodeId: p.id, qrank: p.qrank, arbiter: s.voters.some((v) => v.id === p.id && v.arbiter === true), connected: p.connected, role: p.status?.role, term: p.status?.term,
      commitIndex: p.status?.commit, appliedIndex: p.status?.applied, lag: p.status === undefined ? undefined : Math.max(0, commitIndex - p.status.applied),
    })),
    ...s.counts,
    bytesSent: s.traffic?.bytesSent, bytesReceived: s.traffic?.bytesReceived,
  };
}
