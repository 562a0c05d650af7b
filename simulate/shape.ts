/**
 * A seed's cluster shape beyond its qranks: which node (if any) is an arbiter, and which nodes the
 * liveness phase leaves down (only a quorum is healed and restarted). Drawn from the seed on a stream of
 * its own, so that the fault schedule of a seed does not change with it; data, so that generated cases
 * can carry it and shrink it.
 *
 * Invariant (`nodesLeftDown`): the data nodes that stay up hold a qrank quorum of every membership the
 * run may be in at the end — the whole cluster without any subset of the nodes a `detach` fault touched
 * — otherwise the liveness requirement would not be one the cluster can meet. Data nodes, not arbiters:
 * an arbiter keeps what the data nodes lack only up to a bound (arbiterTransLogLengthsMax times
 * transLogLength) and cannot send a state image, so a quorum of an arbiter and data nodes further behind
 * than that cannot catch up while the data nodes that hold the latest entries are down (the cluster
 * stalls, unavailable but not unsafe, until one comes back); a run can leave a node that far behind.
 * With the data nodes up a quorum, one of them holds every committed entry.
 */
import type { TimedFault } from './faults.js';
import { Rng } from './rng.js';
import { simArbiterChance, simLivenessMinorityDownChance } from './limits.js';

export interface ClusterShape {
  /** Node numbers that are arbiters (vote, keep the log, hold no tables). */
  readonly arbiters: readonly number[];
  /** Candidates, in order, for staying down through the liveness phase (see nodesLeftDown). */
  readonly livenessDown: readonly number[];
}

/** The shape a seed draws for `nodes` nodes: an arbiter on some seeds (3 nodes or more), a minority left down on some. */
export function drawShape(seed: number, nodes: number): ClusterShape {
  const rng = new Rng(seed ^ 0xa4b17e5);
  const arbiterDrawn = rng.chance(simArbiterChance);
  const arbiter = rng.int(nodes);
  const downDrawn = rng.chance(simLivenessMinorityDownChance);
  const order = Array.from({ length: nodes }, (_, i) => i);
  for (let i = nodes - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return {
    arbiters: arbiterDrawn && nodes >= 3 ? [arbiter] : [],
    livenessDown: downDrawn ? order.slice(0, Math.floor((nodes - 1) / 2)) : [],
  };
}

/**
 * The candidates that may stay down, taken in order while the data nodes left up stay a qrank quorum of
 * every membership the run may end in (see the invariant above).
 */
export function nodesLeftDown(ranks: readonly number[], arbiters: readonly number[], candidates: readonly number[], faults: readonly TimedFault[]): number[] {
  const n = ranks.length;
  const detachable = [...new Set(faults.flatMap(({ fault }) => (fault.kind === 'detach' ? [fault.node % n] : [])))];
  const down: number[] = [];
  for (const candidate of candidates) {
    const trial = [...down, candidate % n];
    if (new Set(trial).size === trial.length && leavesQuorum(ranks, arbiters, trial, detachable)) down.push(candidate % n);
  }
  return down;
}

function leavesQuorum(ranks: readonly number[], arbiters: readonly number[], down: readonly number[], detachable: readonly number[]): boolean {
  const up = ranks.map((_, i) => i).filter((i) => !down.includes(i) && !arbiters.includes(i)); // data nodes up
  for (let subset = 0; subset < 1 << detachable.length; subset++) {
    const out = detachable.filter((_, b) => (subset & (1 << b)) !== 0);
    const members = ranks.map((_, i) => i).filter((i) => !out.includes(i));
    const total = members.reduce((sum, i) => sum + ranks[i]!, 0);
    const live = members.filter((i) => up.includes(i)).reduce((sum, i) => sum + ranks[i]!, 0);
    if (members.length > 0 && !(2 * live > total)) return false;
  }
  return true;
}
