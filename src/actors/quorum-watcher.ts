/**
 * The quorum watcher actor: the cluster view. It exchanges heartbeats with the other nodes' watchers,
 * carrying each node's Raft status (role, term, commit and applied index); a peer is connected while it
 * is heard from within `silenceMsMax` and its link is up, and disconnected otherwise (at once when the
 * listener reports the link down). From the connected set and the qrank arithmetic (or the custom rule)
 * it decides whether this node's side holds a quorum, and tells:
 *   - the application: `peer` (connect / disconnect), `quorum` (lost / regained), and `clusterView`
 *     (every node's status, for `info()`; sent at most once per heartbeat and only when it changed);
 *   - the committer: `quorum`, so that a write on a side without quorum fails at once with NO_QUORUM
 *     instead of waiting for a commit that cannot come (nothing of it enters the log).
 *
 * It does not decide leadership (Raft does); it is failure detection and arithmetic, as db-minder's
 * arbitrator does for its nodes. Invariants: every change of a peer's state is reported once, in order;
 * `quorum` is sent at start and on every change.
 *
 * It also runs the cluster-wide stop barrier (the seeds' `stop()`: "returns after ALL nodes call stop"):
 * once the application asks (`stopCluster`, after its own writes settled), every heartbeat carries
 * `stopAt`, the log index this node had applied then. When every attached data node (the members of
 * the log's membership, arbiters aside) has announced its `stopAt` and every one of them, this node
 * included, has applied up to the highest of them, every write acknowledged anywhere before its node
 * called stop is applied everywhere: the watcher sends one last heartbeat and tells the application
 * (`clusterStopped`), which then stops the node. Until then it reports who it still waits for.
 */
import type { Address } from '../runtime/actor.js';
import { APP, defineActor } from '../runtime/actor.js';
import { assertNever } from '../runtime/assert.js';
import type { QuorumRule, Voter } from '../cluster/raft/quorum.js';
import { tableRule } from '../cluster/raft/custom-quorum.js';
import type { Membership } from '../cluster/raft/membership.js';
import { involved, membershipQuorum, sameMembers } from '../cluster/raft/membership.js';

const sameMembership = (a: Membership, b: Membership) => sameMembers(a.members, b.members) && (a.old === undefined ? b.old === undefined : b.old !== undefined && sameMembers(a.old, b.old));
/** Equal statuses (a peer's heartbeats repeat its status while nothing changes: the view stays as it was then). */
const sameStatus = (a: NodeStatus | undefined, b: NodeStatus | undefined): boolean =>
  a === b ||
  (a !== undefined && b !== undefined && a.role === b.role && a.term === b.term && a.leader === b.leader && a.commit === b.commit && a.applied === b.applied && a.lastIndex === b.lastIndex &&
    (a.membership === b.membership || (a.membership !== undefined && b.membership !== undefined && sameMembership(a.membership, b.membership))));
import type { LinkChanged } from './listener.js';
import { heartbeatProblem } from './peer-guards.js';

export const WATCHER = 'watcher';

/** One node's replication status, as its replicator last reported it. */
export interface NodeStatus {
  readonly role: string;
  readonly term: number;
  readonly leader: string | undefined;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  /** The membership in this node's log (§6): who counts toward a quorum. Absent: every configured node. */
  readonly membership?: Membership;
}
/** Between watchers. */
export interface Heartbeat {
  readonly type: 'heartbeat';
  readonly status: NodeStatus | undefined;
  /** Set once this node's application called a cluster-wide stop: the log index it had applied then. */
  readonly stopAt?: number;
}
/** From the application: stop the cluster; its own writes have settled, the last one at `applied`. */
export interface StopCluster {
  readonly type: 'stopCluster';
  readonly applied: number;
}
/** From the local replicator, when its status changed. */
export interface LocalStatus {
  readonly type: 'localStatus';
  readonly status: NodeStatus;
}
interface WatchTick {
  readonly type: 'watchTick';
}
/** The timer's message, the same every time (nothing in it changes). */
const watchTick: WatchTick = { type: 'watchTick' };
export type WatcherMessage = Heartbeat | LocalStatus | LinkChanged | WatchTick | StopCluster;

/** To the application: a peer connected or disconnected. */
export interface PeerChanged {
  readonly type: 'peer';
  readonly peer: string;
  readonly qrank: number;
  readonly connected: boolean;
  readonly reason: string;
}
/** To the application and the committer: whether this node's side holds a quorum. */
export interface QuorumChanged {
  readonly type: 'quorum';
  readonly hasQuorum: boolean;
  /** Connected nodes (this one included) and their qrank, against the total. */
  readonly reason: string;
}
/** To the application, while a cluster-wide stop waits: the nodes it waits for (empty: done) and why. */
export interface StopProgress {
  readonly type: 'stopProgress';
  /** Data nodes that have not called stop yet. */
  readonly notStopping: readonly string[];
  /** Nodes that called stop but have not applied up to `target` yet (this one included). */
  readonly behind: readonly string[];
  readonly target: number;
  readonly done: boolean;
}
export interface PeerView {
  readonly id: string;
  readonly qrank: number;
  readonly connected: boolean;
  readonly status: NodeStatus | undefined;
}
/** To the application: the cluster as this node sees it. */
export interface ClusterView {
  readonly type: 'clusterView';
  readonly self: NodeStatus | undefined;
  readonly hasQuorum: boolean;
  readonly peers: readonly PeerView[];
}

export interface WatcherParams {
  readonly voters: readonly Voter[];
  /** A custom quorum rule as a table over subsets of `voters` (custom-quorum.ts); the qrank rule when absent. */
  readonly quorumTable?: Uint8Array | undefined;
  readonly heartbeatMs: number;
  /** A peer not heard from for longer is disconnected. */
  readonly silenceMsMax: number;
  readonly committer: string;
}

interface Peer {
  readonly id: string;
  /** Its watcher. */
  readonly address: Address;
  readonly qrank: number;
  connected: boolean;
  linkUp: boolean;
  heardAt: number;
  status: NodeStatus | undefined;
  /** Sticky: once a peer announced a cluster-wide stop, it stays announced. */
  stopAt: number | undefined;
}

export const quorumWatcher = defineActor<WatcherMessage, WatcherParams>({
  kind: 'chorus/quorum-watcher',
  module: import.meta.url,
  create(ctx, params) {
    const self = ctx.self.node;
    const app: Address = { node: self, actor: APP };
    const committer: Address = { node: self, actor: params.committer };
    const ids = params.voters.map((v) => v.id);
    const custom: QuorumRule | undefined = params.quorumTable !== undefined ? tableRule(ids, params.quorumTable) : undefined;
    /** The rule of the membership the local replicator last reported (a detached node's qrank leaves the total). */
    let members: Membership = { members: ids };
    let isQuorum: QuorumRule = membershipQuorum(members, params.voters, custom);
    const totalQrank = () => params.voters.filter((v) => members.members.includes(v.id)).reduce((sum, v) => sum + v.qrank, 0);
    const peers = params.voters.filter((v) => v.id !== self).map((v): Peer => ({ id: v.id, address: { node: v.id, actor: WATCHER }, qrank: v.qrank, connected: false, linkUp: true, heardAt: -Infinity, status: undefined, stopAt: undefined }));
    const byId = new Map(peers.map((p) => [p.id, p]));
    let local: NodeStatus | undefined;
    let hasQuorum: boolean | undefined;
    /** Who is connected, or the membership, changed since the quorum was last decided. */
    let quorumDirty = true;
    let viewChanged = true;
    /** Set once the application asked for a cluster-wide stop: this node's `stopAt`. */
    let stopAt: number | undefined;
    let stopReported = '';
    let stopDone = false;
    /** Whether this node had not applied up to the stop target yet, when last checked. */
    let selfBehind = false;
    const arbiters = new Set(params.voters.filter((v) => v.arbiter === true).map((v) => v.id));

    const setConnected = (peer: Peer, connected: boolean, reason: string) => {
      if (peer.connected === connected) return;
      peer.connected = connected;
      viewChanged = true;
      quorumDirty = true;
      ctx.send(app, { type: 'peer', peer: peer.id, qrank: peer.qrank, connected, reason } satisfies PeerChanged);
    };
    const publish = () => {
      if (!viewChanged) return;
      viewChanged = false;
      const view = peers.map((p): PeerView => ({ id: p.id, qrank: p.qrank, connected: p.connected, status: p.status }));
      ctx.send(app, { type: 'clusterView', self: local, hasQuorum: hasQuorum === true, peers: view } satisfies ClusterView);
    };
    /** Recomputes the quorum; on a change the application gets the new view first, then the event. */
    const decide = () => {
      if (!quorumDirty) return; // every heartbeat period calls it: most of the time nothing it depends on moved
      quorumDirty = false;
      const connected = [self, ...peers.filter((p) => p.connected).map((p) => p.id)];
      const now = isQuorum(new Set(connected));
      if (now === hasQuorum) return;
      hasQuorum = now;
      viewChanged = true;
      publish();
      const held = params.voters.filter((v) => connected.includes(v.id) && members.members.includes(v.id)).reduce((sum, v) => sum + v.qrank, 0);
      const reason = `connected ${JSON.stringify(connected)} hold qrank ${held} of ${totalQrank()}${members.old !== undefined ? ' (the membership is changing: both the old and the new must hold a quorum)' : ''}${custom !== undefined ? ' (custom quorum rule)' : ''}`;
      const message = { type: 'quorum', hasQuorum: now, reason } satisfies QuorumChanged;
      ctx.send(committer, message); // first: the application may write as soon as it hears
      ctx.send(app, message);
    };
    const heartbeat = (): Heartbeat => (stopAt === undefined ? { type: 'heartbeat', status: local } : { type: 'heartbeat', status: local, stopAt });
    /** The stop barrier: see the header. Called whenever what it depends on may have changed. */
    const checkStop = () => {
      if (stopAt === undefined || stopDone) return;
      const waitedFor = involved(members).filter((id) => id !== self && !arbiters.has(id));
      const notStopping = waitedFor.filter((id) => byId.get(id)?.stopAt === undefined);
      const target = Math.max(stopAt, ...waitedFor.map((id) => byId.get(id)?.stopAt ?? 0));
      const behind = waitedFor.filter((id) => !notStopping.includes(id) && (byId.get(id)?.status?.applied ?? 0) < target);
      selfBehind = (local?.applied ?? 0) < target;
      if (selfBehind) behind.unshift(self);
      const done = notStopping.length === 0 && behind.length === 0;
      const key = `${notStopping.join()}|${behind.join()}|${target}|${done}`;
      if (key === stopReported) return;
      stopReported = key;
      if (done) {
        stopDone = true;
        const beat = heartbeat();
        for (const peer of peers) ctx.send(peer.address, beat); // the others may still wait for this node's applied index
      }
      ctx.send(app, { type: 'stopProgress', notStopping, behind, target, done } satisfies StopProgress);
    };
    const tick = () => {
      const now = ctx.now();
      const beat = heartbeat(); // one message for every peer: it is read only
      for (const peer of peers) {
        ctx.send(peer.address, beat);
        if (peer.connected && now - peer.heardAt > params.silenceMsMax) setConnected(peer, false, `not heard from for more than ${params.silenceMsMax} ms`);
      }
      decide();
      publish();
      checkStop();
      ctx.setTimer(params.heartbeatMs, watchTick);
    };
    decide();
    tick();

    return {
      receive(message, from) {
        // From another node only a heartbeat of the right shape: the rest is dropped, not asserted on.
        const problem = from.node === self ? undefined : heartbeatProblem(message);
        if (problem !== undefined) return void ctx.log.warn('message from another node dropped', { from: from.node, problem });
        switch (message.type) {
          case 'watchTick':
            tick();
            return;
          case 'heartbeat': {
            const peer = byId.get(from.node);
            if (peer === undefined) return; // not a member: ignore
            peer.heardAt = ctx.now();
            if (!sameStatus(peer.status, message.status)) {
              peer.status = message.status;
              viewChanged = true;
            }
            if (message.stopAt !== undefined) peer.stopAt = message.stopAt;
            checkStop();
            if (peer.linkUp && !peer.connected) {
              setConnected(peer, true, 'heartbeat');
              publish();
              decide(); // the quorum depends only on who is connected (and the membership: see localStatus)
            }
            return;
          }
          case 'localStatus':
            local = message.status;
            viewChanged = true;
            if (message.status.membership !== undefined && !sameMembership(message.status.membership, members)) {
              members = message.status.membership;
              isQuorum = membershipQuorum(members, params.voters, custom);
              quorumDirty = true;
              decide();
            }
            if (stopAt !== undefined && !stopDone) {
              const wasBehind = selfBehind;
              checkStop();
              // This node has caught up to the stop target: the others wait for that; tell them now.
              if (wasBehind && !selfBehind && !stopDone) {
                const beat = heartbeat();
                for (const peer of peers) ctx.send(peer.address, beat);
              }
            }
            return;
          case 'stopCluster': {
            if (stopAt !== undefined) return;
            stopAt = Math.max(message.applied, local?.applied ?? 0);
            const beat = heartbeat();
            for (const peer of peers) ctx.send(peer.address, beat);
            checkStop();
            return;
          }
          case 'link': {
            const peer = byId.get(message.peer);
            if (peer === undefined) return;
            peer.linkUp = message.up;
            if (!message.up && peer.connected) {
              setConnected(peer, false, message.reason);
              publish();
            }
            decide();
            return;
          }
          default:
            assertNever(message, 'watcher message');
        }
      },
    };
  },
});
