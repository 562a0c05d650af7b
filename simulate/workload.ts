/**
 * One simulated run of the register workload: a cluster (simulate/cluster.ts), clients doing read,
 * write and compare-and-set on a few keys, a schedule of faults, then a liveness phase (faults off,
 * everyone back) and the checkers. Everything follows from the seed: the fault schedule too, when it is
 * drawn by `swarmFaults` (each seed its own mix and rates: some quiet, some brutal).
 */
import type { SchemaDef } from '../src/store/schema.js';
import type { Store } from '../src/store/store.js';
import { SimCluster } from './cluster.js';
import type { Outcome, SimClusterOptions } from './cluster.js';
import { HistoryRecorder, operationsOf } from './history.js';
import type { History, JsonValue, OpHandle } from './history.js';
import { checkLinearizable } from './checkers/linearizable.js';
import { checkLostWrites } from './checkers/lost-writes.js';
import type { LostWritesResult } from './checkers/lost-writes.js';
import { endFaults, scheduleFaults } from './faults.js';
import { calmNetwork } from './network.js';
import { simActorFailuresReportedMax } from '../src/limits.js';
import type { TimedFault } from './faults.js';
import type { RunTimeline } from './timeline.js';
import { nodesLeftDown } from './shape.js';
import { probeLiveness, withLivenessTable } from './liveness.js';
import { Rng } from './rng.js';
import { SimWire } from './wire.js';
import { simClientThinkMsMax, simCompactionRunMs, simDrainMs, simLivenessMs, simWireChance, simWriteTimeoutMs } from './limits.js';

export type { Fault, FaultKind, NodeLifecycle, TimedFault } from './faults.js';
export { faultKinds, parseFaultKinds, scheduleFaults, swarmFaults } from './faults.js';

export interface WorkloadOptions {
  readonly seed: number;
  /** qrank of each node (its length is the node count). */
  readonly ranks: readonly number[];
  readonly faults: readonly TimedFault[];
  /** Virtual milliseconds of the safety phase (faults on). */
  readonly safetyMs: number;
  readonly clients?: number;
  readonly keys?: readonly string[];
  /** Records faults, roles and terms, and node gaps for the HTML report (changes nothing in the run). */
  readonly timeline?: RunTimeline;
  /** Hash every delivery and timer into `traceHash` (for --check-determinism; costs a walk of every message). */
  readonly trace?: boolean;
  /** Node numbers that are arbiters (none when absent). */
  readonly arbiters?: readonly number[];
  /** Candidates to stay down through the liveness phase (simulate/shape.ts nodesLeftDown picks among them; none when absent). */
  readonly livenessDown?: readonly number[];
  /** A client's pause between operations is drawn from [0, this] ms (default simClientThinkMsMax): the workload's intensity. */
  readonly thinkMsMax?: number;
  /**
   * Messages between nodes cross the TCP transport's codec and guards (simulate/wire.ts) when true, share
   * objects when false; absent: simWireChance of seeds draw it.
   */
  readonly wire?: boolean;
  /** Raft timing and compaction of the simulated nodes, when not the simulator's defaults (SimClusterOptions). */
  readonly tuning?: Pick<SimClusterOptions, 'tickMs' | 'electionTicks' | 'transLogLength'>;
}

export interface WorkloadResult {
  readonly seed: number;
  readonly problems: readonly string[];
  readonly history: History;
  readonly okOps: number;
  readonly events: number;
  /** Messages delivered to actors (within a node and between nodes). */
  readonly delivered: number;
  readonly simMs: number;
  /** The run's trace hash, when it ran with `trace`. */
  readonly traceHash?: string;
  /** Journal records torn by crashes mid-write (each cut off when its node reopened). */
  readonly journalTears: number;
  /** Catch-ups by state transfer (a node behind the leader's compaction point took an image). */
  readonly imageSyncs: number;
}

const schema: SchemaDef = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
/**
 * Thrown by a compare-and-set whose expectation fails: one shared object, since capturing a stack for
 * every expected mismatch cost 2.4% of a 5-node run (profiled); the outcome only needs its code.
 */
const casMismatch = Object.freeze({ code: 'CAS_MISMATCH', message: 'compare failed' });

/** The workloads' cluster: nodes n0, n1, … with the given qranks, on the seed's simulation. */
export function clusterFor(options: WorkloadOptions, schema: SchemaDef): SimCluster {
  const arbiters = options.arbiters ?? [];
  const nodes = options.ranks.map((qrank, i) => ({ addr: `n${i}`, qrank, ...(arbiters.includes(i) ? { arbiter: true } : {}) }));
  const cluster = new SimCluster({ seed: options.seed, nodes, schema: withLivenessTable(schema), writeTimeoutMs: simWriteTimeoutMs, trace: options.trace ?? false, transLogLength: transLogLengthFor(options), ...options.tuning });
  options.timeline?.attach(cluster.sim);
  if (options.wire ?? new Rng(options.seed ^ 0x3173).chance(simWireChance)) cluster.sim.network.wire = new SimWire();
  // An actor that throws is a programmer error: the simulator crashes its node, and the run must fail.
  const failures: string[] = [];
  actorFailures.set(cluster, failures);
  cluster.sim.on('actorFailed', (actor, reason) => {
    if (failures.length < simActorFailuresReportedMax) failures.push(`actor ${actor.node}/${actor.actor} failed at ${cluster.sim.nowMs.toFixed(3)} ms: ${reason.name}: ${reason.message}${reason.stack === undefined ? '' : `\n${reason.stack}`}`);
  });
  return cluster;
}

/**
 * Entries kept behind a state image: 128 to 1,024 by seed (small, so that nodes back from a crash or a
 * partition catch up by state transfer as well as from the log), times one per `simCompactionRunMs` of
 * the safety phase. An image holds the store's whole certification window (up to 65,536 versions), so
 * its cost grows with the run; compacting at a fixed count made a 60 s run spend a third of its time on
 * images. Scaled, a 60 s run compacts as often per run as a 10 s one, and catches up by state transfer
 * about as often (3 against 4 times over seeds 1-6 of 60 s on 5 nodes), at +60% speed (17 -> 28x CPU).
 */
function transLogLengthFor(options: WorkloadOptions): number {
  // The seeds that cut images into tiny frames (1 mod 4, SimCluster) keep a quarter as much: more nodes
  // catch up by state transfer, in transfers long enough to overlap the leader's next compactions.
  const share = options.seed % 4 === 1 ? 4 : 1;
  return ((128 << options.seed % 4) * Math.max(1, Math.ceil(options.safetyMs / simCompactionRunMs))) / share;
}

/** Actor failures each cluster saw (filled by clusterFor, read by resultOf). */
const actorFailures = new WeakMap<SimCluster, string[]>();
/** What each cluster's liveness probe found (filled by runPhases, read by resultOf). */
const livenessProblems = new WeakMap<SimCluster, readonly string[]>();


/**
 * The phases every workload runs after its clients start: safety (faults on); liveness (faults off, the
 * network healed, clocks reset, and a quorum of nodes resumed, restarted and attached, while the nodes
 * `nodesLeftDown` picks stay down); the liveness probe (a write through each live data node must commit
 * within simLivenessProbeMsMax: simulate/liveness.ts); then the clients stop and every open operation
 * completes or times out.
 */
export function runPhases(cluster: SimCluster, options: WorkloadOptions, stopClients: () => void): void {
  const { sim } = cluster;
  sim.runFor(options.safetyMs);
  const leftDown = nodesLeftDown(options.ranks, options.arbiters ?? [], options.livenessDown ?? [], options.faults).map((i) => cluster.nodes[i]!);
  options.timeline?.liveness(sim.nowMs, leftDown);
  endFaults(sim);
  sim.network.heal();
  sim.network.setFaults({ lossRate: 0, duplicateRate: 0, reorderRate: 0, pathPacketsMax: calmNetwork.pathPacketsMax });
  for (const node of cluster.nodes) {
    sim.resume(node);
    sim.setClockOffset(node, 0);
    sim.setClockRate(node, 1);
    if (leftDown.includes(node)) {
      cluster.keepDown(node);
      options.timeline?.leftDown(sim.nowMs, node);
      continue;
    }
    cluster.restart(node);
    cluster.attach(node);
  }
  sim.runFor(simLivenessMs);
  livenessProblems.set(cluster, probeLiveness(cluster).problems);
  stopClients();
  sim.runFor(simDrainMs);
  options.timeline?.finish(sim.nowMs);
}

/** A client's pause before its next operation. */
export function thinkMs(cluster: SimCluster, options: WorkloadOptions): number {
  return cluster.sim.rng.between(0, options.thinkMsMax ?? simClientThinkMsMax);
}

/** A run's result: what the checkers found, its history, and what the simulation did. */
export function resultOf(options: WorkloadOptions, cluster: SimCluster, history: HistoryRecorder, problems: readonly string[], okOps: number): WorkloadResult {
  const stats = cluster.sim.stats();
  problems = [...(actorFailures.get(cluster) ?? []), ...(livenessProblems.get(cluster) ?? []), ...cluster.commits.problems(), ...cluster.elections.problems(), ...cluster.digests.problems(), ...problems];
  const trace = options.trace === true ? { traceHash: cluster.sim.traceHash } : {};
  const journalTears = cluster.sim.journalTears().made;
  const imageSyncs = cluster.synced.filter((s) => s.via === 'image').length;
  return { seed: options.seed, problems, history: history.events, okOps, events: stats.events, delivered: stats.delivered, simMs: cluster.sim.nowMs, journalTears, imageSyncs, ...trace };
}

/** Records a transaction's outcome as the history's completion of `handle` (`value` for an ok read). */
export function recordOutcome(history: HistoryRecorder, handle: OpHandle, outcome: Outcome, time: number, read: boolean): void {
  if (outcome.kind === 'ok') history.ok(handle, time, read ? (outcome.value as JsonValue) : undefined);
  else if (outcome.kind === 'fail') history.fail(handle, time);
  else history.info(handle, time);
}

/**
 * Problems when the live data nodes did not converge after the liveness phase: one not recovered, one
 * not a member again, or their tables differ.
 */
export function convergenceProblem(cluster: SimCluster): string[] {
  const live = cluster.nodes.filter((node) => cluster.sim.isUp(node));
  const problems: string[] = [];
  const unready = live.filter((node) => !cluster.isReady(node));
  if (unready.length > 0) problems.push(`nodes not recovered after the liveness phase: ${unready.join(', ')}`);
  const outside = live.filter((node) => cluster.membership(node) !== 'attached');
  if (outside.length > 0) problems.push(`nodes not attached again after the liveness phase: ${outside.map((n) => `${n} (${cluster.membership(n)})`).join(', ')}`);
  const hashes = new Set(live.filter((node) => cluster.stores.has(node)).map((node) => cluster.stores.get(node)!.contentHash()));
  if (hashes.size > 1) problems.push(`nodes did not converge: ${hashes.size} different content hashes`);
  return problems;
}

/** The tables of every live, recovered data node after the run (what the lost-writes checker reads). */
export function finalStores(cluster: SimCluster): { readonly node: string; readonly store: Store }[] {
  return cluster.dataNodes.filter((n) => cluster.isReady(n)).map((node) => ({ node, store: cluster.stores.get(node)! }));
}

/**
 * The lost-writes verdicts of every live data node, as problems. A write is called lost only when no
 * live data node accounts for it: one node lacking what another holds has fallen behind (it did not
 * converge, which convergenceProblem reports too), and is named as such. Reading one node only once
 * made a node left out of the membership look like acknowledged writes lost (list-append seed 5 on
 * c16cb42: the first data node was stuck out of the cluster; the other held every append).
 */
export function lostWritesProblems(verdicts: readonly { readonly node: string; readonly verdict: LostWritesResult }[], what: string): string[] {
  const complete = verdicts.find((v) => v.verdict.ok);
  const missing = verdicts.flatMap(({ node, verdict }) => (verdict.ok ? [] : [{ node, verdict }]));
  if (complete === undefined) {
    // Every live data node misses something: one node's view says what (they all failed it).
    return missing.slice(0, 1).map(({ node, verdict }) => `acknowledged ${what} lost (missing on every live data node; as ${node} sees it): ${JSON.stringify(verdict).slice(0, 1500)}`);
  }
  return missing.map(({ node, verdict }) => `${node} is behind: ${verdict.anomaliesTotal} acknowledged ${what} that ${complete.node} holds are missing there: ${JSON.stringify(verdict.anomalies.slice(0, 3))}`);
}

export function runRegisterWorkload(options: WorkloadOptions): WorkloadResult {
  const cluster = clusterFor(options, schema);
  const keys = options.keys ?? ['a', 'b', 'c'];
  scheduleFaults(cluster.sim, cluster.nodes, options.faults, cluster, options.timeline);
  const history = new HistoryRecorder();
  const clients = startClients(cluster, history, keys, options);
  runPhases(cluster, options, clients.stop);
  return resultOf(options, cluster, history, check(cluster, history, keys), history.events.filter((e) => e.type === 'ok').length);
}

/**
 * Clients: each bound to one data node, one operation at a time, a short random pause between them.
 * While its node is detached (a standalone database) a client's writes there are not cluster operations:
 * they are left out of the history, and write values no cluster client writes (negative), so that one
 * surviving the attach (which must discard them) shows up in the checkers as a value nobody wrote.
 */
function startClients(cluster: SimCluster, history: HistoryRecorder, keys: readonly string[], options: WorkloadOptions): { stop(): void } {
  const { sim } = cluster;
  let nextValue = 1;
  let standaloneValue = 0;
  let stopped = false;
  const step = (process: number) => {
    if (stopped) return;
    const node = cluster.dataNodes[process % cluster.dataNodes.length]!;
    const key = keys[sim.rng.int(keys.length)]!;
    const roll = sim.rng.next();
    const again = () => sim.at(thinkMs(cluster, options), () => step(process));
    const record = (handle: OpHandle, read: boolean) => (outcome: Outcome) => {
      recordOutcome(history, handle, outcome, sim.nowMs, read);
      again();
    };
    const time = sim.nowMs;
    if (cluster.membership(node) === 'detached') {
      const value = --standaloneValue;
      cluster.transact(node, (tx) => void tx.upsert('reg', { k: key, v: value }), again);
    } else if (roll < 0.2) {
      // Reads through the log: their read set is certified at their log position.
      const handle = history.invoke({ process, f: 'read', key, value: null, time });
      cluster.transact(node, (tx) => (tx.get('reg', key)?.['v'] as number | undefined) ?? null, record(handle, true));
    } else if (roll < 0.4) {
      // Linearizable reads (ReadIndex): confirmed by a leader with a quorum, then run on this node's tables.
      const handle = history.invoke({ process, f: 'read', key, value: null, time });
      cluster.readLinearizable(node, (tx) => (tx.get('reg', key)?.['v'] as number | undefined) ?? null, record(handle, true));
    } else if (roll < 0.8) {
      const value = nextValue++;
      const handle = history.invoke({ process, f: 'write', key, value, time });
      cluster.transact(node, (tx) => void tx.upsert('reg', { k: key, v: value }), record(handle, false));
    } else {
      const expected = sim.rng.chance(0.5) ? null : sim.rng.int(nextValue) + 1;
      const value = nextValue++;
      const handle = history.invoke({ process, f: 'cas', key, value: [expected, value], time });
      cluster.transact(node, (tx) => {
        const current = (tx.get('reg', key)?.['v'] as number | undefined) ?? null;
        if (current !== expected) throw casMismatch;
        tx.upsert('reg', { k: key, v: value });
      }, record(handle, false));
    }
  };
  for (let p = 0; p < (options.clients ?? 6); p++) sim.at(p, () => step(p));
  return { stop: () => void (stopped = true) };
}

function check(cluster: SimCluster, history: HistoryRecorder, keys: readonly string[]): string[] {
  const problems: string[] = [];
  if (history.openOperations > 0) problems.push(`${history.openOperations} operations never completed`);
  // Paired once, for both checks of the history.
  const operations = operationsOf(history.events, 'checkLinearizable');
  const verdict = checkLinearizable(history.events, { initialValue: null, operations });
  if (verdict.ok !== true) problems.push(`not linearizable: ${JSON.stringify(verdict).slice(0, 1500)}`);
  problems.push(...convergenceProblem(cluster));
  const stores = finalStores(cluster);
  if (stores.length === 0) return [...problems, 'no data node is up and recovered after the liveness phase'];
  const verdicts = stores.map(({ node, store }) => {
    const finalState = new Map(keys.map((k) => [k, (store.read((tx) => tx.get('reg', k))?.['v'] as number | undefined) ?? null] as const));
    return { node, verdict: checkLostWrites(history.events, finalState, { initialValue: null, operations }) };
  });
  return [...problems, ...lostWritesProblems(verdicts, 'writes')];
}
