/**
 * The simulator's side of its actors' journals: one SimJournal per actor, made on first use and kept
 * across its node's crashes; whether a run's journals offer syncThen (a background sync, as FileJournal
 * does on the thread and inline hosts) or only `sync`; and the counts over every journal of a run.
 *
 * Invariants: the choice is a pure function of the seed, on a stream of its own (so it changes no other
 * draw of the run); a background sync completes through the simulator's event queue, and its message
 * reaches the actor as a timer's does (held while the node is paused, dropped if it crashed meanwhile);
 * an armed crash that lands inside a background sync strikes only the incarnation that was armed.
 */
import type { Message } from '../src/runtime/actor.js';
import { simArmedCrashAtRewriteChance, simBackgroundSyncChance, simPowerLossChance, simPowerLossOutageMs, simPowerLossSpreadMs } from './limits.js';
import { Rng } from './rng.js';
import { SimJournal } from './sim-journal.js';
import type { SimNode } from './sim-state.js';
import type { Simulation } from './simulation.js';

/** Whether the seed's journals offer syncThen (about half the seeds: simBackgroundSyncChance). */
export function drawBackgroundSync(seed: number): boolean {
  return new Rng(seed ^ 0x5f5c7e4).chance(simBackgroundSyncChance);
}

/**
 * A journal for `actor` of `node`. `deliver` (a background-sync run) hands a completed sync's message to
 * the actor; absent, the journal offers only `sync`.
 */
export function newSimJournal(sim: Simulation, node: SimNode, deliver: ((message: Message) => void) | undefined): SimJournal {
  return new SimJournal((write) => node.crashAtSync && (write === 'rewrite' || !rewriteOnly.has(node)), {
    rng: sim.rng,
    nowMs: () => sim.nowMs,
    after: (delayMs, call) => sim.at(delayMs, call),
    crashIn: (delayMs) => {
      const armed = node.incarnation;
      sim.at(delayMs, () => {
        if (node.incarnation === armed && node.crashAtSync) sim.crash(node.name);
      });
    },
    diskStalled: () => stalled.has(node),
    deliver,
  });
}

/** Nodes whose armed crash waits for a rewrite (compaction), not the next sync. */
const rewriteOnly = new WeakSet<SimNode>();

/**
 * Arms `node` to crash inside its next journal write (sync, syncThen or rewrite), or `withinMs` from now
 * if none comes. Some arms (simArmedCrashAtRewriteChance) wait for a rewrite alone: syncs come every few
 * milliseconds and rewrites every few hundred, so without them compaction would hardly ever be crashed.
 */
export function armCrash(sim: Simulation, node: SimNode, withinMs: number, nodes: Iterable<SimNode>): void {
  if (!node.up) return;
  node.crashAtSync = true;
  if (sim.rng.chance(simArmedCrashAtRewriteChance)) rewriteOnly.add(node);
  else rewriteOnly.delete(node);
  const incarnation = node.incarnation;
  sim.at(withinMs, () => {
    if (node.incarnation === incarnation && node.crashAtSync) sim.crash(node.name);
  });
  if (sim.backgroundSync && sim.rng.chance(simPowerLossChance)) powerLoss(sim, node, [...nodes]);
}

/** Nodes a power loss took down, at the incarnation it left them: each comes back after its outage unless crashed again meanwhile. */
const poweredOff = new WeakMap<SimNode, number>();
/** Nodes whose disk stalls until they go down (a power loss coming): their background syncs are slow ones. */
const stalled = new WeakSet<SimNode>();

/**
 * A power loss (background-sync seeds, simPowerLossChance): with the armed node, enough others to make a quorum of the nodes
 * (or all of them, half the time) go down within simPowerLossSpreadMs, losing what their background
 * syncs had not made durable, and come back after an outage of their own. Their disks stall first (every
 * sync they start until then is a slow one), so that anything answered before its sync completed has time
 * to reach a client before the power goes. One node crashing at a time
 * never shows an acknowledgement sent before its sync completed (the others keep the data); a quorum
 * crashing together does. Node counts, not qranks: a near-quorum is as telling.
 */
function powerLoss(sim: Simulation, armed: SimNode, nodes: readonly SimNode[]): void {
  const others = nodes.filter((n) => n !== armed && n.up);
  const count = sim.rng.chance(0.5) ? others.length : Math.floor(nodes.length / 2);
  stalled.add(armed);
  for (let i = 0; i < count && others.length > 0; i++) {
    const node = others.splice(sim.rng.int(others.length), 1)[0]!;
    const incarnation = node.incarnation;
    stalled.add(node);
    const downMs = sim.rng.between(0, simPowerLossSpreadMs);
    sim.at(downMs, () => {
      if (node.incarnation !== incarnation || !node.up) return;
      sim.crash(node.name);
      poweredOff.set(node, node.incarnation);
    });
    sim.at(downMs + sim.rng.between(simPowerLossOutageMs[0], simPowerLossOutageMs[1]), () => {
      if (poweredOff.get(node) === node.incarnation && !node.up) sim.restart(node.name);
    });
  }
}

/** A crash is asked for `node` (Simulation.crash): whoever asks owns its restart, not a power loss before. */
export function crashAsked(node: SimNode): void {
  poweredOff.delete(node);
  stalled.delete(node);
}

/** Journal records torn by crashes mid-write, torn frames cut off on reopening, and where armed crashes struck, over every node. */
export function journalCounts(nodes: Iterable<SimNode>): { made: number; cut: number; inBackgroundSync: number; inRewrite: number } {
  const counts = { made: 0, cut: 0, inBackgroundSync: 0, inRewrite: 0 };
  for (const node of nodes) {
    for (const journal of node.journals.values()) {
      counts.made += journal.torn.made;
      counts.cut += journal.torn.cut;
      counts.inBackgroundSync += journal.crashes.inBackgroundSync;
      counts.inRewrite += journal.crashes.inRewrite;
    }
  }
  return counts;
}
