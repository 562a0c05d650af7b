/**
 * A whole chorusdb cluster inside the simulator: every node is the real node spec (replicator, window
 * flusher, committer; src/node/node-spec.ts) on the simulator host, with its tables in a Store on the
 * application side, exactly as `openNode` runs it, but on virtual time and the simulated network.
 *
 * `transact` is what a client does: run a transaction body on one node's tables (phase 1), commit it
 * through the log, and hear the outcome exactly once: ok (applied on that node; with what the body
 * returned), fail (it certainly did not happen: refused, or rejected by certification) or info (no
 * answer within `writeTimeoutMs`, or its node crashed after sending it: it may or may not happen), the
 * three outcomes of a Jepsen history. The outcome comes from the node's own write bookkeeping and quorum
 * gate (src/node/write-core.ts, run per node on virtual time by NodeApp, simulate/node-app.ts).
 * `readLinearizable` is `read(body, { consistency: 'linearizable' })`, by the node's own read rules
 * (src/node/read-core.ts, in NodeApp): a ReadIndex confirmed by a leader with a quorum, then the body on
 * this node's tables once they hold everything up to that index.
 *
 * Arbiters (`arbiter: true`) run the same actors and hold no tables: both calls fail with ARBITER there.
 * `detach` / `attach` drive a node's membership as ClusterNode does (src/node/detached.ts): the
 * replicator changes the membership by joint consensus and reports `membership`; once detached the node
 * is a standalone database (`transact` commits on its tables only, never through the log), and attach
 * puts its tables back to how they were when it left before the replicator rejoins.
 */
import type { Actor, ActorSpec, Message, NodeSpec } from '../src/runtime/actor.js';
import type { CommitRefused, ApplyEntries } from '../src/actors/committer.js';
import type { Window } from '../src/actors/window-flusher.js';
import { noWindow } from '../src/actors/window-flusher.js';
import { COMMITTER, REPLICATOR, applyCommitted, clusterNodeSpec, takeImage } from '../src/node/node-spec.js';
import { ImageRestorer } from '../src/node/image-slices.js';
import type { ImageWanted, MembershipDone, MembershipRequest, RaftStateChanged, ReadFailed, ReadReady, Restore, Synced } from '../src/actors/replicator.js';
import { Store } from '../src/store/store.js';
import type { SchemaDef } from '../src/store/schema.js';
import type { WriteTx } from '../src/store/write-tx.js';
import type { ReadTx } from '../src/store/read-tx.js';
import { Simulation } from './simulation.js';
import { Deadlines } from './deadlines.js';
import { NodeApp, outcomeOf, simTime } from './node-app.js';
import type { AppTime } from '../src/node/app-time.js';
import type { QuorumChanged } from '../src/actors/quorum-watcher.js';
import { CommitAgreement } from './checkers/commit-agreement.js';
import { ElectionSafety } from './checkers/election-safety.js';
import { StateDigests, digestCheckpoint } from './checkers/state-digests.js';
import type { DigestPoint } from './checkers/state-digests.js';
import { simElectionTicks, simImageFramesPerSlice, simImageSliceMs, simSmallMessageBytes, simTickMs, simTinyImageFrameBytes, simTransLogBytesPerTransaction, simWindow, simWriteTimeoutMs } from './limits.js';
import { transLogSizeDefault } from '../src/limits.js';
import type { Committed } from '../src/actors/replicator.js';

/** A node's membership as the application sees it (ClusterNode's DetachControl states). */
export type Membership = 'attached' | 'detaching' | 'detached' | 'attaching';

export type Outcome =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'fail'; readonly code: string }
  | { readonly kind: 'info' };

export interface SimClusterOptions {
  readonly seed: number;
  readonly nodes: readonly { readonly addr: string; readonly qrank?: number; readonly arbiter?: boolean }[];
  readonly schema: SchemaDef;
  /** The transaction window; default: simWindow on one seed in seven (4 mod 7), else none. */
  readonly window?: Window;
  /** Virtual milliseconds a transaction may wait for its commit before its outcome is `info`. */
  readonly writeTimeoutMs?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Transactions kept behind a state image (small values make lagging nodes catch up by state transfer). */
  readonly transLogLength?: number;
  /** The same in bytes of log entries; default: simTransLogBytesPerTransaction × transLogLength on every third seed (2 mod 3), so that the byte bound is what compacts, else 64 MiB. */
  readonly transLogSize?: number;
  /** Bytes of a node's writes waiting for commit (default 64 MiB). */
  readonly clusterSendBuf?: number;
  /** The leader's bound on other nodes' uncommitted writes; default: 512 bytes on every fifth seed (refusals happen), else 128 MiB. */
  readonly clusterRecvBuf?: number;
  /** The largest message the network carries, as TCP's frameBytesMax; default: simSmallMessageBytes on every fifth seed (3 mod 5), else unbounded. */
  readonly messageBytesMax?: number;
  readonly syncMsgObjects?: number;
  readonly syncMsgSize?: number;
  /** Fold every delivery and timer into the simulation's trace hash (costs a walk of every message). */
  readonly trace?: boolean;
  /** Journals sync in the background (syncThen); default: drawn from the seed (Simulation's `backgroundSync`). */
  readonly backgroundSync?: boolean;
}

export class SimCluster {
  readonly sim: Simulation;
  /** Every node's tables (none for an arbiter). */
  readonly stores = new Map<string, Store>();
  /** Every node, arbiters included, in the order given. */
  readonly nodes: readonly string[];
  /** The nodes that hold tables (not arbiters): where clients go and what converges. */
  readonly dataNodes: readonly string[];
  readonly arbiters: ReadonlySet<string>;
  /** Each node's application side for its writes, this run of it (a crash starts the next). */
  private readonly apps = new Map<string, NodeApp>();
  private readonly appTime: AppTime;
  private readonly appOptions: { readonly writeTimeoutMs: number; readonly gateWaitMs: number };
  /** Each detach's timeout (they all wait writeTimeoutMs, so one event serves them all). */
  private readonly timeouts: Deadlines;
  private readonly schema: SchemaDef;
  /** The log index each node's tables hold (the last entry applied, or the image restored), this run of it. */
  private readonly appliedIndex = new Map<string, number>();
  /** Nodes whose tables hold everything committed before they (re)started. */
  private readonly recovered = new Set<string>();
  /** Each data node's image loader (a new one when it crashes). */
  private readonly restorers = new Map<string, ImageRestorer>();
  /** Nodes that stay down for the rest of the run (the liveness phase's minority). */
  private readonly keptDown = new Set<string>();
  private readonly memberships = new Map<string, { state: Membership; attachPoint: Uint8Array[] | undefined; localWrites: number; attachWanted: boolean }>();
  /** Each node's Raft role, leader and term, as its replicator last reported them. */
  readonly raftStates = new Map<string, RaftStateChanged>();
  /** Catch-ups finished (`synced`), per node and how. */
  readonly synced: { node: string; index: number; via: 'log' | 'image' }[] = [];
  /** Every entry each node committed, checked for agreement at each log index. */
  readonly commits = new CommitAgreement();
  /** At most one leader per term, from every node's role reports. */
  readonly elections = new ElectionSafety();
  /** Digests of every data node's tables at log indexes, checked for agreement at each index. */
  readonly digests: StateDigests;
  /** Detaches and attaches confirmed, in order (node and what it became). */
  readonly membershipChanges: { node: string; state: 'detached' | 'attached'; atMs: number }[] = [];

  constructor(options: SimClusterOptions) {
    this.sim = new Simulation({ seed: options.seed, trace: options.trace ?? false, ...(options.backgroundSync === undefined ? {} : { backgroundSync: options.backgroundSync }) });
    this.digests = new StateDigests(options.seed);
    this.timeouts = new Deadlines(this.sim, options.writeTimeoutMs ?? simWriteTimeoutMs);
    this.appTime = simTime(this.sim);
    // A write waits at the gate for about two election timeouts, as ClusterNode's do.
    this.appOptions = { writeTimeoutMs: options.writeTimeoutMs ?? simWriteTimeoutMs, gateWaitMs: 2 * (options.electionTicks ?? simElectionTicks) * (options.tickMs ?? simTickMs) };
    this.schema = options.schema;
    const voters = options.nodes.map((n) => ({ id: n.addr, qrank: n.qrank ?? 1, ...(n.arbiter === true ? { arbiter: true } : {}) }));
    this.nodes = voters.map((v) => v.id);
    this.arbiters = new Set(voters.filter((v) => v.arbiter === true).map((v) => v.id));
    this.dataNodes = this.nodes.filter((id) => !this.arbiters.has(id));
    const transLogLength = options.transLogLength ?? 128 << options.seed % 4;
    // Every fourth seed (1 mod 4) cuts images into tiny frames: a state transfer takes hundreds or thousands
    // of chunks, more than the leader keeps in flight, and lasts while the others keep writing and compacting.
    const longTransfers = options.seed % 4 === 1;
    for (const { id } of voters) {
      if (!this.arbiters.has(id)) this.stores.set(id, Store.open(options.schema));
      this.restorers.set(id, this.newRestorer());
      this.apps.set(id, this.newApp(id));
      this.memberships.set(id, { state: 'attached', attachPoint: undefined, localWrites: 0, attachWanted: false });
      this.sim.addNode(observeCommits(id, this.commits, clusterNodeSpec({
        // One seed in seven runs with the transaction window on: batches of writes are one log entry each.
        self: id, voters, window: options.window ?? (options.seed % 7 === 4 ? simWindow : noWindow), clusterSendBuf: options.clusterSendBuf ?? 64 * 1024 * 1024, writeTimeoutMs: this.appOptions.writeTimeoutMs,
        clusterRecvBuf: options.clusterRecvBuf ?? (options.seed % 5 === 2 ? 512 : 128 * 1024 * 1024),
        // Simulated clusters compact often and cut images small, so that nodes coming back from a crash or a
        // partition are caught up by state transfer as well as from the log.
        transLogLength, transLogSize: options.transLogSize ?? (options.seed % 3 === 2 ? transLogLength * simTransLogBytesPerTransaction : transLogSizeDefault), syncMsgObjects: options.syncMsgObjects ?? (longTransfers ? 1 : 4), syncMsgSize: options.syncMsgSize ?? (longTransfers ? simTinyImageFrameBytes : 4096),
        tickMs: options.tickMs ?? simTickMs, electionTicks: options.electionTicks ?? simElectionTicks, heartbeatTicks: 1,
        // Every fifth seed bounds messages as a small TCP frame would: appends to a lagging node are split by bytes.
        messageBytesMax: options.messageBytesMax ?? (options.seed % 5 === 3 ? simSmallMessageBytes : undefined),
      })));
    }
    this.sim.on('appMessage', (message, _from, node) => this.onMessage(node, message));
    this.sim.on('crashed', (node) => this.onCrashed(node));
  }

  /** The leader of the highest term any live node knows of, if any. */
  leader(): string | undefined {
    let best: RaftStateChanged | undefined;
    for (const [node, state] of this.raftStates) {
      if (this.sim.isUp(node) && state.leader !== undefined && (best === undefined || state.term > best.term)) best = state;
    }
    return best?.leader;
  }

  /**
   * Kills a node, application side included: its tables are gone and its waiting clients hear `info`
   * (their transactions may still commit). Its replicator's journal survives, minus what was not synced.
   * It comes back as a reopened ClusterNode does: attached as far as the application knows (its
   * replicator asks to be a member again on every start), its standalone writes gone with its tables.
   */
  crash(node: string): void {
    this.sim.crash(node); // onCrashed does the application side
  }

  /** Kills a node inside its next journal sync (a crash mid-write), or within `withinMs` if none comes. */
  crashMidWrite(node: string, withinMs: number): void {
    this.sim.crashAtNextSync(node, withinMs);
  }

  /** Loads a node's state images in slices of simImageFramesPerSlice frames, simImageSliceMs of virtual time apart. */
  private newRestorer(): ImageRestorer {
    return new ImageRestorer(undefined, {
      slice: () => {
        let frames = 0;
        return () => ++frames >= simImageFramesPerSlice;
      },
      later: (next) => this.sim.at(simImageSliceMs, next),
    });
  }

  /** A node's application side; a write that would read back different elsewhere is refused (Store.checkEncoded), as on a real node. */
  private newApp(node: string): NodeApp {
    return new NodeApp(this.sim, this.appTime, node, this.appOptions, (changeSet, encoded) => this.stores.get(node)?.checkEncoded(changeSet, encoded));
  }

  private onCrashed(node: string): void {
    this.restorers.get(node)?.cancel();
    this.restorers.set(node, this.newRestorer());
    this.recovered.delete(node);
    this.apps.get(node)!.crashed();
    this.apps.set(node, this.newApp(node));
    if (this.stores.has(node)) this.stores.set(node, Store.open(this.schema));
    this.appliedIndex.delete(node); // its next run rebuilds the tables from its journal
    this.memberships.set(node, { state: 'attached', attachPoint: undefined, localWrites: 0, attachWanted: false });
  }

  /** Brings a crashed node back: its replicator replays its journal and its tables are rebuilt from the log. */
  restart(node: string): void {
    if (!this.sim.isUp(node) && !this.keptDown.has(node)) this.sim.restart(node);
  }

  /** Crashes a node (if up) and keeps it down for the rest of the run: restarts leave it be. */
  keepDown(node: string): void {
    this.crash(node);
    this.keptDown.add(node);
  }

  /** Runs `body` on `node`'s tables and commits it; `done` hears the outcome exactly once. */
  transact(node: string, body: (tx: WriteTx) => unknown, done: (outcome: Outcome) => void): void {
    const store = this.stores.get(node);
    if (store === undefined) return done({ kind: 'fail', code: 'ARBITER' });
    if (!this.isReady(node)) return done({ kind: 'fail', code: 'STOPPED' });
    const membership = this.memberships.get(node)!;
    if (membership.state === 'detached') return this.standalone(store, membership, body, done);
    let value: unknown;
    const phase1 = () => store.write((tx) => {
      value = body(tx);
    });
    this.apps.get(node)!.writes.start(phase1, undefined, (_result, error) => done(error === undefined ? { kind: 'ok', value } : outcomeOf(error)));
  }

  /**
   * A linearizable read: `body` runs on `node`'s tables once a leader confirmed, with a quorum, the
   * commit index they must hold (ReadIndex) and they hold it. fail when it could not be confirmed (NO_QUORUM
   * after the node's retries, or its node stopped: a read that did not happen), info when no answer came in time.
   */
  readLinearizable(node: string, body: (tx: ReadTx) => unknown, done: (outcome: Outcome) => void): void {
    const store = this.stores.get(node);
    if (store === undefined) return done({ kind: 'fail', code: 'ARBITER' });
    if (!this.isReady(node)) return done({ kind: 'fail', code: 'STOPPED' });
    if (this.memberships.get(node)!.state === 'detached') return done({ kind: 'ok', value: store.read(body) }); // standalone: its tables are the database
    // The node's own read rules (src/node/read-core.ts), as ClusterNode runs them: the gate, ReadIndex, again after an election.
    this.apps.get(node)!.reads.start((error) => done(error === undefined ? { kind: 'ok', value: this.stores.get(node)!.read(body) } : outcomeOf(error)));
  }

  /** Up, and recovered: its tables may be read. */
  isReady(node: string): boolean {
    return this.sim.isUp(node) && this.recovered.has(node);
  }

  /** The node's membership as its application knows it. */
  membership(node: string): Membership {
    return this.memberships.get(node)!.state;
  }

  /**
   * Takes a ready, attached node out of the membership (ClusterNode.detach). Not confirmed within
   * writeTimeoutMs, it is called off as ClusterNode does (the replicator is told to attach), and the node
   * stays a member.
   */
  detach(node: string): void {
    const membership = this.memberships.get(node)!;
    if (!this.isReady(node) || membership.state !== 'attached') return;
    membership.state = 'detaching';
    membership.attachWanted = false;
    this.sim.send({ node, actor: REPLICATOR }, { type: 'detach' } satisfies MembershipRequest);
    this.timeouts.add(() => {
      // The same incarnation (a crash replaces the record), still waiting: call it off.
      if (this.memberships.get(node) !== membership || membership.state !== 'detaching') return;
      // A detach confirmed just before this reaches the replicator is reported all the same: the node
      // must not go standalone then (its writes would stay when the attach lands), so it attaches at once.
      membership.attachWanted = true;
      this.sim.send({ node, actor: REPLICATOR }, { type: 'attach' } satisfies MembershipRequest);
    });
  }

  /**
   * Puts a detached node back (ClusterNode.attach): its tables go back to the attach point when it wrote
   * anything standalone, then the replicator rejoins. A node still detaching attaches once it is out.
   */
  attach(node: string): void {
    const membership = this.memberships.get(node)!;
    if (!this.sim.isUp(node)) return;
    if (membership.state === 'detaching') membership.attachWanted = true;
    if (membership.state !== 'detached') return;
    membership.attachWanted = false;
    const store = this.stores.get(node);
    if (store !== undefined && membership.attachPoint !== undefined && membership.localWrites > 0) store.restoreSync(membership.attachPoint, `the state of ${node} when it was detached`);
    membership.localWrites = 0;
    membership.state = 'attaching';
    this.sim.send({ node, actor: REPLICATOR }, { type: 'attach' } satisfies MembershipRequest);
  }

  /** A write on a detached node: its own tables only, at once; nothing of it reaches the log. */
  private standalone(store: Store, membership: { localWrites: number }, body: (tx: WriteTx) => unknown, done: (outcome: Outcome) => void): void {
    let value: unknown;
    try {
      store.commit((tx) => {
        value = body(tx);
      });
    } catch (error) {
      return done({ kind: 'fail', code: (error as { code?: string }).code ?? 'ERROR' });
    }
    membership.localWrites++;
    done({ kind: 'ok', value });
  }

  private once(done: (outcome: Outcome) => void): (outcome: Outcome) => void {
    let settled = false;
    return (outcome) => {
      if (settled) return;
      settled = true;
      done(outcome);
    };
  }

  private onMessage(node: string, message: Message): void {
    if (this.restorers.get(node)?.holds(message) === true) return; // after an image still loading
    switch (message.type) {
      case 'recovered':
        this.recovered.add(node);
        return;
      case 'raftState':
        this.raftStates.set(node, message as RaftStateChanged);
        this.elections.observe(node, (message as RaftStateChanged).role, (message as RaftStateChanged).term);
        this.apps.get(node)!.raftState(message as RaftStateChanged);
        return;
      case 'quorum':
        this.apps.get(node)!.quorum(message as QuorumChanged);
        return;
      case 'restore': {
        // Loaded as a ClusterNode loads it, in slices (here a few frames per 0.2 virtual ms), what follows
        // it held meanwhile: the swarm's seeds check that order (ImageRestorer, src/node/image-slices.ts).
        const { index, frames } = message as Restore;
        this.restorers.get(node)!.load(this.stores.get(node)!, `state image at log index ${index} on ${node}`, frames, (error) => {
          if (error !== undefined) throw error; // a damaged image here is a bug
          this.apps.get(node)!.writes.imageInstalled();
          this.appliedIndex.set(node, index);
          this.recordDigest(node, index, 'image installed');
        }, (held) => this.onMessage(node, held));
        return;
      }
      case 'imageWanted':
        // Detached, the tables hold standalone writes: an image of them is not the replicated state.
        if (this.memberships.get(node)!.state === 'detached') return;
        this.recordDigest(node, (message as ImageWanted).index, 'image taken');
        this.sim.send({ node, actor: REPLICATOR }, takeImage(this.stores.get(node)!, message as ImageWanted));
        return;
      case 'synced':
        this.synced.push({ node, index: (message as Synced).index, via: (message as Synced).via });
        return;
      case 'apply': {
        const writes = this.apps.get(node)!.writes;
        applyCommitted(this.stores.get(node)!, node, message as ApplyEntries, this.appliedIndex.get(node) ?? 0, (id, encoded, result, error) => writes.applied(id, encoded, result, error), (id, encoded) => writes.changeSet(id, encoded));
        this.appliedIndex.set(node, (message as ApplyEntries).last);
        if (digestCheckpoint((message as ApplyEntries).last)) this.recordDigest(node, (message as ApplyEntries).last, 'applied');
        return;
      }
      case 'commitRefused':
        this.apps.get(node)!.writes.refused(message as CommitRefused);
        return;
      case 'readReady':
      case 'readFailed': {
        this.apps.get(node)!.reads.answered((message as ReadReady | ReadFailed).id, message.type === 'readReady', (message as ReadFailed).overloaded === true);
        return;
      }
      case 'membership':
        this.onMembership(node, (message as MembershipDone).state);
        return;
      default:
        return;
    }
  }

  /** The node's tables hold the log up to `index`: their digest must match every other node's there (not while standalone). */
  private recordDigest(node: string, index: number, point: DigestPoint): void {
    if (this.memberships.get(node)!.state !== 'detached') this.digests.record(node, index, this.stores.get(node)!, point, this.sim.nowMs);
  }

  private onMembership(node: string, state: 'detached' | 'attached' | 'refused'): void {
    const membership = this.memberships.get(node)!;
    // A leader refused the detach (it would leave no quorum possible): the node stays in, as ClusterNode's.
    if (state === 'refused') {
      if (membership.state === 'detaching') (membership.state = 'attached'), (membership.attachWanted = false);
      return;
    }
    membership.state = state;
    this.membershipChanges.push({ node, state, atMs: this.sim.nowMs });
    const store = this.stores.get(node);
    // Back in without attach() having put the tables back (a report out of order): they must be now.
    if (state === 'attached' && store !== undefined && membership.attachPoint !== undefined && membership.localWrites > 0) store.restoreSync(membership.attachPoint, `the state of ${node} when it was detached`);
    membership.attachPoint = state === 'detached' && store !== undefined ? [...store.snapshot()] : undefined;
    membership.localWrites = 0;
    if (state === 'attached') membership.attachWanted = false;
    if (state === 'detached' && membership.attachWanted) this.attach(node);
  }
}

/**
 * The node spec with its committer wrapped so that the entries its replicator hands it as committed are
 * also shown to `commits` (the committer is the replicator's apply target); what the actors do is unchanged.
 */
function observeCommits(node: string, commits: CommitAgreement, spec: NodeSpec): NodeSpec {
  const observed = (actor: ActorSpec): ActorSpec => {
    const kind = actor.kind;
    return {
      ...actor,
      kind: {
        kind: kind.kind,
        module: kind.module,
        create(ctx, params): Actor {
          const inner = kind.create(ctx, params);
          return {
            receive(message, from) {
              if (message.type === 'committed') commits.observe(node, (message as Committed).entries);
              inner.receive(message, from);
            },
          };
        },
      },
    };
  };
  return { ...spec, actors: spec.actors.map((actor) => (actor.name === COMMITTER ? observed(actor) : actor)) };
}
