/**
 * The simulated network between nodes: what happens to each packet a node sends to another. Owns the
 * fault state — partitions (groups, majority rings, bridges, one-way cuts), clogged links, slow paths
 * (a path's own delay range), per-path capacity — and the fault rates: loss, duplication, reordering,
 * delay. Every random choice comes from the run's one Rng, in send order, so a seed replays exactly.
 *
 * Packets between actors of one node never come here: they are in-process, as in production.
 *
 * Paths are kept in flat nodes × nodes tables indexed by node number (names are numbered once, on first
 * sight), so that the per-packet work is array reads, not string keys.
 *
 * Reordering: a packet drawn to be reordered is held back on its path (it took a longer route) for up to
 * simReorderHoldMsMax past its delay, and packets sent after it may arrive first. Letting it merely ignore
 * FIFO reordered little: its own delay, drawn from the same short range, rarely beat the packet before it,
 * and nothing came after it in time to pass it (over 20 register seeds of 3 nodes, 17% of the packets
 * drawn to be reordered came out of order; held back, most do: docs/simulator.md).
 *
 * Invariants: a packet on a cut link is never delivered (checked at send and again on arrival, since a
 * partition may start while it is in flight); a path never holds more than `pathPacketsMax` packets in
 * flight (more are dropped, as a full socket buffer would); with `reorderRate` 0 a path is FIFO.
 */
import { invalidArgument } from '../src/runtime/errors.js';
import { simNodesMax } from '../src/limits.js';
import type { Address, Message } from '../src/runtime/actor.js';
import type { Rng } from './rng.js';
import type { SimWire } from './wire.js';
import { simReorderHoldMsMax } from './limits.js';

export interface LinkFaults {
  /** Probability that a packet is lost. */
  readonly lossRate: number;
  /** Probability that a packet is delivered twice. */
  readonly duplicateRate: number;
  /** Probability that a packet may overtake earlier ones on its path (it ignores FIFO). */
  readonly reorderRate: number;
  /** Delay drawn uniformly from [min, max] milliseconds. */
  readonly delayMs: readonly [number, number];
  /** Packets one directed path holds in flight; past it packets are dropped. */
  readonly pathPacketsMax: number;
}

export const calmNetwork: LinkFaults = { lossRate: 0, duplicateRate: 0, reorderRate: 0, delayMs: [0.1, 2], pathPacketsMax: 100_000 };

export interface NetworkStats {
  readonly sent: number;
  readonly lost: number;
  readonly cut: number;
  readonly overCapacity: number;
  readonly duplicated: number;
}

export class SimNetwork {
  private faults: LinkFaults = calmNetwork;
  private readonly numbers = new Map<string, number>();
  // Per directed path (from * simNodesMax + to):
  private readonly cut = new Uint8Array(simNodesMax * simNodesMax);
  private readonly clogUntilMs = new Float64Array(simNodesMax * simNodesMax);
  private readonly inFlight = new Int32Array(simNodesMax * simNodesMax);
  private readonly lastArrivalMs = new Float64Array(simNodesMax * simNodesMax);
  /** A path's own delay range (a slow or far link), when it has one: NaN otherwise. */
  private readonly slowMinMs = new Float64Array(simNodesMax * simNodesMax).fill(Number.NaN);
  private readonly slowMaxMs = new Float64Array(simNodesMax * simNodesMax).fill(Number.NaN);
  private cuts = 0;
  private clogs = 0;
  private slows = 0;
  /** Where `planPath` writes the arrival times of a packet's copies. */
  readonly arrivalsMs = new Float64Array(2);
  private counters = { sent: 0, lost: 0, cut: 0, overCapacity: 0, duplicated: 0 };

  /** The codec messages between nodes cross, on seeds that draw it (simulate/wire.ts); undefined: receivers get the sender's objects. */
  wire: SimWire | undefined = undefined;

  constructor(private readonly rng: Rng) {}

  /** What the receiver of a copy of `message` gets: the message itself, or its decoding off the wire. */
  carry(from: Address, to: Address, message: Message): Message {
    return this.wire === undefined ? message : this.wire.carry(from, to, message);
  }

  stats(): NetworkStats {
    return { ...this.counters };
  }

  /** The node's number in the path tables (numbered on first sight, at most simNodesMax names). */
  nodeNumber(name: string): number {
    let n = this.numbers.get(name);
    if (n === undefined) {
      if (this.numbers.size >= simNodesMax) throw invalidArgument('SimNetwork', `at most ${simNodesMax} nodes (simNodesMax)`);
      n = this.numbers.size;
      this.numbers.set(name, n);
    }
    return n;
  }

  setFaults(faults: Partial<LinkFaults>): void {
    const next = { ...this.faults, ...faults };
    for (const name of ['lossRate', 'duplicateRate', 'reorderRate'] as const) {
      const p = next[name];
      if (!(p >= 0 && p <= 1)) throw invalidArgument('SimNetwork.setFaults', `${name} must be in [0, 1], got ${p}`);
    }
    const [min, max] = next.delayMs;
    if (!(min >= 0 && max >= min && Number.isFinite(max))) throw invalidArgument('SimNetwork.setFaults', `delayMs must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
    if (!(Number.isInteger(next.pathPacketsMax) && next.pathPacketsMax >= 1)) throw invalidArgument('SimNetwork.setFaults', `pathPacketsMax must be a positive integer, got ${next.pathPacketsMax}`);
    this.faults = next;
  }

  /** Cuts every link between nodes of different groups, both ways; earlier cuts stay. */
  partition(groups: readonly (readonly string[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.cutOneWay(a, b);
      }
    }
  }

  /**
   * A majorities ring: the nodes in `order` stand in a ring and each keeps its links (both ways) only to
   * the nearest on either side, as few as let it see a majority of the ring counting itself; every other
   * link is cut. So every node sees a majority, and no two see the same one (with four nodes or more; a
   * ring of three is whole). Earlier cuts stay.
   */
  partitionRing(order: readonly string[]): void {
    const n = order.length;
    assertDistinct('partitionRing', order);
    const reach = Math.ceil(Math.floor(n / 2) / 2);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const distance = Math.min(j - i, n - (j - i));
        if (distance > reach) this.partition([[order[i]!], [order[j]!]]);
      }
    }
  }

  /**
   * A bridge: `left` and `right` cannot reach each other (both ways), and the `bridge` node, in neither,
   * keeps its links to both. Earlier cuts stay.
   */
  partitionBridge(left: readonly string[], bridge: string, right: readonly string[]): void {
    assertDistinct('partitionBridge', [...left, bridge, ...right]);
    this.partition([left, right]);
  }

  /** Cuts packets from `from` to `to` only (an asymmetric fault). */
  cutOneWay(from: string, to: string): void {
    const p = this.path(from, to);
    if (this.cut[p] === 0) this.cuts++;
    this.cut[p] = 1;
  }

  isCut(from: string, to: string): boolean {
    return this.cut[this.path(from, to)] === 1;
  }

  /** Holds every packet from `from` to `to` until `untilMs` (virtual time); they then arrive in a burst. */
  clog(from: string, to: string, untilMs: number): void {
    this.clogUntilMs[this.path(from, to)] = untilMs;
    this.clogs++;
  }

  /**
   * Gives the path from `from` to `to` its own delay range (a slow or distant link): its packets take
   * [min, max] milliseconds, drawn uniformly, instead of the network's `delayMs`, until a heal.
   */
  slowPath(from: string, to: string, delayMs: readonly [number, number]): void {
    const [min, max] = delayMs;
    if (!(min >= 0 && max >= min && Number.isFinite(max))) throw invalidArgument('SimNetwork.slowPath', `delayMs must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
    const p = this.path(from, to);
    this.slowMinMs[p] = min;
    this.slowMaxMs[p] = max;
    this.slows++;
  }

  /** Removes every cut, clog and slow path. */
  heal(): void {
    if (this.cuts > 0) this.cut.fill(0);
    if (this.clogs > 0) this.clogUntilMs.fill(0);
    if (this.slows > 0) {
      this.slowMinMs.fill(Number.NaN);
      this.slowMaxMs.fill(Number.NaN);
    }
    this.cuts = 0;
    this.clogs = 0;
    this.slows = 0;
  }

  /**
   * Decides a packet's fate at send time: the virtual times at which its copies arrive (none when
   * lost, two when duplicated).
   */
  plan(from: string, to: string, nowMs: number): number[] {
    const copies = this.planPath(this.nodeNumber(from), this.nodeNumber(to), nowMs);
    return Array.from(this.arrivalsMs.subarray(0, copies));
  }

  /** `plan` by node numbers: writes the copies' arrival times to `arrivalsMs` and returns how many. */
  planPath(from: number, to: number, nowMs: number): number {
    this.counters.sent++;
    const p = from * simNodesMax + to;
    if (this.cut[p] === 1) {
      this.counters.cut++;
      return 0;
    }
    const f = this.faults;
    const rng = this.rng;
    // Draw every random number up front, in a fixed order, so that the stream does not depend on branches.
    const lost = rng.chance(f.lossRate);
    const duplicated = rng.chance(f.duplicateRate);
    const reordered = rng.chance(f.reorderRate);
    const slow = !Number.isNaN(this.slowMinMs[p]!);
    const minMs = slow ? this.slowMinMs[p]! : f.delayMs[0];
    const maxMs = slow ? this.slowMaxMs[p]! : f.delayMs[1];
    const delay0Ms = rng.between(minMs, maxMs);
    const delay1Ms = rng.between(minMs, maxMs);
    const holdMs = rng.between(0, simReorderHoldMsMax);
    if (lost) {
      this.counters.lost++;
      return 0;
    }
    const copies = duplicated ? 2 : 1;
    const inFlight = this.inFlight[p]!;
    if (inFlight + copies > f.pathPacketsMax) {
      this.counters.overCapacity++;
      return 0;
    }
    if (duplicated) this.counters.duplicated++;
    this.inFlight[p] = inFlight + copies;
    const clogMs = this.clogUntilMs[p]!;
    for (let i = 0; i < copies; i++) {
      const last = this.lastArrivalMs[p]!;
      const dueMs = nowMs + (i === 0 ? delay0Ms : delay1Ms);
      // A held-back packet leaves the FIFO order (later ones may pass it); the others keep it among themselves.
      const arrivalMs = reordered ? Math.max(dueMs + holdMs, clogMs) : Math.max(dueMs, clogMs, last);
      if (!reordered) this.lastArrivalMs[p] = arrivalMs;
      this.arrivalsMs[i] = arrivalMs;
    }
    return copies;
  }

  /** A copy reached the end of its path: whether it may be delivered (a cut made since drops it). */
  arrive(from: string, to: string): boolean {
    return this.arrivePath(this.nodeNumber(from), this.nodeNumber(to));
  }

  /** `arrive` by node numbers. */
  arrivePath(from: number, to: number): boolean {
    const p = from * simNodesMax + to;
    this.inFlight[p] = this.inFlight[p]! - 1;
    if (this.cut[p] === 0) return true;
    this.counters.cut++;
    return false;
  }

  private path(from: string, to: string): number {
    return this.nodeNumber(from) * simNodesMax + this.nodeNumber(to);
  }
}

function assertDistinct(api: string, names: readonly string[]): void {
  if (new Set(names).size !== names.length) throw invalidArgument(`SimNetwork.${api}`, `a node may stand in one place only, got ${names.join(', ')}`);
}
