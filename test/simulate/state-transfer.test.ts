/**
 * Catch-up through the real node actors on the simulator (Raft §7): a node that was cut off while the
 * others committed more than `transLogLength` entries gets the leader's state image in chunks of
 * `syncMsgObjects` rows, then the log suffix; one cut off briefly is fed from the log. Either way it ends
 * with the same content as the others and reports `synced`.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { simBackgroundSlowSyncMs } from '../../simulate/limits.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };

function writeMany(cluster: SimCluster, node: string, from: number, count: number): { ok: number } {
  const result = { ok: 0 };
  for (let i = from; i < from + count; i++) {
    cluster.transact(node, (tx) => tx.upsert('kv', { k: i % 40, v: `v${i}` }), (outcome) => {
      if (outcome.kind === 'ok') result.ok++;
    });
    cluster.sim.runFor(2);
  }
  return result;
}

/** Lets the cluster start and elect a leader; returns [leader, follower, follower]. */
function settle(cluster: SimCluster): [string, string, string] {
  cluster.sim.runFor(500);
  expect(cluster.nodes.filter((n) => cluster.isReady(n))).toEqual(cluster.nodes);
  const leader = cluster.leader()!;
  const [f1, f2] = cluster.nodes.filter((n) => n !== leader) as [string, string];
  return [leader, f1, f2];
}

describe('a lagging node catches up', () => {
  it('by state transfer when the log no longer reaches back, then from the log', () => {
    // Seed 7 bounds other nodes' uncommitted writes to 512 bytes by default (refusals happen): not this test's subject.
    const cluster = new SimCluster({ seed: 7, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 10, syncMsgObjects: 3, clusterRecvBuf: 1 << 27 });
    const [leader, other, lagging] = settle(cluster);
    cluster.sim.network.partition([[leader, other], [lagging]]);
    const written = writeMany(cluster, other, 0, 60);
    cluster.sim.runFor(500);
    expect(written.ok).toBe(60);
    const hash = cluster.stores.get(leader)!.contentHash();
    expect(cluster.stores.get(lagging)!.contentHash()).not.toBe(hash);
    cluster.sim.network.heal();
    cluster.sim.runFor(2_000);
    expect(cluster.stores.get(lagging)!.contentHash()).toBe(hash);
    expect(cluster.synced.filter((s) => s.node === lagging).map((s) => s.via)).toEqual(['image']);
    // 40 rows in chunks of at most 3: it took many messages; the node writes again once caught up.
    const more = writeMany(cluster, lagging, 100, 5);
    cluster.sim.runFor(500);
    expect(more.ok).toBe(5);
    expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
  });

  it('by state transfer while the others keep writing: the image being sent stays until its transfer is done', () => {
    // 300 rows in chunks of one row: ~300 round trips, while an image falls due every 10 entries (20 ms
    // here). A new image used to restart the transfer, so the node caught up only once writes stopped.
    const cluster = new SimCluster({ seed: 10, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 10, syncMsgObjects: 1 });
    const [leader, other, lagging] = settle(cluster);
    for (let i = 0; i < 300; i++) cluster.transact(leader, (tx) => tx.upsert('kv', { k: 1000 + i, v: 'row' }), () => {});
    cluster.sim.runFor(500);
    cluster.sim.network.partition([[leader, other], [lagging]]);
    const before = writeMany(cluster, other, 0, 30);
    cluster.sim.runFor(2 * simBackgroundSlowSyncMs[1]); // the last ones commit (a seed's journals may sync in the background)
    expect(before.ok).toBeGreaterThan(20);
    cluster.sim.network.heal();
    const during = writeMany(cluster, other, 100, 2_000); // 4 s of steady writes
    expect(during.ok).toBeGreaterThan(1_500);
    expect(cluster.synced.filter((s) => s.node === lagging).map((s) => s.via)).toEqual(['image']); // caught up while they went on
    cluster.sim.runFor(1_000);
    expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
  });

  it('from the log when it lags by fewer entries than transLogLength', () => {
    const cluster = new SimCluster({ seed: 8, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 1000 });
    const [leader, other, lagging] = settle(cluster);
    cluster.sim.network.partition([[leader, other], [lagging]]);
    const written = writeMany(cluster, other, 0, 20);
    cluster.sim.runFor(500);
    expect(written.ok).toBe(20);
    cluster.sim.network.heal();
    cluster.sim.runFor(2_000);
    expect(cluster.stores.get(lagging)!.contentHash()).toBe(cluster.stores.get(leader)!.contentHash());
    expect(cluster.synced.filter((s) => s.node === lagging).map((s) => s.via)).toEqual(['log']);
  });

  it('after a crash, from its journal’s image and then the leader', () => {
    const cluster = new SimCluster({ seed: 9, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 8, syncMsgObjects: 5 });
    const [leader, crashing] = settle(cluster);
    const before = writeMany(cluster, leader, 0, 30);
    cluster.sim.runFor(500);
    expect(before.ok).toBe(30);
    cluster.crash(crashing);
    const during = writeMany(cluster, leader, 30, 30);
    cluster.sim.runFor(500);
    expect(during.ok).toBe(30);
    cluster.restart(crashing);
    cluster.sim.runFor(2_000);
    expect(cluster.isReady(crashing)).toBe(true);
    expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
  });
});
