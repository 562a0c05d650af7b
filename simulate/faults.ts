/**
 * Fault schedules: the faults a workload run can suffer, as data (so that fast-check can generate and
 * shrink them), the swarm draw that gives each seed its own mix and harshness, and `scheduleFaults`,
 * which plays a schedule on a simulation at its virtual times.
 *
 * Invariants: a schedule is a pure function of (seed, nodes, safetyMs, kinds); narrowing the kinds
 * never changes how many faults a seed draws or when, only which; every fault a schedule plays is
 * also told to the run's timeline, when there is one; a fault drawn on two nodes or more changes
 * something (a partition cuts a link, a one-way fault has two ends), and a power loss crashes its last
 * node before the safety phase ends.
 */
import { simClockDriftMax, simClockSkewMsMax } from '../src/limits.js';
import { invalidArgument } from '../src/runtime/errors.js';
import { Rng } from './rng.js';
import { calmNetwork } from './network.js';

import {
  simCrashMidWriteWithinMs, simDetachMsMax, simPathCapacityMin, simPowerLossStaggerMsMax, simPowerLossStallMsMax, simSlowLinkMsMax, simStallMsMax, simSwarmFaultsMin, simSwarmFaultsPerRunMax, simSwarmFaultsPerSecondMax,
} from './limits.js';

export { simPathCapacityMin, simSlowLinkMsMax };
import type { Simulation } from './simulation.js';
import type { RunTimeline } from './timeline.js';

export type Fault =
  /** Halves (one of them may be a single node): the nodes in `mask` against the rest. */
  | { readonly kind: 'partition'; readonly mask: number }
  /** A majorities ring in this order (node numbers; repeats dropped, missing ones appended in order). */
  | { readonly kind: 'ring'; readonly order: readonly number[] }
  /** The nodes in `mask` against the rest, but node `bridge` (taken out of its side) sees both sides. */
  | { readonly kind: 'bridge'; readonly mask: number; readonly bridge: number }
  | { readonly kind: 'cutOneWay'; readonly from: number; readonly to: number }
  | { readonly kind: 'heal' }
  /** Loss, duplication and reordering rates, and packets a path holds in flight (`capacity`; unbounded when absent). */
  | { readonly kind: 'rates'; readonly loss: number; readonly duplicate: number; readonly reorder: number; readonly capacity?: number }
  /** The path from `from` to `to` takes its own delay, drawn from [minMs, maxMs], until the network heals. */
  | { readonly kind: 'slowLink'; readonly from: number; readonly to: number; readonly minMs: number; readonly maxMs: number }
  | { readonly kind: 'clog'; readonly from: number; readonly to: number; readonly forMs: number }
  /** A node stalls on the network (a hung NIC, a saturated host): every path to and from it clogged for `forMs`. */
  | { readonly kind: 'stall'; readonly node: number; readonly forMs: number }
  | { readonly kind: 'pause'; readonly node: number; readonly forMs: number }
  /**
   * Kills a node and restarts it `forMs` later; `midWrite`: inside its next journal sync (within
   * simCrashMidWriteWithinMs), so that records it was writing may be lost or torn.
   */
  | { readonly kind: 'crash'; readonly node: number; readonly forMs: number; readonly midWrite?: boolean }
  /**
   * The nodes in `mask` lose power together (a rack): their disks stall first for `stallMs` (every
   * background sync they start is slow, so that an answer given before its sync completed has time to
   * reach a client), then they go down one after another in node order, `staggerMs` apart (0: at once),
   * each crashed as `crash` does (mid-write with `midWrite`: inside its next sync, background sync or
   * rewrite) and restarted `forMs` after it. With `dropUnsynced` none of what their journals had not
   * synced survives (the last record may still be torn); without it a random part does, as in any crash.
   */
  | {
      readonly kind: 'powerLoss'; readonly mask: number; readonly staggerMs: number; readonly forMs: number;
      readonly midWrite?: boolean; readonly stallMs?: number; readonly dropUnsynced?: boolean;
    }
  /** Sets a node's clock: `offsetMs` ahead (or behind), running at `rate` (its timers fire at that rate too). */
  | { readonly kind: 'clock'; readonly node: number; readonly offsetMs: number; readonly rate: number }
  /**
   * The application takes a node out of the membership (detach: a standalone database meanwhile) and puts
   * it back `forMs` later (attach: what it wrote standalone is discarded). Not a fault of the system, but
   * a membership change by joint consensus while the other faults go on.
   */
  | { readonly kind: 'detach'; readonly node: number; readonly forMs: number };

export interface TimedFault {
  readonly atMs: number;
  readonly fault: Fault;
}

/** The names `chorus sim --faults` takes; each seed draws its faults from the kinds it is given. */
export const faultKinds = ['partition', 'one-way', 'loss', 'duplicate', 'reorder', 'latency', 'clog', 'stall', 'pause', 'crash', 'power-loss', 'skew', 'drift', 'detach'] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Parses a comma-separated list of fault kinds; an unknown name is refused naming the valid ones. */
export function parseFaultKinds(api: string, text: string): FaultKind[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(faultKinds as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0) {
    throw invalidArgument(api, `unknown fault kind${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => JSON.stringify(n)).join(', ') || '(none given)'}; valid kinds: ${faultKinds.join(', ')}`);
  }
  return [...new Set(names as FaultKind[])];
}

type Family = 'partition' | 'cutOneWay' | 'heal' | 'rates' | 'slowLink' | 'clog' | 'stall' | 'pause' | 'crash' | 'powerLoss' | 'clock' | 'detach';

function familiesOf(kinds: readonly FaultKind[]): Family[] {
  const has = (k: FaultKind) => kinds.includes(k);
  const families: Family[] = [];
  if (has('partition')) families.push('partition');
  if (has('one-way')) families.push('cutOneWay');
  if (has('partition') || has('one-way')) families.push('heal');
  if (has('loss') || has('duplicate') || has('reorder')) families.push('rates');
  if (has('latency')) families.push('slowLink');
  if (has('clog')) families.push('clog');
  if (has('stall')) families.push('stall');
  if (has('pause')) families.push('pause');
  if (has('crash')) families.push('crash');
  if (has('power-loss')) families.push('powerLoss', 'powerLoss'); // twice the share of any other family
  if (has('skew') || has('drift')) families.push('clock');
  if (has('detach')) families.push('detach');
  return families;
}

/**
 * The most faults a seed's schedule holds for a safety phase of `safetyMs`: simSwarmFaultsPerSecondMax per
 * second (at least simSwarmFaultsMin, at most simSwarmFaultsPerRunMax), so that a long run is as dense in
 * faults as a short one; the harshest seeds draw this many.
 */
export function swarmFaultsMax(safetyMs: number): number {
  return Math.min(simSwarmFaultsPerRunMax, Math.max(simSwarmFaultsMin, Math.floor((safetyMs / 1000) * simSwarmFaultsPerSecondMax)));
}

/** Draws a fault schedule from the seed: how many faults, which kinds (among `kinds`), how harsh. */
export function swarmFaults(seed: number, nodes: number, safetyMs: number, kinds: readonly FaultKind[] = faultKinds): TimedFault[] {
  // Two streams: when faults strike (and how many) never depends on which kinds were allowed.
  const timing = new Rng(seed ^ 0x5eed);
  const rng = new Rng(seed ^ 0xfa17);
  const harshness = timing.next(); // some seeds quiet, some brutal
  const families = familiesOf(kinds);
  const count = families.length === 0 ? 0 : Math.floor(harshness * swarmFaultsMax(safetyMs));
  const has = (k: FaultKind) => kinds.includes(k);
  const faults = Array.from({ length: count }, (): TimedFault => {
    const atMs = Math.floor(timing.next() * safetyMs);
    const family = families[rng.int(families.length)]!;
    const node = () => rng.int(nodes);
    // The other end of a path: another node (on a single node, itself: nothing to cut).
    const other = (from: number) => (nodes < 2 ? from : (from + 1 + rng.int(nodes - 1)) % nodes);
    const path = () => {
      const from = node();
      return { from, to: other(from) };
    };
    const signed = () => 2 * rng.next() - 1;
    const fault: Fault =
      family === 'partition' ? partitionShape(rng, nodes)
      : family === 'cutOneWay' ? { kind: 'cutOneWay', ...path() }
      : family === 'heal' ? { kind: 'heal' }
      : family === 'rates' ? rates(rng, harshness, has)
      : family === 'slowLink' ? { kind: 'slowLink', ...path(), ...slowRange(rng, harshness) }
      : family === 'clog' ? { kind: 'clog', ...path(), forMs: 10 + rng.int(500) }
      : family === 'stall' ? { kind: 'stall', node: node(), forMs: 10 + rng.int(simStallMsMax) }
      : family === 'detach' ? { kind: 'detach', node: node(), forMs: Math.round(simDetachMsMax / 10) + rng.int(simDetachMsMax) }
      : family === 'pause' ? { kind: 'pause', node: node(), forMs: 50 + rng.int(600) }
      : family === 'crash' ? { kind: 'crash', node: node(), forMs: 50 + rng.int(800), ...(rng.chance(0.5) ? { midWrite: true } : {}) }
      : family === 'powerLoss' ? powerLoss(rng, nodes, safetyMs - atMs)
      : { kind: 'clock', node: node(), offsetMs: has('skew') ? Math.round(signed() * harshness * simClockSkewMsMax) : 0, rate: has('drift') ? 1 + signed() * harshness * simClockDriftMax : 1 };
    return { atMs, fault };
  });
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/** Rates drawn for the kinds allowed; on harsh seeds with loss, a path also holds only a few packets in flight. */
function rates(rng: Rng, harshness: number, has: (k: FaultKind) => boolean): Fault {
  const loss = has('loss') ? harshness * 0.3 * rng.next() : 0;
  const duplicate = has('duplicate') ? harshness * 0.1 * rng.next() : 0;
  const reorder = has('reorder') ? harshness * 0.5 * rng.next() : 0;
  if (!(has('loss') && harshness > 0.5)) return { kind: 'rates', loss, duplicate, reorder };
  return { kind: 'rates', loss, duplicate, reorder, capacity: simPathCapacityMin + rng.int(simPathCapacityMin * 8) };
}

/** A slow link's delay range: up to `simSlowLinkMsMax` on the harshest seeds. */
function slowRange(rng: Rng, harshness: number): { minMs: number; maxMs: number } {
  const minMs = Math.round(10 * harshness * rng.next() * simSlowLinkMsMax) / 20;
  const maxMs = minMs + Math.round(10 * harshness * rng.next() * simSlowLinkMsMax) / 20;
  return { minMs: Math.max(0.1, minMs), maxMs: Math.max(0.1, maxMs) };
}

/**
 * A majority of the nodes or all of them lose power, at once or one after another, each half the time:
 * mid-write, after a disk stall, dropping every unsynced record. The last goes down within `leftMs` (what
 * is left of the safety phase), so that the liveness phase finds them all crashed or back (and endFaults
 * disarms a crash mid-write that would strike later).
 */
function powerLoss(rng: Rng, nodes: number, leftMs: number): Fault {
  const majority = Math.floor(nodes / 2) + 1;
  const down = shuffled(rng, nodes).slice(0, majority + rng.int(nodes - majority + 1));
  const mask = down.reduce((m, i) => m | (1 << i), 0);
  const stallMs = rng.chance(0.5) ? 0 : Math.min(1 + rng.int(simPowerLossStallMsMax), leftMs - 1);
  const staggerMs = rng.chance(0.5) ? 0 : Math.min(rng.int(simPowerLossStaggerMsMax), Math.floor((leftMs - stallMs) / down.length));
  const forMs = 50 + rng.int(800);
  return {
    kind: 'powerLoss', mask, staggerMs, forMs, ...(rng.chance(0.5) ? { midWrite: true } : {}),
    ...(stallMs > 0 ? { stallMs } : {}), ...(rng.chance(0.5) ? { dropUnsynced: true } : {}),
  };
}

/**
 * A partition of a shape drawn from the seed: halves (half the time), a majorities ring, or a bridge;
 * each cuts at least one link. Three nodes have no majorities ring that cuts anything (each node sees
 * both others): they draw a bridge instead, which is the one shape there where every node sees a majority.
 */
function partitionShape(rng: Rng, nodes: number): Fault {
  const shape = rng.int(4);
  if (nodes < 2) return { kind: 'partition', mask: 0 };
  if (shape <= 1 || nodes < 3) return { kind: 'partition', mask: 1 + rng.int((1 << nodes) - 2) }; // both sides non-empty
  if (shape === 3 || nodes < 4) {
    const bridge = rng.int(nodes);
    const others = Array.from({ length: nodes - 1 }, (_, i) => (i < bridge ? i : i + 1));
    const split = 1 + rng.int((1 << others.length) - 2); // both sides non-empty
    return { kind: 'bridge', mask: others.reduce((m, n, b) => ((split & (1 << b)) !== 0 ? m | (1 << n) : m), 0), bridge };
  }
  return { kind: 'ring', order: shuffled(rng, nodes) };
}

/** The node numbers 0 to nodes - 1 in an order drawn from `rng`. */
function shuffled(rng: Rng, nodes: number): number[] {
  const order = Array.from({ length: nodes }, (_, i) => i);
  for (let i = nodes - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The node names a ring's order stands for: numbers wrap around, repeats are dropped, missing nodes join at the end. */
export function ringOrder(order: readonly number[], names: readonly string[]): string[] {
  const placed = new Set<string>();
  for (const i of order) placed.add(names[i % names.length]!);
  for (const name of names) placed.add(name);
  return [...placed];
}

/** A bridge's sides and its bridge node, by name. */
export function bridgeSides(f: { readonly mask: number; readonly bridge: number }, names: readonly string[]): { left: string[]; bridge: string; right: string[] } {
  const bridge = names[f.bridge % names.length]!;
  return {
    left: names.filter((n, i) => n !== bridge && (f.mask & (1 << i)) !== 0),
    bridge,
    right: names.filter((n, i) => n !== bridge && (f.mask & (1 << i)) === 0),
  };
}

export interface NodeLifecycle {
  crash(node: string): void;
  /** Crash inside the node's next journal sync (or within `withinMs`). */
  crashMidWrite?(node: string, withinMs: number): void;
  restart(node: string): void;
  /** Membership changes, when the run has a cluster to make them (a bare simulation ignores detach faults). */
  detach?(node: string): void;
  attach?(node: string): void;
}

/** Simulations whose safety phase is over (endFaults): a fault due later does not strike. */
const faultsEnded = new WeakSet<Simulation>();

/**
 * Ends the faults of a simulation's schedule: none scheduled strikes from now on (a power loss's later
 * crashes included), so that the liveness phase runs fault-free. What undoes a fault (a restart, a resume,
 * an attach) still comes.
 */
export function endFaults(sim: Simulation): void {
  faultsEnded.add(sim);
  sim.disks.calm(); // a crash armed mid-write strikes no more, no disk stalls
}

/** Schedules each fault at its virtual time; node numbers wrap around the node list. */
export function scheduleFaults(sim: Simulation, names: readonly string[], faults: readonly TimedFault[], nodes?: NodeLifecycle, timeline?: RunTimeline): void {
  // Crashes may overlap: crashing a crashed node and restarting a running one do nothing.
  const lifecycle: NodeLifecycle = nodes ?? { crash: (n) => sim.crash(n), restart: (n) => void (sim.isUp(n) || sim.restart(n)) };
  for (const { atMs, fault } of faults) {
    sim.at(atMs, () => {
      if (faultsEnded.has(sim)) return;
      timeline?.fault(sim.nowMs, fault, names);
      play(sim, names, fault, lifecycle, timeline);
    });
  }
}

function play(sim: Simulation, names: readonly string[], f: Fault, lifecycle: NodeLifecycle, timeline: RunTimeline | undefined): void {
  const at = (i: number) => names[i % names.length]!;
  switch (f.kind) {
    case 'partition':
      sim.network.heal();
      sim.network.partition([names.filter((_, i) => f.mask & (1 << i)), names.filter((_, i) => !(f.mask & (1 << i)))]);
      return;
    case 'ring':
      sim.network.heal();
      sim.network.partitionRing(ringOrder(f.order, names));
      return;
    case 'bridge': {
      const { left, bridge, right } = bridgeSides(f, names);
      sim.network.heal();
      sim.network.partitionBridge(left, bridge, right);
      return;
    }
    case 'cutOneWay':
      if (at(f.from) !== at(f.to)) sim.network.cutOneWay(at(f.from), at(f.to));
      return;
    case 'heal':
      sim.network.heal();
      return;
    case 'rates':
      sim.network.setFaults({ lossRate: f.loss, duplicateRate: f.duplicate, reorderRate: f.reorder, pathPacketsMax: f.capacity ?? calmNetwork.pathPacketsMax });
      return;
    case 'slowLink':
      if (at(f.from) !== at(f.to)) sim.network.slowPath(at(f.from), at(f.to), [f.minMs, f.maxMs]);
      return;
    case 'clog':
      sim.network.clog(at(f.from), at(f.to), sim.nowMs + f.forMs);
      return;
    case 'stall':
      for (const other of names) {
        if (other === at(f.node)) continue;
        sim.network.clog(at(f.node), other, sim.nowMs + f.forMs);
        sim.network.clog(other, at(f.node), sim.nowMs + f.forMs);
      }
      return;
    case 'detach':
      lifecycle.detach?.(at(f.node));
      sim.at(f.forMs, () => lifecycle.attach?.(at(f.node)));
      return;
    case 'pause':
      sim.pause(at(f.node));
      sim.at(f.forMs, () => {
        sim.resume(at(f.node));
        timeline?.resumed(sim.nowMs, at(f.node));
      });
      return;
    case 'crash':
      crashFor(sim, at(f.node), f, lifecycle, timeline);
      return;
    case 'powerLoss': {
      const down = names.filter((_, i) => (f.mask & (1 << i)) !== 0);
      const stallMs = f.stallMs ?? 0;
      if (stallMs > 0) for (const node of down) sim.disks.stall(node);
      // Each node's crash is told to the timeline as a crash of its own (its down time shows per node).
      down.forEach((node, k) => {
        sim.at(stallMs + k * f.staggerMs, () => {
          if (faultsEnded.has(sim)) return;
          if (f.dropUnsynced === true) sim.disks.dropUnsyncedAtCrash(node);
          const crash: Fault = { kind: 'crash', node: names.indexOf(node), forMs: f.forMs, ...(f.midWrite === true ? { midWrite: true } : {}) };
          timeline?.fault(sim.nowMs, crash, names);
          crashFor(sim, node, crash, lifecycle, timeline);
        });
      });
      return;
    }
    case 'clock':
      sim.setClockOffset(at(f.node), f.offsetMs);
      sim.setClockRate(at(f.node), f.rate);
      return;
  }
}

/** Crashes `node` now (or inside its next journal sync, mid-write) and restarts it `forMs` later. */
function crashFor(sim: Simulation, node: string, f: { readonly forMs: number; readonly midWrite?: boolean }, lifecycle: NodeLifecycle, timeline: RunTimeline | undefined): void {
  if (f.midWrite !== true) lifecycle.crash(node);
  else if (lifecycle.crashMidWrite !== undefined) lifecycle.crashMidWrite(node, simCrashMidWriteWithinMs);
  else sim.crashAtNextSync(node, simCrashMidWriteWithinMs);
  // Mid-write, the crash comes at the node's next sync, within simCrashMidWriteWithinMs: the restart after it.
  sim.at(f.forMs + (f.midWrite === true ? simCrashMidWriteWithinMs : 0), () => {
    lifecycle.restart(node);
    timeline?.restarted(sim.nowMs, node);
  });
}
