/**
 * The embedded API: `openNode(params)` starts one cluster node and returns its handle.
 *
 * Where things live (see ARCHITECTURE.md): the tables live here, in the application's thread, so that a
 * transaction body runs synchronously against a local snapshot; the actors around them (committer,
 * window flusher, replicator) run on the chosen host and do the distributed work. A write runs its body
 * here (phase 1: validation, giving a change-set), goes through the committer and the window into the
 * replicated log, and comes back committed, in log order, to be certified and applied here exactly as on
 * every other node. The caller's promise settles when its own change-set has been applied on this node
 * (or refused, or certified as a conflict, or timed out).
 *
 * Invariants: change-sets are applied in log order, each once; a write settles exactly once.
 */
import { Encoder } from '@msgpack/msgpack';
import type { Unsubscribe } from 'nanoevents';
import type { Message } from '../runtime/actor.js';
import { ActorFailedError, ChorusError, StoppedError, invalidArgument } from '../runtime/errors.js';
import type { NodeHost } from '../runtime/host.js';
import { startInlineNode } from '../runtime/inline-host.js';
import { startThreadNode } from '../runtime/thread/thread-host.js';
import { Store, type ApplyResult } from '../store/store.js';
import { plainSchemaDef } from '../store/schema.js';
import type { ReadTx } from '../store/read-tx.js';
import type { WriteTx } from '../store/write-tx.js';
import { ConflictError } from '../store/errors.js';
import { AssertionError } from '../runtime/assert.js';
import type { ImageWanted, MembershipDone, MembershipRequest, RaftStateChanged, ReadFailed, ReadIndexRequest, ReadReady, Restore, Synced, TransferLeadership } from '../actors/replicator.js';
import type { ClusterView, PeerChanged, QuorumChanged, StopCluster, StopProgress } from '../actors/quorum-watcher.js';
import type { Window, WindowIs } from '../actors/window-flusher.js';
import { WindowControl } from './window-control.js';
import type { ApplyEntries, CommitRefused } from '../actors/committer.js';
import { COMMITTER, FLUSHER, REPLICATOR, WATCHER, CannotFollowError, applyCommitted, clusterNodeSpec } from './node-spec.js';
import { ImageRestorer, ImageSlicer } from './image-slices.js';
import { resolveParams, type NodeParams, type ResolvedParams } from './params.js';
import { DetachControl } from './detached.js';
import { nodeInfo, type NodeEvents, type NodeInfo, type ReadOptions, type StopOptions, type WriteOptions } from './node-info.js';
export type { NodeEvents, NodeInfo, PeerInfo, PeerStatus, ReadOptions, StopOptions, WriteOptions } from './node-info.js';
import { PendingWrites, stoppedError } from './pending-writes.js';
import { PendingReads } from './pending-reads.js';
import { StopBarrier } from './stop-barrier.js';
import { NetworkLink } from './network-link.js';
import { NodeEventHub } from './node-events.js';
import { QuorumGate } from './quorum-gate.js';
import { realTime } from './app-time.js';
import { checkDataDir, openRefusal } from './data-dir.js';

/** Counts the schema's bytes (binaryEvolution carries it with each write; clusterSendBuf counts it). */
const schemaSizer = new Encoder();

export async function openNode(params: NodeParams): Promise<ClusterNode> {
  const resolved = resolveParams(params);
  // A bad schema is refused here, naming table and field. binaryEvolution: other learned schemas convert on apply.
  const store = resolved.schema === undefined ? undefined : Store.open(resolved.schema, { evolution: resolved.modeMask.binaryEvolution });
  const node = new ClusterNode(resolved, store);
  await node.start();
  return node;
}

export class ClusterNode {
  readonly nodeId: string;
  private host: NodeHost | undefined;
  private readonly events = new NodeEventHub();
  private readonly writes: PendingWrites;
  private raftState: RaftStateChanged = { type: 'raftState', role: 'follower', leader: undefined, term: 0 };
  private applied = 0;
  private conflicts = 0;
  private remoteCommits = 0;
  private remoteRollbacks = 0;
  private view: ClusterView = { type: 'clusterView', self: undefined, hasQuorum: false, peers: [] };
  private readonly windows: WindowControl;
  private stopped = false;
  /** The state image being taken for the replicator, a slice per turn. */
  private readonly images = new ImageSlicer();
  private readonly restorer = new ImageRestorer();
  /** A cluster-wide stop is under way: new writes are refused (STOPPED), the node waits for the others. */
  private closing = false;
  private stopping: Promise<void> | undefined;
  private localStop: Promise<void> | undefined;
  private readonly stopBarrier: StopBarrier;
  /** The log index of the last change-set applied here. */
  private appliedIndex = 0;
  /** Why the node stopped itself (it could not follow the log), if it did. */
  private failure: ChorusError | undefined;
  private onFailed: ((error: ChorusError) => void) | undefined;
  /** binaryEvolution: this node's schema, carried with each write (and its encoded size, for clusterSendBuf). */
  private readonly schemaDef: { readonly def: unknown; readonly bytes: number } | undefined;
  /** The side's quorum and leader as this node knows them: when writes, reads and detach may go. */
  private readonly gate = new QuorumGate(realTime);
  private readonly reads: PendingReads;
  private onRecovered: (() => void) | undefined;
  private readonly link: NetworkLink;
  private readonly membership: DetachControl;

  constructor(
    private readonly params: ResolvedParams,
    /** The tables; none on an arbiter. */
    private readonly store: Store | undefined,
  ) {
    this.nodeId = params.self;
    if (params.modeMask.binaryEvolution && store !== undefined) {
      const def = plainSchemaDef(store.schema.def);
      this.schemaDef = { def, bytes: schemaSizer.encodeSharedRef(def).byteLength };
    }
    this.membership = new DetachControl(params.self, params.modeMask.startDetached, params.writeTimeoutMs);
    this.stopBarrier = new StopBarrier(this.nodeId, (index) => this.store === undefined || this.appliedIndex >= index);
    this.link = new NetworkLink(params);
    this.windows = new WindowControl(this.nodeId, (message) => this.sendLocal(FLUSHER, message), () => (this.stopped ? this.failure ?? new StoppedError(`node ${this.nodeId}`) : undefined));
    this.reads = new PendingReads({
      nodeId: this.nodeId, timeoutMs: params.writeTimeoutMs, gate: this.gate, gateWaitMs: 2 * params.electionTicks * params.tickMs,
      ask: (id) => this.sendLocal(REPLICATOR, { type: 'readIndex', id } satisfies ReadIndexRequest),
      stopped: () => (this.stopped ? new StoppedError(`node ${this.nodeId}`) : undefined),
    });
    this.writes = new PendingWrites({
      nodeId: this.nodeId, writeTimeoutMs: params.writeTimeoutMs, gate: this.gate, gateWaitMs: 2 * params.electionTicks * params.tickMs,
      send: (request) => this.sendLocal(COMMITTER, request),
      leader: () => this.raftState.leader, term: () => this.raftState.term,
      stopped: () => (this.stopped ? this.failure ?? new StoppedError(`node ${this.nodeId}`) : undefined),
      checkEncoded: (changeSet, encoded) => this.store?.checkEncoded(changeSet, encoded),
    });
  }

  async start(): Promise<void> {
    const p = this.params;
    const clusterName = 'config' in p.network ? p.network.config.clusterName : undefined;
    const spec = clusterNodeSpec({ ...p, startDetached: p.modeMask.startDetached, clusterName });
    const start = p.host === 'thread' ? startThreadNode : startInlineNode;
    if (p.dataDir !== undefined) checkDataDir(p.dataDir, p.self, p.voters.map((v) => v.id), false);
    // Started detached, the node opens no network until attach(): until then what its actors send is dropped.
    if (!p.modeMask.startDetached) await this.link.open();
    try {
      this.host = await start(spec, { outbound: this.link.outbound, actorHeapMb: p.actorHeapMb, ...(p.dataDir !== undefined ? { journalDir: p.dataDir } : {}), ...(p.log !== undefined ? { log: p.log } : {}) });
    } catch (error) {
      await this.link.close(); // a node that fails to open leaves no socket listening
      throw openRefusal(error);
    }
    // Open returns once the tables hold what the journal says was committed: never reads from a half-rebuilt state.
    const recovered = new Promise<void>((resolve) => (this.onRecovered = resolve));
    // Replaying its own journal, a node may meet a write it cannot apply (another schema): open fails then.
    const failed = new Promise<ChorusError>((resolve) => (this.onFailed = resolve));
    this.host.on('appMessage', (message) => this.onMessage(message));
    this.host.on('actorFailed', (actor, reason) => this.fail(new ActorFailedError(actor, reason))); // a bug, or the disk (ENOSPC, EIO)
    this.link.join(this.host); // not yet when started detached: the network is opened at attach()
    const failure = await Promise.race([recovered, failed]);
    this.onFailed = undefined;
    if (failure !== undefined) {
      await this.stopping;
      throw failure;
    }
    if (this.membership.detached) this.membership.keepAttachPoint(this.store);
    this.events.opened();
  }

  /**
   * Takes this node out of the cluster's membership (Raft §6: its qrank leaves the total, so the rest can
   * keep a quorum without it) and leaves it a standalone read/write database. Resolves once a leader
   * confirmed it; NO_QUORUM when this node's side cannot change the membership, TIMEOUT otherwise (the
   * node then stays in the cluster).
   */
  async detach(): Promise<void> {
    if (this.stopped || this.closing) throw new StoppedError(`node ${this.nodeId}`);
    if (this.membership.state === 'detached') return;
    if (this.gate.lost) throw this.gate.noQuorum('detach: ', ' to change the membership');
    const done = this.membership.begin('detached', () => this.sendLocal(REPLICATOR, { type: 'attach' } satisfies MembershipRequest));
    this.sendLocal(REPLICATOR, { type: 'detach' } satisfies MembershipRequest);
    await done;
  }

  /**
   * Rejoins the cluster: the tables go back to how they were when the node left (what was written while
   * detached is discarded, as the seeds describe), then catch up from the log or by a state transfer.
   * Resolves once a leader took the node back in and it has caught up; TIMEOUT if not within
   * writeTimeoutMs (it goes on trying).
   */
  async attach(): Promise<void> {
    if (this.stopped || this.closing) throw new StoppedError(`node ${this.nodeId}`);
    if (this.membership.state === 'attached') return;
    if (this.membership.state !== 'detached') throw new ChorusError('DETACHED', `attach: node ${this.nodeId} is ${this.membership.state}; wait for that to finish`);
    const done = this.membership.begin('attached', () => undefined); // before any await: no more local writes
    await this.membership.openThenDiscard(() => this.link.open(), this.store); // writes meanwhile wait for it
    this.link.join(this.host!);
    this.sendLocal(REPLICATOR, { type: 'attach' } satisfies MembershipRequest);
    await done;
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): Unsubscribe {
    return this.events.on(event, listener);
  }

  /** Runs `body` on a consistent snapshot of this node's tables; never touches the network. */
  read<T>(body: (tx: ReadTx) => T, options?: { readonly consistency: 'local' }): T;
  /** Runs `body` once it is sure to see every write acknowledged before the call; NO_QUORUM, TIMEOUT or STOPPED otherwise. */
  read<T>(body: (tx: ReadTx) => T, options: { readonly consistency: 'linearizable' }): Promise<T>;
  read<T>(body: (tx: ReadTx) => T, options?: ReadOptions): T | Promise<T> {
    if (options?.consistency === 'linearizable') return this.readLinearizable(body);
    if (options !== undefined && options.consistency !== 'local') throw invalidArgument('read', `consistency must be 'local' or 'linearizable', got ${JSON.stringify(options.consistency)}`);
    return this.tables('read').read(body);
  }

  private async readLinearizable<T>(body: (tx: ReadTx) => T): Promise<T> {
    this.tables('read');
    if (this.membership.opening !== undefined) await this.membership.opening;
    if (this.membership.detached) return this.tables('read').read(body); // standalone: its own tables are the database
    await this.reads.ready(); // the read rules: read-core.ts
    return this.tables('read').read(body);
  }

  /**
   * Runs `body` as a transaction and commits it through the cluster. Resolves once it is committed by a
   * quorum and applied here; rejects with VALIDATION / UNIQUE (nothing sent), NO_QUORUM, OVERLOADED,
   * CONFLICT (certified as a conflict on every node alike), TIMEOUT or STOPPED.
   */
  write(body: (tx: WriteTx) => void, options: WriteOptions = {}): Promise<ApplyResult> {
    const retries = options.retries ?? 0;
    // Without retries, writeOnce's own promise: one async frame less per write (allocation, profiled).
    return retries > 0 ? this.writeRetrying(body, retries) : this.writeOnce(body);
  }

  private async writeRetrying(body: (tx: WriteTx) => void, retries: number): Promise<ApplyResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writeOnce(body);
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= retries) throw error;
      }
    }
  }

  info(): NodeInfo {
    return nodeInfo({
      nodeId: this.nodeId, state: this.failure !== undefined ? 'failed' : this.stopped ? 'stopped' : 'running', arbiter: this.params.arbiter, voters: this.params.voters, membership: this.membership.state, raft: this.raftState,
      view: this.view, hasQuorum: this.gate.hasQuorum, traffic: this.link.traffic(),
      counts: { applied: this.applied, conflicts: this.conflicts, remoteCommits: this.remoteCommits, remoteRollbacks: this.remoteRollbacks, pendingWrites: this.writes.size, storeVersion: this.store?.version ?? 0 },
    });
  }

  /** A hash of this node's whole database: equal on nodes that applied the same log. */
  contentHash(): string {
    return this.tables('contentHash').contentHash();
  }

  /** The transaction window in force; rejects with STOPPED (or the node's failure) if the node stops first. */
  getWindow(): Promise<Window> {
    return this.windows.get();
  }

  /** Changes the transaction window; INVALID_ARGUMENT naming the field (nothing changes), STOPPED when stopped. */
  setWindow(window: Window): void {
    this.windows.set(window);
  }

  /** Asks the leader (if this node is it) to hand leadership to `nodeAddr`, one of `nodes`' addrs. */
  transferLeadership(nodeAddr: string): void {
    // Checked and sent as a string only: anything else could not cross to the replicator's thread.
    if (typeof nodeAddr !== 'string' || !this.params.voters.some((v) => v.id === nodeAddr)) {
      throw invalidArgument('transferLeadership', `nodeAddr must be the addr of one of the nodes (${this.params.voters.map((v) => v.id).join(', ')}), got ${typeof nodeAddr === 'string' ? JSON.stringify(nodeAddr) : typeof nodeAddr}`);
    }
    const error = this.sendLocal(REPLICATOR, { type: 'transferLeadership', to: nodeAddr } satisfies TransferLeadership);
    if (error !== undefined) throw this.failure ?? error;
  }

  /**
   * Stops the node. By default cluster-wide, as the seeds' stop ("returns after ALL nodes call stop"):
   * this node refuses new writes (STOPPED) and lets its own settle, then waits until every attached data
   * node has called stop and every one has applied each write acknowledged anywhere before its node
   * called stop; then it stops. Resolved, every node holds the same data (local reads still work after
   * stop). Rejects with TIMEOUT after `stopTimeoutMs`, naming the nodes it waited for; the node is
   * stopped either way. A detached node is not part of the cluster: it stops alone.
   * `{ scope: 'local' }` stops this node alone and at once (pending writes reject with STOPPED; the rest
   * of the cluster goes on without it, and it can be reopened to rejoin).
   */
  stop(options: StopOptions = {}): Promise<void> {
    const scope = options.scope ?? 'cluster';
    if (scope !== 'cluster' && scope !== 'local') return Promise.reject(invalidArgument('stop', `scope must be 'cluster' or 'local', got ${JSON.stringify(scope)}`));
    const timeoutMs = options.timeoutMs ?? this.params.stopTimeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) return Promise.reject(invalidArgument('stop', `timeoutMs must be a positive integer (milliseconds), got ${String(timeoutMs)}`));
    if (scope === 'local') return this.stopLocal();
    this.stopping ??= this.stopCluster(timeoutMs);
    return this.stopping;
  }

  private async stopCluster(timeoutMs: number): Promise<void> {
    if (this.stopped) return this.localStop; // stopped alone already: done once that stop is
    if (this.membership.state !== 'attached' || this.host === undefined) return this.stopLocal(); // standalone: no cluster to wait for
    this.closing = true;
    // Own writes first: once they have settled, every one acknowledged here is at or below appliedIndex.
    const announce = () => this.sendLocal(WATCHER, { type: 'stopCluster', applied: this.appliedIndex } satisfies StopCluster);
    const outcome = await this.stopBarrier.wait(this.writes.drained(), announce, timeoutMs);
    await this.stopLocal();
    if (outcome === 'timeout') throw this.stopBarrier.timeoutError(timeoutMs);
  }

  /** Stops this node alone: pending writes and reads reject with STOPPED (or `reason`); the actors drain and stop. Once: a later call waits for it. */
  private stopLocal(reason?: ChorusError): Promise<void> {
    return (this.localStop ??= this.stopOnce(reason));
  }

  private async stopOnce(reason: ChorusError | undefined): Promise<void> {
    this.stopped = true;
    this.images.cancel();
    this.restorer.cancel();
    this.stopBarrier.interrupted();
    this.link.leave();
    const error = (sent = false) => stoppedError(this.nodeId, reason, sent);
    this.membership.fail(error());
    this.writes.failAll(error);
    this.reads.failAll(error);
    this.windows.failAll(error());
    this.gate.releaseAll(); // calls waiting for a quorum or a leader find the node stopped now, not at their timeout
    // Links close while the actors drain (nothing comes in after leave()): peers hear at once that it went.
    await Promise.all([this.host?.stop(), this.link.close()]);
  }

  private async writeOnce(body: (tx: WriteTx) => void): Promise<ApplyResult> {
    this.tables('write');
    if (this.stopped || this.closing) throw this.failure ?? new StoppedError(`node ${this.nodeId}`);
    if (this.membership.opening !== undefined) {
      await this.membership.opening; // then in the cluster, or standalone still if the network could not open
      if (this.stopped || this.closing) throw this.failure ?? new StoppedError(`node ${this.nodeId}`);
    }
    if (this.membership.detached) {
      // Standalone: the write applies here only, and goes when the node attaches again.
      const result = this.tables('write').commit(body);
      this.membership.localWrites++;
      return result;
    }
    // Right after open, or during an election, the gate gives the cluster about two election timeouts to
    // name a leader before refusing: NO_QUORUM stays prompt, and a first write does not fail for being early.
    // Phase 1 (there): VALIDATION and UNIQUE are thrown; with earlyDataSend unique indexes are left to apply.
    return this.writes.write(() => this.tables('write').write(body, { deferUnique: this.params.modeMask.earlyDataSend }), this.schemaDef);
  }

  /** The tables, or ARBITER: an arbiter holds none (and its replicator never hands it entries to apply). */
  private tables(api: string): Store {
    if (this.store === undefined) throw new ChorusError('ARBITER', `${api}: node ${this.nodeId} is an arbiter; it votes and keeps the log but holds no tables`);
    return this.store;
  }

  private sendLocal<T extends Message>(actor: string, message: T) {
    if (this.host === undefined) return new StoppedError(`node ${this.nodeId}`);
    return this.host.send({ node: this.nodeId, actor }, message);
  }

  private onMessage(message: Message): void {
    if (this.restorer.holds(message)) return; // after an image still loading
    switch (message.type) {
      case 'apply':
        this.apply(message as ApplyEntries);
        return;
      case 'commitRefused': {
        this.writes.refused(message as CommitRefused);
        return;
      }
      case 'raftState':
        this.onRaftState(message as RaftStateChanged);
        return;
      case 'recovered':
        this.onRecovered?.();
        return;
      case 'restore':
        this.restore(message as Restore);
        return;
      case 'imageWanted':
        // Detached, the tables hold local writes: an image of them is not the replicated state.
        if (!this.membership.detached) this.images.take(this.tables('takeImage'), message as ImageWanted, (taken) => this.sendLocal(REPLICATOR, taken));
        return;
      case 'peer': {
        const { peer, qrank, connected, reason } = message as PeerChanged;
        this.events.emit(connected ? 'connect' : 'disconnect', { nodeId: peer, addr: peer, qrank, reason });
        return;
      }
      case 'quorum': {
        const { hasQuorum, reason } = message as QuorumChanged;
        const event = this.gate.quorumChanged(hasQuorum, reason);
        if (event !== undefined) this.events.emit(event, reason);
        return;
      }
      case 'readReady':
      case 'readFailed': {
        const id = (message as ReadReady | ReadFailed).id;
        this.reads.answered(id, message.type === 'readReady', (message as ReadFailed).overloaded === true);
        return;
      }
      case 'clusterView':
        this.view = message as ClusterView;
        return;
      case 'membership':
        this.membership.reached(message as MembershipDone, this.store);
        return;
      case 'stopProgress':
        this.stopBarrier.progressed(message as StopProgress);
        return;
      case 'synced': {
        const { index, via } = message as Synced;
        this.events.emit('synced', { index, via });
        return;
      }
      case 'windowIs':
        this.windows.answered((message as WindowIs).window);
        return;
      default:
        return; // other actors' notes to the application are not for this API
    }
  }

  private apply(entries: ApplyEntries): void {
    if (this.stopped) return;
    let counts: ReturnType<typeof applyCommitted>;
    try {
      counts = applyCommitted(this.tables('apply'), this.nodeId, entries, this.appliedIndex, (id, encoded, result, error) => this.writes.applied(id, encoded, result, error), (id, encoded) => this.writes.changeSet(id, encoded));
    } catch (error) {
      if (error instanceof AssertionError) this.fail(new ChorusError('ACTOR_FAILED', error.message)); // entries lost: stop rather than diverge
      else if (error instanceof CannotFollowError) this.fail(error);
      else throw error;
      return;
    }
    const { applied, rejected, remoteApplied, remoteRejected } = counts;
    this.applied += applied;
    this.conflicts += rejected;
    this.remoteCommits += remoteApplied;
    this.remoteRollbacks += remoteRejected;
    this.stopBarrier.applied((this.appliedIndex = entries.last));
  }

  /** Loads an image (the leader's, or the journal's) in slices: applied up to its index once in. One that cannot be loaded (a bug, or the disk: the leader's is verified by its digest) fails the node. */
  private restore(restore: Restore): void {
    if (this.stopped) return;
    this.restorer.load(this.tables('restore'), `state image at log index ${restore.index} on ${this.nodeId}`, restore.frames, (error) => {
      if (error !== undefined) return this.fail(error instanceof ChorusError ? error : new ChorusError('CORRUPT', `state image at log index ${restore.index} on ${this.nodeId}: ${String(error)}`));
      this.writes.imageInstalled(); // a write's copy may have applied inside it, unseen
      this.stopBarrier.applied((this.appliedIndex = restore.index));
    }, (held) => this.onMessage(held));
  }

  /** The node cannot go on without diverging: it stops, tells the application, and its writes fail with `error`. */
  private fail(error: ChorusError): void {
    if (this.stopped) return;
    this.failure = error;
    this.stopping = this.stopLocal(error);
    this.onFailed?.(error);
    this.events.emit('failed', error);
  }

  private onRaftState(state: RaftStateChanged): void {
    const before = this.raftState;
    this.raftState = state;
    if (before.leader !== state.leader || before.term !== state.term) this.events.emit('leaderChanged', state.leader, state.term);
    if (state.leader !== undefined && (state.leader !== before.leader || state.term !== before.term)) this.writes.leaderChanged(state.leader, state.term);
    this.gate.leaderChanged(state.leader);
  }
}
