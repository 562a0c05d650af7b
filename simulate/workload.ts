/**
 * One simulated run of the register workload: a cluster (simulate/cluster.ts), clients doing read,
 * write and compare-and-set on a few keys, a schedule of faults, then a liveness phase (faults off,
 * everyone back) and the checkers. Everything follows from the seed: the fault schedule too, when it is
 * drawn by `swarmFaults` (each seed its own mix and rates: some quiet, some brutal).
 */
import type { SchemaDef } from '../src/store/schema.js';
import { SimCluster } from './cluster.js';
import type { Outcome } from './cluster.js';
import { HistoryRecorder } from './history.js';
import type { History, JsonValue, OpHandle } from './history.js';
import { checkLinearizable } from './checkers/linearizable.js';
import { checkLostWrites } from './checkers/lost-writes.js';
import { Rng } from './rng.js';
import type { Simulation } from './simulation.js';

export type Fault =
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'cutOneWay'; readonly from: number; readonly to: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'rates'; readonly loss: number; readonly duplicate: number; readonly reorder: number }
  | { readonly kind: 'clog'; readonly from: number; readonly to: number; readonly forMs: number }
  | { readonly kind: 'pause'; readonly node: number; readonly forMs: number }
  /** Kills a node (its unsynced journal records may be lost) and restarts it `forMs` later. */
  | { readonly kind: 'crash'; readonly node: number; readonly forMs: number };

export interface TimedFault {
  readonly atMs: number;
  readonly fault: Fault;
}

export interface WorkloadOptions {
  readonly seed: number;
  /** qrank of each node (its length is the node count). */
  readonly ranks: readonly number[];
  readonly faults: readonly TimedFault[];
  /** Virtual milliseconds of the safety phase (faults on). */
  readonly safetyMs: number;
  readonly clients?: number;
  readonly keys?: readonly string[];
}

export interface WorkloadResult {
  readonly seed: number;
  readonly problems: readonly string[];
  readonly history: History;
  readonly okOps: number;
  readonly events: number;
  readonly simMs: number;
}

const schema: SchemaDef = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const livenessMs = 1_500;
const drainMs = 1_500;
const writeTimeoutMs = 500;
/**
 * Thrown by a compare-and-set whose expectation fails: one shared object, since capturing a stack for
 * every expected mismatch cost 2.4% of a 5-node run (profiled); the outcome only needs its code.
 */
const casMismatch = Object.freeze({ code: 'CAS_MISMATCH', message: 'compare failed' });

/** Draws a fault schedule from the seed: how many faults, which kinds, how harsh. */
export function swarmFaults(seed: number, nodes: number, safetyMs: number): TimedFault[] {
  const rng = new Rng(seed ^ 0x5eed);
  const harshness = rng.next(); // some seeds quiet, some brutal
  const count = Math.floor(harshness * 16);
  return Array.from({ length: count }, (): TimedFault => {
    const atMs = Math.floor(rng.next() * safetyMs);
    const roll = rng.int(7);
    const node = () => rng.int(nodes);
    const fault: Fault =
      roll === 0 ? { kind: 'partition', mask: rng.int(1 << nodes) }
      : roll === 1 ? { kind: 'cutOneWay', from: node(), to: node() }
      : roll === 2 ? { kind: 'heal' }
      : roll === 3 ? { kind: 'rates', loss: harshness * 0.3 * rng.next(), duplicate: harshness * 0.1 * rng.next(), reorder: harshness * 0.5 * rng.next() }
      : roll === 4 ? { kind: 'clog', from: node(), to: node(), forMs: 10 + rng.int(500) }
      : roll === 5 ? { kind: 'pause', node: node(), forMs: 50 + rng.int(600) }
      : { kind: 'crash', node: node(), forMs: 50 + rng.int(800) };
    return { atMs, fault };
  }).sort((a, b) => a.atMs - b.atMs);
}

/** The workloads' cluster: nodes n0, n1, … with the given qranks, on the seed's simulation. */
export function clusterFor(options: WorkloadOptions, schema: SchemaDef): SimCluster {
  return new SimCluster({ seed: options.seed, nodes: options.ranks.map((qrank, i) => ({ addr: `n${i}`, qrank })), schema, writeTimeoutMs });
}

/**
 * The phases every workload runs after its clients start: safety (faults on), liveness (faults off,
 * paused and crashed nodes back), then the clients stop and every open operation completes or times out.
 */
export function runPhases(cluster: SimCluster, safetyMs: number, stopClients: () => void): void {
  const { sim } = cluster;
  sim.runFor(safetyMs);
  sim.network.heal();
  sim.network.setFaults({ lossRate: 0, duplicateRate: 0, reorderRate: 0 });
  for (const node of cluster.nodes) {
    sim.resume(node);
    cluster.restart(node);
  }
  sim.runFor(livenessMs);
  stopClients();
  sim.runFor(drainMs);
}

/** Records a transaction's outcome as the history's completion of `handle` (`value` for an ok read). */
export function recordOutcome(history: HistoryRecorder, handle: OpHandle, outcome: Outcome, time: number, read: boolean): void {
  if (outcome.kind === 'ok') history.ok(handle, time, read ? (outcome.value as JsonValue) : undefined);
  else if (outcome.kind === 'fail') history.fail(handle, time);
  else history.info(handle, time);
}

/** A problem when the nodes' tables differ after the liveness phase. */
export function convergenceProblem(cluster: SimCluster): string[] {
  const hashes = new Set([...cluster.stores.values()].map((store) => store.contentHash()));
  return hashes.size === 1 ? [] : [`nodes did not converge: ${hashes.size} different content hashes`];
}

export function runRegisterWorkload(options: WorkloadOptions): WorkloadResult {
  const cluster = clusterFor(options, schema);
  const keys = options.keys ?? ['a', 'b', 'c'];
  scheduleFaults(cluster.sim, cluster.nodes, options.faults, cluster);
  const history = new HistoryRecorder();
  const clients = startClients(cluster, history, keys, options.clients ?? 6);
  runPhases(cluster, options.safetyMs, clients.stop);
  const { sim } = cluster;
  return { seed: options.seed, problems: check(cluster, history, keys), history: history.events, okOps: history.events.filter((e) => e.type === 'ok').length, events: sim.stats().events, simMs: sim.nowMs };
}

export interface NodeLifecycle {
  crash(node: string): void;
  restart(node: string): void;
}

/** Schedules each fault at its virtual time; node numbers wrap around the node list. */
export function scheduleFaults(sim: Simulation, names: readonly string[], faults: readonly TimedFault[], nodes?: NodeLifecycle): void {
  // Crashes may overlap: crashing a crashed node and restarting a running one do nothing.
  const lifecycle: NodeLifecycle = nodes ?? { crash: (n) => sim.crash(n), restart: (n) => void (sim.isUp(n) || sim.restart(n)) };
  const at = (i: number) => names[i % names.length]!;
  for (const { atMs, fault: f } of faults) {
    sim.at(atMs, () => {
      switch (f.kind) {
        case 'partition':
          sim.network.heal();
          sim.network.partition([names.filter((_, i) => f.mask & (1 << i)), names.filter((_, i) => !(f.mask & (1 << i)))]);
          return;
        case 'cutOneWay':
          if (at(f.from) !== at(f.to)) sim.network.cutOneWay(at(f.from), at(f.to));
          return;
        case 'heal':
          sim.network.heal();
          return;
        case 'rates':
          sim.network.setFaults({ lossRate: f.loss, duplicateRate: f.duplicate, reorderRate: f.reorder });
          return;
        case 'clog':
          sim.network.clog(at(f.from), at(f.to), sim.nowMs + f.forMs);
          return;
        case 'pause':
          sim.pause(at(f.node));
          sim.at(f.forMs, () => sim.resume(at(f.node)));
          return;
        case 'crash':
          lifecycle.crash(at(f.node));
          sim.at(f.forMs, () => lifecycle.restart(at(f.node)));
          return;
      }
    });
  }
}

/** Clients: each bound to one node, one operation at a time, a short random pause between them. */
function startClients(cluster: SimCluster, history: HistoryRecorder, keys: readonly string[], clients: number): { stop(): void } {
  const { sim } = cluster;
  let nextValue = 1;
  let stopped = false;
  const step = (process: number) => {
    if (stopped) return;
    const node = cluster.nodes[process % cluster.nodes.length]!;
    const key = keys[sim.rng.int(keys.length)]!;
    const roll = sim.rng.next();
    const record = (handle: OpHandle, read: boolean) => (outcome: Outcome) => {
      recordOutcome(history, handle, outcome, sim.nowMs, read);
      sim.at(sim.rng.between(0, 20), () => step(process));
    };
    const time = sim.nowMs;
    if (roll < 0.4) {
      // Reads go through the log: their read set is certified at their log position.
      const handle = history.invoke({ process, f: 'read', key, value: null, time });
      cluster.transact(node, (tx) => (tx.get('reg', key)?.['v'] as number | undefined) ?? null, record(handle, true));
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
  for (let p = 0; p < clients; p++) sim.at(p, () => step(p));
  return { stop: () => void (stopped = true) };
}

function check(cluster: SimCluster, history: HistoryRecorder, keys: readonly string[]): string[] {
  const problems: string[] = [];
  if (history.openOperations > 0) problems.push(`${history.openOperations} operations never completed`);
  const verdict = checkLinearizable(history.events, { initialValue: null });
  if (verdict.ok !== true) problems.push(`not linearizable: ${JSON.stringify(verdict).slice(0, 1500)}`);
  problems.push(...convergenceProblem(cluster));
  const store = cluster.stores.get(cluster.nodes[0]!)!;
  const finalState = new Map(keys.map((k) => [k, (store.read((tx) => tx.get('reg', k))?.['v'] as number | undefined) ?? null] as const));
  const lost = checkLostWrites(history.events, finalState, { initialValue: null });
  if (lost.ok !== true) problems.push(`acknowledged writes lost: ${JSON.stringify(lost).slice(0, 1500)}`);
  return problems;
}
