/**
 * The liveness probe after every workload run's liveness phase (simulate/liveness.ts): a healed cluster
 * must commit a write through each live data node within simLivenessProbeMsMax, and a run where it does
 * not fails, naming the node.
 */
import { describe, expect, it } from 'vitest';
import { clusterFor, runRegisterWorkload } from '../../simulate/workload.js';
import type { WorkloadOptions } from '../../simulate/workload.js';
import { livenessTable, probeLiveness } from '../../simulate/liveness.js';
import { simLivenessProbeMsMax } from '../../simulate/limits.js';

const schema = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' as const }], primaryKey: ['k'] }] };

describe('the liveness probe', () => {
  it('commits a write through every live data node of a healthy cluster, each on every node', () => {
    const options: WorkloadOptions = { seed: 8, ranks: [1, 1, 1], faults: [], safetyMs: 300, arbiters: [2] };
    const cluster = clusterFor(options, schema);
    cluster.sim.runFor(300);
    const startMs = cluster.sim.nowMs;
    const verdict = probeLiveness(cluster);
    expect(verdict.problems).toEqual([]);
    expect([...verdict.commitMs.keys()].sort()).toEqual(['n0', 'n1']); // the arbiter has no tables to write
    for (const ms of verdict.commitMs.values()) expect(ms).toBeLessThan(50);
    expect(cluster.sim.nowMs - startMs).toBe(Math.max(...verdict.commitMs.values())); // it returns once they committed
    cluster.sim.runFor(50);
    for (const node of ['n0', 'n1']) {
      const rows = cluster.stores.get(node)!.read((tx) => [...tx.scan(livenessTable.name)].map((row) => row['node']));
      expect(rows.sort()).toEqual(['n0', 'n1']);
    }
  });

  it('names each node whose write does not commit within the bound, and stops at the bound', () => {
    const options: WorkloadOptions = { seed: 9, ranks: [1, 1, 1], faults: [], safetyMs: 300 };
    const cluster = clusterFor(options, schema);
    cluster.sim.runFor(300);
    cluster.keepDown('n1');
    cluster.keepDown('n2');
    const startMs = cluster.sim.nowMs;
    const verdict = probeLiveness(cluster);
    expect(cluster.sim.nowMs - startMs).toBeLessThanOrEqual(simLivenessProbeMsMax);
    expect(verdict.problems).toHaveLength(1);
    expect(verdict.problems[0]).toMatch(new RegExp(`^liveness: a write through n0 did not commit within ${simLivenessProbeMsMax} ms after the liveness phase \\(\\d+ attempts; last outcome: (fail NO_QUORUM|info .*)\\)$`));
  });

  it('tries again until the deadline: a write refused while the quorum is down commits once it is back', () => {
    const options: WorkloadOptions = { seed: 10, ranks: [1, 1, 1], faults: [], safetyMs: 300 };
    const cluster = clusterFor(options, schema);
    cluster.sim.runFor(300);
    cluster.crash('n1');
    cluster.crash('n2');
    cluster.sim.at(400, () => ['n1', 'n2'].forEach((node) => cluster.restart(node)));
    const verdict = probeLiveness(cluster);
    expect(verdict.problems).toEqual([]);
    expect(verdict.commitMs.get('n0')).toBeGreaterThan(400);
  });

  it('fails a run whose healed cluster never commits', () => {
    // No election within the run: every node stays a follower, so nothing the clients write commits.
    const stuck = runRegisterWorkload({ seed: 3, ranks: [1, 1, 1], faults: [], safetyMs: 500, tuning: { electionTicks: 100_000 } });
    expect(stuck.problems.filter((p) => p.startsWith('liveness: '))).toEqual(['n0', 'n1', 'n2'].map((n) => expect.stringContaining(`a write through ${n} did not commit`)));
    const healthy = runRegisterWorkload({ seed: 3, ranks: [1, 1, 1], faults: [], safetyMs: 500 });
    expect(healthy.problems).toEqual([]);
  });
});
