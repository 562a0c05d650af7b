/**
 * Compaction crashed in the simulator: a cluster compacting every few entries while its nodes crash
 * mid-write (some of those crashes wait for a journal rewrite, and strike before or after its records
 * replace the old ones). Whichever journal a node comes back with, no acknowledged write is lost, the
 * nodes agree at every log index, and they end with the same data.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };

/** Writes `count` keys, one every 2 ms on whichever node is ready, crashing a node mid-write every 100 ms; returns the keys acknowledged. */
function run(seed: number): { cluster: SimCluster; acknowledged: number[] } {
  const nodes = ['a', 'b', 'c'];
  const cluster = new SimCluster({ seed, nodes: nodes.map((addr) => ({ addr })), schema, transLogLength: 8, clusterRecvBuf: 1 << 27 });
  cluster.sim.on('crashed', (node) => cluster.sim.at(30, () => cluster.restart(node)));
  cluster.sim.runFor(500);
  const acknowledged: number[] = [];
  for (let k = 0; k < 600; k++) {
    const node = nodes.find((n) => cluster.isReady(n));
    if (node !== undefined) cluster.transact(node, (tx) => tx.upsert('kv', { k, v: `v${k}` }), (outcome) => outcome.kind === 'ok' && acknowledged.push(k));
    if (k % 50 === 0) cluster.crashMidWrite(nodes[(k / 50) % 3]!, 300);
    cluster.sim.runFor(2);
  }
  for (const node of nodes) cluster.restart(node);
  cluster.sim.runFor(3_000);
  return { cluster, acknowledged };
}

describe('compaction under crashes mid-write', () => {
  it('loses no acknowledged write and ends with every node agreeing, whichever journal a crashed rewrite left', () => {
    let crashedRewrites = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const { cluster, acknowledged } = run(seed);
      crashedRewrites += cluster.sim.journalTears().inRewrite;
      expect(cluster.commits.problems()).toEqual([]);
      expect(acknowledged.length).toBeGreaterThan(20); // not vacuous (power losses take a quorum down for a while)
      for (const node of cluster.nodes) {
        const missing = cluster.stores.get(node)!.read((tx) => acknowledged.filter((k) => tx.get('kv', k) === undefined));
        expect(missing, `${node} (seed ${seed}) misses acknowledged keys`).toEqual([]);
      }
      expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
    }
    expect(crashedRewrites).toBeGreaterThan(3);
  });
});
