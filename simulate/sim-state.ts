/**
 * The simulator host's internal shapes: its events (one class for all, so the heap stays monomorphic),
 * and what it keeps per actor and per node. Internal to simulation.ts.
 */
import type { Actor, Address, Message, NodeSpec, TimerId } from '../src/runtime/actor.js';
import type { MailboxLedger } from '../src/runtime/host.js';
import type { SimJournal } from './sim-journal.js';

/** Event kinds, as small integers so that the hot loop compares numbers. */
export const Kind = { Deliver: 0, Timer: 1, Call: 2 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/**
 * One shape for every event keeps the heap monomorphic (and fast). Its time and sequence number are the
 * queue's keys (KeyedHeap keeps them), not fields.
 */
export class SimEvent {
  cancelled = false;
  /** A packet between nodes that has reached its node (counted off its network path already). */
  arrived = false;
  /** For a packet between nodes: the sending node's number on the network (-1 otherwise). */
  sourceNode = -1;
  constructor(
    readonly kind: Kind,
    readonly cell: SimCell | undefined,
    readonly incarnation: number,
    readonly fromSlot: number,
    readonly from: Address | undefined,
    readonly message: Message | undefined,
    readonly call: (() => void) | undefined,
  ) {}
}

export interface SimCell {
  readonly index: number;
  readonly address: Address;
  readonly node: SimNode;
  actor: Actor | undefined;
  readonly timers: PendingTimers;
  nextTimerId: number;
}

/**
 * An actor's pending timers by id (a timer event carries its id in `fromSlot`). Actors keep one or two,
 * so a small array searched by id does: a Map rebuilt its table as ids came and went (every tick sets
 * one and fires one), and each table rebuilt was kept long enough to be promoted by the young-generation
 * collector (6% of what a 5-node run promoted, sampled). Nothing iterates it, so its order is free.
 */
export class PendingTimers {
  private readonly events: SimEvent[] = [];

  get size(): number {
    return this.events.length;
  }

  get(id: TimerId): SimEvent | undefined {
    const events = this.events;
    for (let i = events.length - 1; i >= 0; i--) if (events[i]!.fromSlot === id) return events[i];
    return undefined;
  }

  /** Adds the timer, or puts `event` in the place of the one with its id. */
  set(event: SimEvent): void {
    const events = this.events;
    for (let i = events.length - 1; i >= 0; i--) {
      if (events[i]!.fromSlot !== event.fromSlot) continue;
      events[i] = event;
      return;
    }
    events.push(event);
  }

  delete(id: TimerId): void {
    const events = this.events;
    for (let i = events.length - 1; i >= 0; i--) {
      if (events[i]!.fromSlot !== id) continue;
      events[i] = events[events.length - 1]!;
      events.pop();
      return;
    }
  }

  clear(): void {
    this.events.length = 0;
  }
}

export interface SimNode {
  readonly name: string;
  /** The node's number on the simulated network (SimNetwork.nodeNumber). */
  readonly netNumber: number;
  readonly spec: NodeSpec;
  readonly cells: Map<string, SimCell>;
  readonly ledger: MailboxLedger;
  /** Last scheduled delivery time per local link (fromSlot × actors + toIndex), for FIFO. */
  readonly lastLocalMs: Float64Array;
  incarnation: number;
  up: boolean;
  clockOffsetMs: number;
  /** How fast this node's clock runs against virtual time (1: exact; 1.001: 0.1% fast). */
  clockRate: number;
  paused: boolean;
  /** Events that came due while the node was paused, in order. */
  held: SimEvent[];
  /** Each actor's stable storage: it outlives crashes (minus what was not synced). */
  readonly journals: Map<string, SimJournal>;
  /** The node crashes inside its next journal sync (a crash mid-write: what that sync covered may be lost or torn). */
  crashAtSync: boolean;
}

