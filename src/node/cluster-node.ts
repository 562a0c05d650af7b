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
import { encode } from '@msgpack/msgpack';
import { createNanoEvents } from 'nanoevents';
import type { Unsubscribe } from 'nanoevents';
import type { Message } from '../runtime/actor.js';
import { APP } from '../runtime/actor.js';
import { ChorusError, StoppedError } from '../runtime/errors.js';
import type { NodeHost } from '../runtime/host.js';
import { startInlineNode } from '../runtime/inline-host.js';
import { startThreadNode } from '../runtime/thread/thread-host.js';
import { Store } from '../store/store.js';
import type { ApplyResult } from '../store/store.js';
import type { ReadTx } from '../store/read-tx.js';
import type { WriteTx } from '../store/write-tx.js';
import { ConflictError } from '../store/errors.js';
import type { ImageWanted, RaftStateChanged, Restore, Synced, TransferLeadership } from '../actors/replicator.js';
import type { GetWindow, SetWindow, Window, WindowIs } from '../actors/window-flusher.js';
import type { ApplyEntries, CommitRefused, CommitRequest } from '../actors/committer.js';
import { COMMITTER, FLUSHER, REPLICATOR, applyCommitted, clusterNodeSpec, restoreImage, takeImage } from './node-spec.js';
import type { NodeParams, ResolvedParams } from './params.js';
import { resolveParams } from './params.js';

export interface NodeEvents {
  leaderChanged: (leader: string | undefined, term: number) => void;
  /** This node no longer knows a leader: its writes fail with NO_QUORUM until one is elected. */
  quorumLost: () => void;
  quorumRegained: (leader: string) => void;
  /**
   * This node had fallen behind (it was down or cut off) and has caught up: it has applied what the
   * leader had committed when it noticed, from the log or by a state transfer (`via: 'image'`).
   */
  synced: (info: { readonly index: number; readonly via: 'log' | 'image' }) => void;
}

export interface NodeInfo {
  readonly nodeId: string;
  readonly role: string;
  readonly term: number;
  readonly leader: string | undefined;
  /** Change-sets applied to this node's tables, and how many certification rejected (CONFLICT, UNIQUE). */
  readonly applied: number;
  readonly conflicts: number;
  readonly pendingWrites: number;
  readonly storeVersion: number;
}

export interface WriteOptions {
  /** Times to run the body again on a fresh snapshot after a CONFLICT (default 0). */
  readonly retries?: number;
}

interface PendingWrite {
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export async function openNode(params: NodeParams): Promise<ClusterNode> {
  const resolved = resolveParams(params);
  const store = Store.open(resolved.schema); // a bad schema is refused here, naming table and field
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
  private windowWaiters: ((window: Window) => void)[] = [];
  private stopped = false;
  private onRecovered: (() => void) | undefined;

  constructor(
    private readonly params: ResolvedParams,
    private readonly store: Store,
  ) {
    this.nodeId = params.self;
  }

  async start(): Promise<void> {
    const p = this.params;
    const spec = clusterNodeSpec(p);
    const start = p.host === 'thread' ? startThreadNode : startInlineNode;
    this.host = await start(spec, { outbound: p.network.outbound(p.self), ...(p.dataDir !== undefined ? { journalDir: p.dataDir } : {}) });
    // The replicator replays its journal and hands on what was committed before; open returns once this
    // node's tables hold it all, so a reopened node never serves reads from a half-rebuilt state.
    const recovered = new Promise<void>((resolve) => (this.onRecovered = resolve));
    this.host.on('appMessage', (message) => this.onMessage(message));
    p.network.attach(this.host);
    await recovered;
  }

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /** Runs `body` on a consistent snapshot of this node's tables; never touches the network. */
  read<T>(body: (tx: ReadTx) => T): T {
    return this.store.read(body);
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
    return {
      nodeId: this.nodeId, role: this.raftState.role, term: this.raftState.term, leader: this.raftState.leader,
      applied: this.applied, conflicts: this.conflicts, pendingWrites: this.pending.size, storeVersion: this.store.version,
    };
  }

  /** A hash of this node's whole database: equal on nodes that applied the same log. */
  contentHash(): string {
    return this.store.contentHash();
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

  /** Stops this node: pending writes reject with STOPPED; the actors drain and stop. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.params.network.detach(this.nodeId);
    for (const [id, write] of this.pending) this.settle(id, undefined, new StoppedError(`node ${this.nodeId}`), write);
    await this.host?.stop();
  }

  private async writeOnce(body: (tx: WriteTx) => void): Promise<ApplyResult> {
    if (this.stopped) throw new StoppedError(`node ${this.nodeId}`);
    // Right after open, or during an election, give the cluster one election timeout to name a leader
    // before refusing: NO_QUORUM stays prompt, and a first write does not fail for being early.
    if (this.raftState.leader === undefined) await this.leaderWithin(2 * this.params.electionTicks * this.params.tickMs);
    const changeSet = this.store.write(body); // phase 1: VALIDATION and UNIQUE are thrown here
    const id = this.nextId++;
    return new Promise<ApplyResult>((resolve, reject) => {
      const timer = setTimeout(() => this.settle(id, undefined, new ChorusError('TIMEOUT', `write ${id} on ${this.nodeId} was not committed within ${this.params.writeTimeoutMs} ms (writeTimeoutMs)`)), this.params.writeTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const error = this.sendLocal(COMMITTER, { type: 'commit', id, changeSet, bytes: encode(changeSet).byteLength } satisfies CommitRequest);
      if (error !== undefined) this.settle(id, undefined, new ChorusError('OVERLOADED', `write ${id} not accepted: ${error.message}`));
    });
  }

  private leaderWithin(timeoutMs: number): Promise<void> {
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
        const refused = message as CommitRefused;
        for (const id of refused.ids) this.settle(id, undefined, new ChorusError(refused.code, refused.reason));
        return;
      }
      case 'raftState':
        this.onRaftState(message as RaftStateChanged);
        return;
      case 'recovered':
        this.onRecovered?.();
        return;
      case 'restore':
        restoreImage(this.store, this.nodeId, message as Restore);
        return;
      case 'imageWanted':
        this.sendLocal(REPLICATOR, takeImage(this.store, message as ImageWanted));
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
    const { applied, rejected } = applyCommitted(this.store, this.nodeId, entries, (id, result, error) => this.settle(id, result, error));
    this.applied += applied;
    this.conflicts += rejected;
  }

  private onRaftState(state: RaftStateChanged): void {
    const before = this.raftState;
    this.raftState = state;
    if (before.leader !== state.leader || before.term !== state.term) this.emitter.emit('leaderChanged', state.leader, state.term);
    if (before.leader !== undefined && state.leader === undefined) this.emitter.emit('quorumLost');
    if (before.leader === undefined && state.leader !== undefined && before.term > 0) this.emitter.emit('quorumRegained', state.leader);
  }

  private settle(id: number, result: ApplyResult | undefined, error: Error | undefined, known?: PendingWrite): void {
    const write = known ?? this.pending.get(id);
    if (write === undefined) return;
    this.pending.delete(id);
    clearTimeout(write.timer);
    if (error !== undefined) write.reject(error);
    else write.resolve(result!);
  }
}
