/**
 * The simulated network between nodes: what happens to each packet a node sends to another. Owns the
 * fault state — partitions (any shape, including one-way cuts), clogged links, per-path capacity — and
 * the fault rates: loss, duplication, reordering, delay. Every random choice comes from the run's one
 * Rng, in send order, so a seed replays exactly.
 *
 * Packets between actors of one node never come here: they are in-process, as in production.
 *
 * Invariants: a packet on a cut link is never delivered (checked at send and again on arrival, since a
 * partition may start while it is in flight); a path never holds more than `pathPacketsMax` packets in
 * flight (more are dropped, as a full socket buffer would); with `reorderRate` 0 a path is FIFO.
 */
import { invalidArgument } from '../src/runtime/errors.js';
import type { Rng } from './rng.js';

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
  private readonly cuts = new Set<string>();
  private readonly clogUntilMs = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private readonly lastArrivalMs = new Map<string, number>();
  private counters = { sent: 0, lost: 0, cut: 0, overCapacity: 0, duplicated: 0 };

  constructor(private readonly rng: Rng) {}

  stats(): NetworkStats {
    return { ...this.counters };
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
        for (const a of groups[i]!) for (const b of groups[j]!) this.cuts.add(path(a, b));
      }
    }
  }

  /** Cuts packets from `from` to `to` only (an asymmetric fault). */
  cutOneWay(from: string, to: string): void {
    this.cuts.add(path(from, to));
  }

  isCut(from: string, to: string): boolean {
    return this.cuts.has(path(from, to));
  }

  /** Holds every packet from `from` to `to` until `untilMs` (virtual time); they then arrive in a burst. */
  clog(from: string, to: string, untilMs: number): void {
    this.clogUntilMs.set(path(from, to), untilMs);
  }

  /** Removes every cut and clog. */
  heal(): void {
    this.cuts.clear();
    this.clogUntilMs.clear();
  }

  /**
   * Decides a packet's fate at send time: the virtual times at which its copies arrive (none when
   * lost, two when duplicated).
   */
  plan(from: string, to: string, nowMs: number): number[] {
    this.counters.sent++;
    const key = path(from, to);
    if (this.cuts.has(key)) {
      this.counters.cut++;
      return [];
    }
    const f = this.faults;
    // Draw every random number up front, in a fixed order, so that the stream does not depend on branches.
    const lost = this.rng.chance(f.lossRate);
    const duplicated = this.rng.chance(f.duplicateRate);
    const reordered = this.rng.chance(f.reorderRate);
    const delays = [this.rng.between(f.delayMs[0], f.delayMs[1]), this.rng.between(f.delayMs[0], f.delayMs[1])];
    if (lost) {
      this.counters.lost++;
      return [];
    }
    const copies = duplicated ? 2 : 1;
    const inFlight = this.inFlight.get(key) ?? 0;
    if (inFlight + copies > f.pathPacketsMax) {
      this.counters.overCapacity++;
      return [];
    }
    if (duplicated) this.counters.duplicated++;
    this.inFlight.set(key, inFlight + copies);
    const clogMs = this.clogUntilMs.get(key) ?? 0;
    return delays.slice(0, copies).map((delayMs) => {
      let arrivalMs = Math.max(nowMs + delayMs, clogMs);
      if (!reordered) arrivalMs = Math.max(arrivalMs, this.lastArrivalMs.get(key) ?? 0);
      this.lastArrivalMs.set(key, Math.max(arrivalMs, this.lastArrivalMs.get(key) ?? 0));
      return arrivalMs;
    });
  }

  /** A copy reached the end of its path: whether it may be delivered (a cut made since drops it). */
  arrive(from: string, to: string): boolean {
    const key = path(from, to);
    this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    if (!this.cuts.has(key)) return true;
    this.counters.cut++;
    return false;
  }
}

function path(from: string, to: string): string {
  return `${from}>${to}`;
}
