/**
 * A run's timeline, for the HTML report (simulate/report.ts): the faults as they struck, each node's
 * Raft role, leader and term as it changed, and when nodes were down or paused. Recording only: it never
 * draws from the run's Rng or schedules anything, so a run with a timeline has the same trace as one
 * without.
 *
 * Bound: at most simTimelineEntriesMax entries of each kind; later ones are counted in `dropped`.
 */
import type { Message } from '../src/runtime/actor.js';
import { simTimelineEntriesMax } from '../src/limits.js';
import type { Fault } from './faults.js';
import { bridgeSides, ringOrder } from './faults.js';
import type { Simulation } from './simulation.js';

export interface TimelineFault {
  readonly timeMs: number;
  readonly fault: Fault;
  /** What it did, in words ("partition n0 n1 | n2", "crash n1 for 300 ms"). */
  readonly label: string;
}

export interface RoleChange {
  readonly timeMs: number;
  readonly node: string;
  readonly role: string;
  readonly leader: string | undefined;
  readonly term: number;
}

/** A stretch in which a node was down (crashed), paused or detached; `toMs` undefined while it lasts. */
export interface NodeGap {
  readonly node: string;
  readonly kind: 'down' | 'paused' | 'detached';
  readonly fromMs: number;
  toMs: number | undefined;
}

export class RunTimeline {
  readonly faults: TimelineFault[] = [];
  readonly roles: RoleChange[] = [];
  readonly gaps: NodeGap[] = [];
  /** When the safety phase ended (faults off), once it has. */
  livenessFromMs: number | undefined;
  endMs = 0;
  dropped = 0;

  /** Listens to the nodes' role changes and membership (the replicator's `raftState` and `membership` to the application). */
  attach(sim: Simulation): void {
    sim.on('appMessage', (message: Message, _from, node) => {
      if (message.type === 'membership') {
        const detached = (message as Message & { state: string }).state === 'detached';
        if (detached) this.keep(this.gaps, { node, kind: 'detached', fromMs: sim.nowMs, toMs: undefined });
        else this.close(sim.nowMs, (g) => g.node === node && g.kind === 'detached');
        return;
      }
      if (message.type !== 'raftState') return;
      const state = message as Message & { role: string; leader?: string; term: number };
      this.keep(this.roles, { timeMs: sim.nowMs, node, role: state.role, leader: state.leader, term: state.term });
    });
  }

  fault(timeMs: number, fault: Fault, names: readonly string[]): void {
    const at = (i: number) => names[i % names.length]!;
    this.keep(this.faults, { timeMs, fault, label: describeFault(fault, names) });
    if (fault.kind === 'crash' || fault.kind === 'pause') {
      const node = at(fault.node);
      const kind = fault.kind === 'crash' ? 'down' : 'paused';
      if (!this.gaps.some((g) => g.node === node && g.kind === kind && g.toMs === undefined)) this.keep(this.gaps, { node, kind, fromMs: timeMs, toMs: undefined });
    }
  }

  /** A node the liveness phase leaves down (only a quorum is brought back). */
  leftDown(timeMs: number, node: string): void {
    if (!this.gaps.some((g) => g.node === node && g.kind === 'down' && g.toMs === undefined)) this.keep(this.gaps, { node, kind: 'down', fromMs: timeMs, toMs: undefined });
  }

  restarted(timeMs: number, node: string): void {
    this.close(timeMs, (g) => g.node === node && g.kind === 'down');
  }

  resumed(timeMs: number, node: string): void {
    this.close(timeMs, (g) => g.node === node && g.kind === 'paused');
  }

  /** The safety phase is over: faults stop, every node is back but those in `leftDown`. */
  liveness(timeMs: number, leftDown: readonly string[] = []): void {
    this.livenessFromMs = timeMs;
    this.close(timeMs, (g) => g.kind === 'paused' || (g.kind === 'down' && !leftDown.includes(g.node)));
  }

  finish(endMs: number): void {
    this.endMs = endMs;
    this.close(endMs, () => true);
  }

  private close(timeMs: number, which: (gap: NodeGap) => boolean): void {
    for (const gap of this.gaps) if (gap.toMs === undefined && which(gap)) gap.toMs = timeMs;
  }

  private keep<T>(list: T[], entry: T): void {
    if (list.length >= simTimelineEntriesMax) this.dropped++;
    else list.push(entry);
  }
}

export function describeFault(f: Fault, names: readonly string[]): string {
  const at = (i: number) => names[i % names.length]!;
  const pct = (p: number) => `${(100 * p).toFixed(1)}%`;
  switch (f.kind) {
    case 'partition': {
      const side = names.filter((_, i) => f.mask & (1 << i));
      const other = names.filter((_, i) => !(f.mask & (1 << i)));
      return side.length === 0 || other.length === 0 ? 'partition (none: every node on one side)' : `partition ${side.join(' ')} | ${other.join(' ')}`;
    }
    case 'ring':
      return `majorities ring ${ringOrder(f.order, names).join(' – ')} (each node sees its neighbours)`;
    case 'bridge': {
      const { left, bridge, right } = bridgeSides(f, names);
      return `bridge ${left.join(' ')} | ${bridge} | ${right.join(' ')} (${bridge} sees both sides)`;
    }
    case 'cutOneWay':
      return `cut ${at(f.from)} → ${at(f.to)}`;
    case 'heal':
      return 'heal the network';
    case 'rates':
      return `loss ${pct(f.loss)}, duplicate ${pct(f.duplicate)}, reorder ${pct(f.reorder)}${f.capacity === undefined ? '' : `, ${f.capacity} packets in flight per path`}`;
    case 'slowLink':
      return `slow link ${at(f.from)} → ${at(f.to)}: ${f.minMs}–${f.maxMs} ms`;
    case 'clog':
      return `clog ${at(f.from)} → ${at(f.to)} for ${f.forMs} ms`;
    case 'stall':
      return `stall ${at(f.node)} (every path to and from it clogged) for ${f.forMs} ms`;
    case 'detach':
      return `detach ${at(f.node)}, attach it ${f.forMs} ms later`;
    case 'pause':
      return `pause ${at(f.node)} for ${f.forMs} ms`;
    case 'crash':
      return `crash ${at(f.node)}${f.midWrite === true ? ' mid-write (in a journal sync)' : ''} for ${f.forMs} ms`;
    case 'powerLoss': {
      const down = names.filter((_, i) => (f.mask & (1 << i)) !== 0).join(' ');
      const stall = f.stallMs === undefined ? '' : `after their disks stall ${f.stallMs} ms, `;
      return `power loss: ${stall}${down} crash${f.staggerMs === 0 ? ' at once' : ` ${f.staggerMs} ms apart`}${f.midWrite === true ? ' mid-write' : ''}${f.dropUnsynced === true ? ' losing every unsynced record' : ''}, each for ${f.forMs} ms`;
    }
    case 'clock':
      return `clock of ${at(f.node)}: ${f.offsetMs >= 0 ? '+' : ''}${f.offsetMs} ms, rate ${f.rate.toFixed(4)}`;
  }
}
