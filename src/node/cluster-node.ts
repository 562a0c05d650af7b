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
import { createNanoEvents } from 'nanoevents';
import type { Unsubscribe } from 'nanoevents';
import type { Address, LogRecord, Message, SendResult } from '../runtime/actor.js';
import { APP } from '../runtime/actor.js';
import { ChorusError, StoppedError, invalidArgument } from '../runtime/errors.js';
import type { NodeHost } from '../runtime/host.js';
import { startInlineNode } from '../runtime/inline-host.js';
import { startThreadNode } from '../runtime/thread/thread-host.js';
import { Store } from '../store/store.js';
import { plainSchemaDef } from '../store/schema.js';
import type { ApplyResult } from '../store/store.js';
import type { ReadTx } from '../store/read-tx.js';
import type { WriteTx } from '../store/write-tx.js';
import { ConflictError } from '../store/errors.js';
import type { ImageWanted, MembershipDone, MembershipRequest, RaftStateChanged, ReadFailed, ReadIndexRequest, ReadReady, Restore, Synced, TransferLeadership } from '../actors/replicator.js';
import type { ClusterView, PeerChanged, QuorumChanged, StopCluster, StopProgress } from '../actors/quorum-watcher.js';
import type { GetWindow, SetWindow, Window, WindowIs } from '../actors/window-flusher.js';
import type { ApplyEntries, CommitRefused, CommitRequest } from '../actors/committer.js';
import { COMMITTER, FLUSHER, REPLICATOR, WATCHER, CannotFollowError, applyCommitted, clusterNodeSpec, restoreImage, takeImage } from './node-spec.js';
import type { NodeParams, ResolvedParams } from './params.js';
import { isSharedNetwork, resolveParams } from './params.js';
import type { OwnedNetwork } from './tcp.js';
import { DetachControl } from './detached.js';
import { loggingDeliveries, loggingSends } from './debug-output.js';
import type { NodeEvents, NodeInfo, ReadOptions, StopOptions, WriteOptions } from './node-info.js';
import { nodeInfo } from './node-info.js';

export type { NodeEvents, NodeInfo, PeerInfo, PeerStatus, ReadOptions, StopOptions, WriteOptions } from './node-info.js';
import { openTcpNetwork } from './tcp.js';
import type { ClusterNetwork } from '../transport/network.js';
import { noLeaderResubmitsMax } from '../limits.js';

/** Counts a change-set's bytes (clusterSendBuf) without an encoder and buffer per write. */
const changeSetEncoder = new Encoder();

interface PendingWrite {
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly request: CommitRequest;
  /** Times it was submitted again after a refusal during an election. */
  resubmits: number;
  /** The leader this node knew when the write was last submitted. */
  leader: string | undefined;
}

export async function openNode(params: NodeParams): Promise<ClusterNode> {
  const resolved = resolveParams(params);
  // A bad schema is refused here, naming table and field. binaryEvolution: change-sets of other (learned,
  // compatible) schemas convert on apply.
  const store = resolved.schema === undefined ? undefined : Store.open(resolved.schema, { evolution: resolved.modeMask.binaryEvolution });
  const node = new ClusterNode(resolved, store);
  await node.start();
  return node;
}

export class ClusterNode {
  readonly nodeId: string;
  private host: NodeHost | undefined;
  private readonly emitter = createNanoEvents<NodeEvents>();
  private readonly pending = new Map<number, PendingWrite>();
  private nextId = 1;
  private raftState: RaftStateChanged = { type: 'raftState', role: 'follower', leader: undefined, term: 0 };
  private applied = 0;
  private conflicts = 0;
  private remoteCommits = 0;
  private remoteRollbacks = 0;
  private view: ClusterView = { type: 'clusterView', self: undefined, hasQuorum: false, peers: [] };
  private windowWaiters: ((window: Window) => void)[] = [];
  private stopped = false;
  /** A cluster-wide stop is under way: new writes are refused (STOPPED), the node waits for the others. */
  private closing = false;
  private stopping: Promise<void> | undefined;
  private stopWaiter: ((outcome: 'done' | 'timeout' | 'stopped') => void) | undefined;
  private stopProgress: StopProgress | undefined;
  /** Called whenever the last pending write settles. */
  private drainWaiters: (() => void)[] = [];
  /** The log index of the last change-set applied here. */
  private appliedIndex = 0;
  /** Why the node stopped itself (it could not follow the log), if it did. */
  private failure: ChorusError | undefined;
  private onFailed: ((error: ChorusError) => void) | undefined;
  /** binaryEvolution: this node's schema, carried with each write (and its encoded size, for clusterSendBuf). */
  private readonly schemaDef: { readonly def: unknown; readonly bytes: number } | undefined;
  /** quorumRegained follows a quorumLost, not the first quorum after open. */
  private quorumSeen = false;
  private hasQuorum = false;
  private quorumReason = '';
  private readonly pendingReads = new Map<number, { settle: (ok: boolean) => void; fail: (error: Error) => void }>();
  private nextReadId = 1;
  private onRecovered: (() => void) | undefined;
  private network: ClusterNetwork | undefined;
  private outbound: ((from: Address, to: Address, message: Message) => SendResult) | undefined;
  /** Whether the network delivers to this node's host (not while it starts detached). */
  private onNetwork = false;
  private readonly membership: DetachControl;
  /** The network this node opened itself (nwType 'tcp'); closed when it stops. */
  private ownNetwork: OwnedNetwork | undefined;

  constructor(
    private readonly params: ResolvedParams,
    /** The tables; none on an arbiter. */
    private readonly store: Store | undefined,
  ) {
    this.nodeId = params.self;
    if (params.modeMask.binaryEvolution && store !== undefined) {
      const def = plainSchemaDef(store.schema.def);
      this.schemaDef = { def, bytes: changeSetEncoder.encodeSharedRef(def).byteLength };
    }
    this.membership = new DetachControl(params.self, params.modeMask.startDetached, params.writeTimeoutMs);
  }

  async start(): Promise<void> {
    const p = this.params;
    const spec = clusterNodeSpec({ ...p, startDetached: p.modeMask.startDetached });
    const start = p.host === 'thread' ? startThreadNode : startInlineNode;
    // Started detached, the node opens no network until attach(): until then what its actors send is dropped.
    if (!p.modeMask.startDetached) await this.openNetwork();
    try {
      this.host = await start(spec, { outbound: (from, to, message) => (this.outbound === undefined ? undefined : this.outbound(from, to, message)), ...(p.dataDir !== undefined ? { journalDir: p.dataDir } : {}), ...(p.log !== undefined ? { log: p.log } : {}) });
    } catch (error) {
      await this.ownNetwork?.close(); // a node that fails to open leaves no socket listening
      throw error;
    }
    // The replicator replays its journal and hands on what was committed before; open returns once this
    // node's tables hold it all, so a reopened node never serves reads from a half-rebuilt state.
    const recovered = new Promise<void>((resolve) => (this.onRecovered = resolve));
    // Replaying its own journal, a node may meet a write it cannot apply (another schema): open fails then.
    const failed = new Promise<ChorusError>((resolve) => (this.onFailed = resolve));
    this.host.on('appMessage', (message) => this.onMessage(message));
    if (this.network !== undefined) this.joinNetwork();
    const failure = await Promise.race([recovered, failed]);
    this.onFailed = undefined;
    if (failure !== undefined) {
      await this.stopping;
      throw failure;
    }
    if (this.membership.detached) this.membership.keepAttachPoint(this.store);
  }

  private async openNetwork(): Promise<void> {
    const p = this.params;
    if (isSharedNetwork(p.network)) this.network = p.network;
    else {
      this.ownNetwork = await openTcpNetwork(p.network);
      this.network = this.ownNetwork.network;
    }
    const outbound = this.network.outbound(p.self);
    this.outbound = p.modeMask.debugOutput ? loggingSends(p.self, outbound, this.debugLog()) : outbound;
  }

  private joinNetwork(): void {
    const host = this.host!;
    this.network!.attach(this.params.modeMask.debugOutput ? loggingDeliveries(host, this.debugLog()) : host);
    this.onNetwork = true;
  }

  private debugLog(): (record: LogRecord) => void {
    return this.params.log ?? ((record) => process.stderr.write(`${JSON.stringify(record)}\n`));
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
    if (this.quorumSeen && !this.hasQuorum) throw new ChorusError('NO_QUORUM', `detach: this node's side of the cluster has no quorum to change the membership: ${this.quorumReason}`);
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
    this.membership.discardLocalWrites(this.store);
    if (this.network === undefined) await this.openNetwork();
    if (!this.onNetwork) this.joinNetwork();
    const done = this.membership.begin('attached', () => undefined);
    this.sendLocal(REPLICATOR, { type: 'attach' } satisfies MembershipRequest);
    await done;
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): Unsubscribe {
    return this.emitter.on(event, listener);
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
    if (this.membership.detached) return this.tables('read').read(body); // standalone: its own tables are the database
    for (let attempt = 0; ; attempt++) {
      if (this.stopped) throw new StoppedError(`node ${this.nodeId}`);
      await this.leaderWithin(2 * this.params.electionTicks * this.params.tickMs);
      if (this.quorumSeen && !this.hasQuorum) throw new ChorusError('NO_QUORUM', `this node's side of the cluster has no quorum: ${this.quorumReason}`);
      const ready = await this.readIndex();
      if (ready) return this.tables('read').read(body);
      // Not confirmed (no leader, or it stepped down): after an election it may be, a few times.
      if (attempt >= noLeaderResubmitsMax || (this.quorumSeen && !this.hasQuorum)) {
        throw new ChorusError('NO_QUORUM', `a linearizable read on ${this.nodeId} could not be confirmed by a leader with a quorum`);
      }
    }
  }

  /** True once the tables hold everything a quorum-confirmed leader had committed; false when it could not confirm. */
  private readIndex(): Promise<boolean> {
    const id = this.nextReadId++;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingReads.delete(id);
        reject(new ChorusError('TIMEOUT', `a linearizable read on ${this.nodeId} was not confirmed within ${this.params.writeTimeoutMs} ms (writeTimeoutMs)`));
      }, this.params.writeTimeoutMs);
      this.pendingReads.set(id, { settle: (ok) => { clearTimeout(timer); resolve(ok); }, fail: (error) => { clearTimeout(timer); reject(error); } });
      const error = this.sendLocal(REPLICATOR, { type: 'readIndex', id } satisfies ReadIndexRequest);
      if (error !== undefined) this.pendingReads.get(id)?.fail(new ChorusError('OVERLOADED', `read not accepted: ${error.message}`));
    });
  }

  /**
   * Runs `body` as a transaction and commits it through the cluster. Resolves once it is committed by a
   * quorum and applied here; rejects with VALIDATION / UNIQUE (nothing sent), NO_QUORUM, OVERLOADED,
   * CONFLICT (certified as a conflict on every node alike), TIMEOUT or STOPPED.
   */
  async write(body: (tx: WriteTx) => void, options: WriteOptions = {}): Promise<ApplyResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writeOnce(body);
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= (options.retries ?? 0)) throw error;
      }
    }
  }

  info(): NodeInfo {
    return nodeInfo({
      nodeId: this.nodeId, arbiter: this.params.arbiter, voters: this.params.voters, membership: this.membership.state, raft: this.raftState,
      view: this.view, hasQuorum: this.hasQuorum, traffic: this.network?.traffic?.(this.nodeId),
      counts: { applied: this.applied, conflicts: this.conflicts, remoteCommits: this.remoteCommits, remoteRollbacks: this.remoteRollbacks, pendingWrites: this.pending.size, storeVersion: this.store?.version ?? 0 },
    });
  }

  /** A hash of this node's whole database: equal on nodes that applied the same log. */
  contentHash(): string {
    return this.tables('contentHash').contentHash();
  }

  getWindow(): Promise<Window> {
    return new Promise((resolve) => {
      this.windowWaiters.push(resolve);
      this.sendLocal(FLUSHER, { type: 'getWindow', replyTo: { node: this.nodeId, actor: APP } } satisfies GetWindow);
    });
  }

  setWindow(window: Window): void {
    this.sendLocal(FLUSHER, { type: 'setWindow', window } satisfies SetWindow);
  }

  /** Asks the leader (if this node is it) to hand leadership to `nodeAddr`. */
  transferLeadership(nodeAddr: string): void {
    this.sendLocal(REPLICATOR, { type: 'transferLeadership', to: nodeAddr } satisfies TransferLeadership);
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
    if (this.stopped) return;
    if (this.membership.state !== 'attached' || this.host === undefined) return this.stopLocal(); // standalone: no cluster to wait for
    this.closing = true;
    const outcome = await new Promise<'done' | 'timeout' | 'stopped'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), timeoutMs);
      this.stopWaiter = (result) => {
        clearTimeout(timer);
        resolve(result);
      };
      // Own writes first: once they have settled, every one acknowledged here is at or below appliedIndex.
      void this.drained().then(() => {
        if (!this.stopped) this.sendLocal(WATCHER, { type: 'stopCluster', applied: this.appliedIndex } satisfies StopCluster);
      });
    });
    this.stopWaiter = undefined;
    await this.stopLocal();
    if (outcome === 'timeout') {
      const p = this.stopProgress;
      const why = p === undefined ? 'its own writes had not settled' : [p.notStopping.length > 0 ? `${p.notStopping.join(', ')} had not called stop` : '', p.behind.length > 0 ? `${p.behind.join(', ')} had not applied up to log index ${p.target}` : ''].filter((x) => x !== '').join('; ');
      throw new ChorusError('TIMEOUT', `stop: node ${this.nodeId} waited ${timeoutMs} ms (stopTimeoutMs) for the cluster to stop with it: ${why}. It stopped alone.`);
    }
  }

  /** Resolves once no write of this node is pending. */
  private drained(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops this node alone: pending writes and reads reject with STOPPED (or `reason`); the actors drain and stop. */
  private async stopLocal(reason?: ChorusError): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopWaiter?.('stopped');
    if (this.onNetwork) this.network?.detach(this.nodeId);
    const error = () => reason ?? new StoppedError(`node ${this.nodeId}`);
    this.membership.fail(error());
    for (const [id, write] of this.pending) this.settle(id, undefined, error(), write);
    for (const read of this.pendingReads.values()) read.fail(error());
    this.pendingReads.clear();
    await this.host?.stop();
    await this.ownNetwork?.close();
  }

  private async writeOnce(body: (tx: WriteTx) => void): Promise<ApplyResult> {
    this.tables('write');
    if (this.stopped || this.closing) throw this.failure ?? new StoppedError(`node ${this.nodeId}`);
    if (this.membership.detached) {
      // Standalone: the write applies here only, and goes when the node attaches again.
      const result = this.tables('write').commit(body);
      this.membership.localWrites++;
      return result;
    }
    // Right after open, or during an election, give the cluster one election timeout to name a leader
    // before refusing: NO_QUORUM stays prompt, and a first write does not fail for being early.
    await this.leaderWithin(2 * this.params.electionTicks * this.params.tickMs);
    // After quorumLost, refuse at once here: the committer hears it too, but on another link, maybe later.
    if (this.quorumSeen && !this.hasQuorum) throw new ChorusError('NO_QUORUM', `this node's side of the cluster has no quorum: ${this.quorumReason}`);
    // Phase 1: VALIDATION and UNIQUE are thrown here; with earlyDataSend unique indexes are left to apply.
    const changeSet = this.tables('write').write(body, { deferUnique: this.params.modeMask.earlyDataSend });
    const id = this.nextId++;
    return new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, undefined, new ChorusError('TIMEOUT', `write ${id} on ${this.nodeId} was not committed within ${this.params.writeTimeoutMs} ms (writeTimeoutMs)`)), this.params.writeTimeoutMs);
      const bytes = changeSetEncoder.encodeSharedRef(changeSet).byteLength;
      const request: CommitRequest = this.schemaDef === undefined
        ? { type: 'commit', id, changeSet, bytes }
        : { type: 'commit', id, changeSet, bytes: bytes + this.schemaDef.bytes, schema: this.schemaDef.def };
      this.pending.set(id, { resolve, reject, timer, request, resubmits: 0, leader: this.raftState.leader });
      this.submit(request);
    });
  }

  private submit(request: CommitRequest): void {
    const error = this.sendLocal(COMMITTER, request);
    if (error !== undefined) this.settle(request.id, undefined, new ChorusError('OVERLOADED', `write ${request.id} not accepted: ${error.message}`));
  }

  /**
   * Refused during an election on a side that holds a quorum: nothing of it is in the log, so the same
   * change-set may go again once a leader is known (at most `noLeaderResubmitsMax` times).
   */
  private onRefused(refused: CommitRefused): void {
    for (const id of refused.ids) {
      const write = this.pending.get(id);
      if (write === undefined) continue;
      if (!refused.retryable || write.resubmits >= noLeaderResubmitsMax || this.stopped) {
        this.settle(id, undefined, new ChorusError(refused.code, refused.reason));
        continue;
      }
      write.resubmits++;
      void this.leaderWithin(2 * this.params.electionTicks * this.params.tickMs).then(() => {
        write.leader = this.raftState.leader;
        if (this.pending.get(id) === write && !this.stopped) this.submit(write.request);
      });
    }
  }

  /** Resolves once a leader is known (at once if one is), or after `timeoutMs`. */
  private leaderWithin(timeoutMs: number): Promise<void> {
    if (this.raftState.leader !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const off = this.emitter.on('leaderChanged', (leader) => {
        if (leader !== undefined) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
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
    switch (message.type) {
      case 'apply':
        this.apply(message as ApplyEntries);
        return;
      case 'commitRefused': {
        this.onRefused(message as CommitRefused);
        return;
      }
      case 'raftState':
        this.onRaftState(message as RaftStateChanged);
        return;
      case 'recovered':
        this.onRecovered?.();
        return;
      case 'restore':
        restoreImage(this.tables('restore'), this.nodeId, message as Restore);
        return;
      case 'imageWanted':
        // Detached, the tables hold local writes: an image of them is not the replicated state.
        if (!this.membership.detached) this.sendLocal(REPLICATOR, takeImage(this.tables('takeImage'), message as ImageWanted));
        return;
      case 'peer': {
        const { peer, qrank, connected, reason } = message as PeerChanged;
        this.emitter.emit(connected ? 'connect' : 'disconnect', { nodeId: peer, addr: peer, qrank, reason });
        return;
      }
      case 'quorum': {
        const { hasQuorum, reason } = message as QuorumChanged;
        const before = this.hasQuorum;
        this.hasQuorum = hasQuorum;
        this.quorumReason = reason;
        if (before && !hasQuorum) this.emitter.emit('quorumLost', reason);
        if (!before && hasQuorum && this.quorumSeen) this.emitter.emit('quorumRegained', reason);
        if (hasQuorum) this.quorumSeen = true;
        return;
      }
      case 'readReady':
      case 'readFailed': {
        const id = (message as ReadReady | ReadFailed).id;
        const read = this.pendingReads.get(id);
        this.pendingReads.delete(id);
        read?.settle(message.type === 'readReady');
        return;
      }
      case 'clusterView':
        this.view = message as ClusterView;
        return;
      case 'membership':
        this.membership.reached((message as MembershipDone).state, this.store);
        return;
      case 'stopProgress':
        this.stopProgress = message as StopProgress;
        if (this.stopProgress.done) this.stopWaiter?.('done');
        return;
      case 'synced': {
        const { index, via } = message as Synced;
        this.emitter.emit('synced', { index, via });
        return;
      }
      case 'windowIs': {
        const waiters = this.windowWaiters;
        this.windowWaiters = [];
        for (const resolve of waiters) resolve((message as WindowIs).window);
        return;
      }
      default:
        return; // other actors' notes to the application are not for this API
    }
  }

  private apply(entries: ApplyEntries): void {
    if (this.stopped) return;
    let counts: ReturnType<typeof applyCommitted>;
    try {
      counts = applyCommitted(this.tables('apply'), this.nodeId, entries, (id, result, error) => this.settle(id, result, error));
    } catch (error) {
      if (!(error instanceof CannotFollowError)) throw error;
      this.fail(error);
      return;
    }
    const { applied, rejected, remoteApplied, remoteRejected } = counts;
    this.applied += applied;
    this.conflicts += rejected;
    this.remoteCommits += remoteApplied;
    this.remoteRollbacks += remoteRejected;
    this.appliedIndex = entries.last;
  }

  /** The node cannot go on without diverging: it stops, tells the application, and its writes fail with `error`. */
  private fail(error: ChorusError): void {
    if (this.stopped) return;
    this.failure = error;
    this.stopping = this.stopLocal(error);
    this.onFailed?.(error);
    this.emitter.emit('failed', error);
  }

  private onRaftState(state: RaftStateChanged): void {
    const before = this.raftState;
    this.raftState = state;
    if (before.leader !== state.leader || before.term !== state.term) this.emitter.emit('leaderChanged', state.leader, state.term);
    if (state.leader !== undefined && state.leader !== before.leader) this.resubmitToNewLeader(state.leader);
  }

  /**
   * A write forwarded to a leader that has since gone may be lost with it (Raft drops proposals it
   * cannot take): send it again through the new leader, at most `noLeaderResubmitsMax` times. Safe if
   * the first copy did make it into the log: the second then writes keys the first changed after its
   * snapshot, so certification rejects it as a conflict on every node alike, and the write settles once,
   * with whichever copy applies first.
   */
  private resubmitToNewLeader(leader: string): void {
    for (const write of this.pending.values()) {
      if (write.leader === leader || write.resubmits >= noLeaderResubmitsMax) continue;
      write.leader = leader;
      write.resubmits++;
      this.submit(write.request);
    }
  }

  private settle(id: number, result: ApplyResult | undefined, error: Error | undefined, known?: PendingWrite): void {
    const write = known ?? this.pending.get(id);
    if (write === undefined) return;
    this.pending.delete(id);
    clearTimeout(write.timer);
    if (error !== undefined) write.reject(error);
    else write.resolve(result!);
    if (this.pending.size === 0 && this.drainWaiters.length > 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }
}
