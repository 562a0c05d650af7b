/**
 * The simulator's disks (`Simulation.disks`): one SimJournal per actor, made on first use and kept across
 * its node's crashes; whether a run's journals offer syncThen (a background sync, as FileJournal does on
 * the thread and inline hosts) or only `sync`; crashes armed to strike inside a journal write; disks
 * that stall (every background sync slow) before a power loss; and the one place that decides what a
 * crash loses: `crashed`, with the journal's own rules (sim-journal.ts) for the unsynced tail.
 *
 * What a crash loses, by how it came:
 * - any crash: of the records appended since the journal's last completed sync, a random prefix survives
 *   and the first one lost may be torn (a power loss that drops unsynced tails: none survives, the first
 *   may still be torn); a background sync under way never completes;
 * - mid-write (an armed crash): inside the node's next `sync` (before what it covers is durable), inside
 *   the background sync its next syncThen request waits on (at a random moment before that sync
 *   completes), or inside its next rewrite (compaction; the old journal or the new one, whole).
 * Power losses are faults of the schedule (faults.ts): they stall the disks of the nodes they take, then
 * crash them (mid-write or not) and restart them; `endFaults` calms every disk (armed crashes disarmed,
 * stalls and drops forgotten), so that nothing of a power loss strikes in the liveness phase.
 *
 * Invariants: the background-sync choice is a pure function of the seed, on a stream of its own (so it
 * changes no other draw of the run); a background sync completes through the simulator's event queue,
 * and its message reaches the actor as a timer's does (held while the node is paused, dropped if it
 * crashed meanwhile); an armed crash strikes only the incarnation that was armed.
 */
import type { Message } from '../src/runtime/actor.js';
import { invalidArgument } from '../src/runtime/errors.js';
import { simArmedCrashAtRewriteChance, simBackgroundSlowSyncMs, simBackgroundSyncChance } from './limits.js';
import { Rng } from './rng.js';
import { SimJournal } from './sim-journal.js';
import type { SimNode } from './sim-state.js';
import type { Simulation } from './simulation.js';

/** Whether the seed's journals offer syncThen (about half the seeds: simBackgroundSyncChance). */
export function drawBackgroundSync(seed: number): boolean {
  return new Rng(seed ^ 0x5f5c7e4).chance(simBackgroundSyncChance);
}

/** How a crash went, over every node of a run (for tests and reports). */
export interface CrashCounts {
  /** Crashes of a running node. */
  crashes: number;
  /** Of them, crashes while a background sync was under way (it never completes). */
  midSync: number;
  /** Of them, crashes thrown out of a `sync` or a rewrite (sync-only journals, compaction). */
  midWrite: number;
  /** Of them, crashes that dropped every unsynced record (a power loss that drops tails). */
  tailsDropped: number;
}

export class SimDisks {
  /** Nodes whose armed crash waits for a rewrite (compaction), not the next sync. */
  private readonly rewriteOnly = new WeakSet<SimNode>();
  /** Nodes whose disk stalls until they go down: the range each background sync they start takes. */
  private readonly stalled = new WeakMap<SimNode, readonly [number, number]>();
  /** Nodes whose next crash drops every record not synced (a power loss: nothing of the page cache reaches the disk). */
  private readonly dropping = new WeakSet<SimNode>();
  readonly counts: CrashCounts = { crashes: 0, midSync: 0, midWrite: 0, tailsDropped: 0 };

  constructor(
    private readonly sim: Simulation,
    private readonly nodes: ReadonlyMap<string, SimNode>,
  ) {}

  /**
   * A journal for `actor` of `node`. `deliver` (a background-sync run) hands a completed sync's message to
   * the actor; absent, the journal offers only `sync`.
   */
  journalFor(node: SimNode, deliver: ((message: Message) => void) | undefined): SimJournal {
    const sim = this.sim;
    return new SimJournal((write) => node.crashAtSync && (write === 'rewrite' || !this.rewriteOnly.has(node)), {
      rng: sim.rng,
      nowMs: () => sim.nowMs,
      after: (delayMs, call) => sim.at(delayMs, call),
      crashIn: (delayMs) => {
        const armed = node.incarnation;
        sim.at(delayMs, () => {
          if (node.incarnation === armed && node.crashAtSync) sim.crash(node.name);
        });
      },
      stalledSyncMs: () => this.stalled.get(node),
      deliver,
    });
  }

  /**
   * Arms `node` to crash inside its next journal write (sync, syncThen or rewrite), or `withinMs` from now
   * if none comes. Some arms (simArmedCrashAtRewriteChance) wait for a rewrite alone: syncs come every few
   * milliseconds and rewrites every few hundred, so without them compaction would hardly ever be crashed.
   */
  armCrash(node: SimNode, withinMs: number): void {
    if (!node.up) return;
    node.crashAtSync = true;
    if (this.sim.rng.chance(simArmedCrashAtRewriteChance)) this.rewriteOnly.add(node);
    else this.rewriteOnly.delete(node);
    const incarnation = node.incarnation;
    this.sim.at(withinMs, () => {
      if (node.incarnation === incarnation && node.crashAtSync) this.sim.crash(node.name);
    });
  }

  /**
   * The node's disk stalls until it goes down (a power loss coming): every background sync it starts
   * takes `syncMs` (default: a slow sync's range), so that an answer given before its sync completed has
   * time to reach a client before the power goes.
   */
  stall(name: string, syncMs: readonly [number, number] = simBackgroundSlowSyncMs): void {
    const node = this.named(name);
    if (node.up) this.stalled.set(node, syncMs);
  }

  /** Whether the node's disk stalls now (a power loss coming). */
  isStalled(name: string): boolean {
    return this.stalled.has(this.named(name));
  }

  /** The node's next crash drops every record its journals had not synced (none of the unsynced tail survives). */
  dropUnsyncedAtCrash(name: string): void {
    const node = this.named(name);
    if (node.up) this.dropping.add(node);
  }

  /** The faults ended: no armed crash strikes any more, no disk stalls, no crash is bound to drop tails. */
  calm(): void {
    for (const node of this.nodes.values()) this.forget(node);
  }

  /** `node` crashed (Simulation.crash, while it was up): its journals lose what this crash loses. */
  crashed(node: SimNode): void {
    const drop = this.dropping.has(node);
    const journals = [...node.journals.values()];
    this.counts.crashes++;
    if (journals.some((journal) => journal.syncUnderWay)) this.counts.midSync++;
    if (drop) this.counts.tailsDropped++;
    for (const journal of journals) journal.crash(this.sim.rng, drop);
    this.forget(node);
  }

  /** A crash thrown out of a journal write (SimulatedCrash), counted before the node goes down. */
  crashedMidWrite(): void {
    this.counts.midWrite++;
  }

  /** Journal records torn by crashes mid-write, torn frames cut off on reopening, and where armed crashes struck, over every node. */
  journalCounts(): { made: number; cut: number; inBackgroundSync: number; inRewrite: number } {
    const counts = { made: 0, cut: 0, inBackgroundSync: 0, inRewrite: 0 };
    for (const node of this.nodes.values()) {
      for (const journal of node.journals.values()) {
        counts.made += journal.torn.made;
        counts.cut += journal.torn.cut;
        counts.inBackgroundSync += journal.crashes.inBackgroundSync;
        counts.inRewrite += journal.crashes.inRewrite;
      }
    }
    return counts;
  }

  private forget(node: SimNode): void {
    node.crashAtSync = false;
    this.stalled.delete(node);
    this.dropping.delete(node);
  }

  private named(name: string): SimNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw invalidArgument('Simulation.disks', `no node named ${JSON.stringify(name)}`);
    return node;
  }
}
