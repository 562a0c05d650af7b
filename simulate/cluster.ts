/**
 * A whole chorusdb cluster inside the simulator: every node is the real node spec (replicator, window
 * flusher, committer; src/node/node-spec.ts) on the simulator host, with its tables in a Store on the
 * application side, exactly as `openNode` runs it, but on virtual time and the simulated network.
 *
 * `transact` is what a client does: run a transaction body on one node's tables (phase 1), commit it
 * through the log, and hear the outcome exactly once: ok (applied on that node; with what the body
 * returned), fail (it certainly did not happen: refused, or rejected by certification) or info (no
 * answer within `writeTimeoutMs`: it may or may not happen), the three outcomes of a Jepsen history.
 */
import { Encoder } from '@msgpack/msgpack';
import type { Actor, ActorSpec, Message, NodeSpec } from '../src/runtime/actor.js';
import type { CommitRefused, CommitRequest, ApplyEntries } from '../src/actors/committer.js';
import type { Window } from '../src/actors/window-flusher.js';
import { noWindow } from '../src/actors/window-flusher.js';
import { COMMITTER, REPLICATOR, applyCommitted, clusterNodeSpec, restoreImage, takeImage } from '../src/node/node-spec.js';
import type { ImageWanted, RaftStateChanged, Restore, Synced } from '../src/actors/replicator.js';
import { Store } from '../src/store/store.js';
import type { SchemaDef } from '../src/store/schema.js';
import type { WriteTx } from '../src/store/write-tx.js';
import { Simulation } from './simulation.js';
import { Deadlines } from './deadlines.js';
import { CommitAgreement } from './checkers/commit-agreement.js';
import type { Committed } from '../src/actors/replicator.js';

/**
 * Measures a change-set's encoded size as ClusterNode does (`encode(changeSet).byteLength`, the same
 * default options), with one encoder whose buffer is reused: `encode()` builds an encoder and its
 * 2 KB buffer per call, ~3.5% of a 5-node run (profiled) only to count bytes.
 */
const sizer = new Encoder();

export type Outcome =
  | { readonly kind: 'ok'; readonly value: unknown }
  | { readonly kind: 'fail'; readonly code: string }
  | { readonly kind: 'info' };

export interface SimClusterOptions {
  readonly seed: number;
  readonly nodes: readonly { readonly addr: string; readonly qrank?: number }[];
  readonly schema: SchemaDef;
  readonly window?: Window;
  /** Virtual milliseconds a transaction may wait for its commit before its outcome is `info`. */
  readonly writeTimeoutMs?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** Entries kept behind a state image (small values make lagging nodes catch up by state transfer). */
  readonly transLogLength?: number;
  readonly syncMsgObjects?: number;
  readonly syncMsgSize?: number;
  /** Fold every delivery and timer into the simulation's trace hash (costs a walk of every message). */
  readonly trace?: boolean;
}

export class SimCluster {
  readonly sim: Simulation;
  readonly stores = new Map<string, Store>();
  private readonly pending = new Map<string, Map<number, (outcome: Outcome) => void>>();
  /** Each transaction's timeout (they all wait writeTimeoutMs, so one event serves them all). */
  private readonly timeouts: Deadlines;
  private readonly schema: SchemaDef;
  /** Nodes whose tables hold everything committed before they (re)started. */
  private readonly recovered = new Set<string>();
  private nextId = 1;
  /** Each node's Raft role, leader and term, as its replicator last reported them. */
  readonly raftStates = new Map<string, RaftStateChanged>();
  /** Catch-ups finished (`synced`), per node and how. */
  readonly synced: { node: string; index: number; via: 'log' | 'image' }[] = [];
  /** Every entry each node committed, checked for agreement at each log index. */
  readonly commits = new CommitAgreement();

  constructor(options: SimClusterOptions) {
    this.sim = new Simulation({ seed: options.seed, trace: options.trace ?? false });
    this.timeouts = new Deadlines(this.sim, options.writeTimeoutMs ?? 1_000);
    this.schema = options.schema;
    const voters = options.nodes.map((n) => ({ id: n.addr, qrank: n.qrank ?? 1 }));
    for (const { id } of voters) {
      this.stores.set(id, Store.open(options.schema));
      this.pending.set(id, new Map());
      this.sim.addNode(observeCommits(id, this.commits, clusterNodeSpec({
        self: id, voters, window: options.window ?? noWindow, clusterSendBuf: 64 * 1024 * 1024,
        // Simulated clusters compact often and cut images small, so that nodes coming back from a crash or a
        // partition are caught up by state transfer as well as from the log.
        transLogLength: options.transLogLength ?? 128 << options.seed % 4, syncMsgObjects: options.syncMsgObjects ?? 4, syncMsgSize: options.syncMsgSize ?? 4096,
        tickMs: options.tickMs ?? 10, electionTicks: options.electionTicks ?? 10, heartbeatTicks: 1,
      })));
    }
    this.sim.on('appMessage', (message, _from, node) => this.onMessage(node, message));
  }

  get nodes(): string[] {
    return [...this.stores.keys()];
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
   */
  crash(node: string): void {
    if (!this.sim.isUp(node)) return;
    this.sim.crash(node);
    this.recovered.delete(node);
    const waiting = this.pending.get(node)!;
    for (const settle of [...waiting.values()]) settle({ kind: 'info' });
    this.stores.set(node, Store.open(this.schema));
  }

  /** Brings a crashed node back: its replicator replays its journal and its tables are rebuilt from the log. */
  restart(node: string): void {
    if (!this.sim.isUp(node)) this.sim.restart(node);
  }

  /** Runs `body` on `node`'s tables and commits it; `done` hears the outcome exactly once. */
  transact(node: string, body: (tx: WriteTx) => unknown, done: (outcome: Outcome) => void): void {
    const store = this.stores.get(node)!;
    if (!this.isReady(node)) {
      done({ kind: 'fail', code: 'STOPPED' });
      return;
    }
    let value: unknown;
    let changeSet;
    try {
      changeSet = store.write((tx) => {
        value = body(tx);
      });
    } catch (error) {
      done({ kind: 'fail', code: (error as { code?: string }).code ?? 'ERROR' });
      return;
    }
    const id = this.nextId++;
    const waiting = this.pending.get(node)!;
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      waiting.delete(id);
      done(outcome);
    };
    waiting.set(id, (outcome) => settle(outcome.kind === 'ok' ? { kind: 'ok', value } : outcome));
    this.timeouts.add(() => settle({ kind: 'info' }));
    const error = this.sim.send({ node, actor: COMMITTER }, { type: 'commit', id, changeSet, bytes: sizer.encodeSharedRef(changeSet).byteLength } satisfies CommitRequest);
    if (error !== undefined) settle({ kind: 'fail', code: error.code });
  }

  /** Up, and recovered: its tables may be read. */
  isReady(node: string): boolean {
    return this.sim.isUp(node) && this.recovered.has(node);
  }

  private onMessage(node: string, message: Message): void {
    const waiting = this.pending.get(node)!;
    if (message.type === 'recovered') this.recovered.add(node);
    if (message.type === 'raftState') this.raftStates.set(node, message as RaftStateChanged);
    if (message.type === 'restore') restoreImage(this.stores.get(node)!, node, message as Restore);
    if (message.type === 'imageWanted') this.sim.send({ node, actor: REPLICATOR }, takeImage(this.stores.get(node)!, message as ImageWanted));
    if (message.type === 'synced') this.synced.push({ node, index: (message as Synced).index, via: (message as Synced).via });
    if (message.type === 'apply') {
      applyCommitted(this.stores.get(node)!, node, message as ApplyEntries, (id, _result, error) => {
        waiting.get(id)?.(error === undefined ? { kind: 'ok', value: undefined } : { kind: 'fail', code: error.code });
      });
    } else if (message.type === 'commitRefused') {
      const refused = message as CommitRefused;
      for (const id of refused.ids) waiting.get(id)?.({ kind: 'fail', code: refused.code });
    }
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
