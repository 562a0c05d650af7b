/**
 * The liveness probe that closes every workload run's liveness phase: with the faults off and a quorum
 * back, a write through each live data node must commit within simLivenessProbeMsMax of simulated time.
 * The checkers see that the cluster converged; this sees that it still takes writes. A cluster that heals
 * into a state where nothing commits (a leader that never comes, a node whose writes never settle) keeps
 * converged tables and passes every safety check: only this fails it.
 *
 * The probe writes its own table (one row per node), which every workload's schema gets beside its own
 * (`withLivenessTable`), so that no workload's checker sees it.
 *
 * Invariants: the probe retries a refused or timed-out write until its deadline (a write may fail NO_QUORUM
 * while an election settles) and never past it; it probes only data nodes that are up, recovered and
 * attached (the others are reported by convergenceProblem).
 */
import type { SchemaDef, TableDef } from '../src/store/schema.js';
import type { Outcome, SimCluster } from './cluster.js';
import { simLivenessProbeMsMax, simTickMs } from './limits.js';

export const livenessTable: TableDef = { name: 'liveness_probe', fields: [{ name: 'node', type: 'string' }, { name: 'n', type: 'int32' }], primaryKey: ['node'] };

/** A workload's schema with the probe's table beside its own. */
export function withLivenessTable(schema: SchemaDef): SchemaDef {
  return { ...schema, tables: [...schema.tables, livenessTable] };
}

export interface LivenessVerdict {
  /** Simulated milliseconds each probed node took to commit its write (absent: it did not within the bound). */
  readonly commitMs: ReadonlyMap<string, number>;
  readonly problems: readonly string[];
}

/** Writes through each live data node and runs the simulation until every write committed, or simLivenessProbeMsMax passed. */
export function probeLiveness(cluster: SimCluster): LivenessVerdict {
  const { sim } = cluster;
  const startMs = sim.nowMs;
  const deadlineMs = startMs + simLivenessProbeMsMax;
  const probed = cluster.dataNodes.filter((node) => cluster.isReady(node) && cluster.membership(node) === 'attached');
  const commitMs = new Map<string, number>();
  const lastOutcome = new Map<string, string>(probed.map((node) => [node, 'none yet']));
  const attempts = new Map<string, number>();
  const attempt = (node: string) => {
    const n = (attempts.get(node) ?? 0) + 1;
    attempts.set(node, n);
    cluster.transact(node, (tx) => void tx.upsert(livenessTable.name, { node, n }), (outcome: Outcome) => {
      if (outcome.kind === 'ok') return void commitMs.set(node, sim.nowMs - startMs);
      lastOutcome.set(node, outcome.kind === 'fail' ? `fail ${outcome.code}` : 'info (timed out, or its node crashed)');
      if (sim.nowMs + simTickMs < deadlineMs) sim.at(simTickMs, () => attempt(node));
    });
  };
  for (const node of probed) attempt(node);
  sim.runUntil(() => commitMs.size === probed.length, simLivenessProbeMsMax);
  const stuck = probed.filter((node) => !commitMs.has(node));
  return {
    commitMs,
    problems: stuck.map((node) => `liveness: a write through ${node} did not commit within ${simLivenessProbeMsMax} ms after the liveness phase (${attempts.get(node)} attempts; last outcome: ${lastOutcome.get(node)})`),
  };
}
