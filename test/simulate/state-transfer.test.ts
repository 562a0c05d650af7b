/**
 * Catch-up through the real node actors on the simulator (Raft §7): a node that was cut off while the
 * others committed more than `transLogLength` entries gets the leader's state image in chunks of
 * `syncMsgObjects` rows, then the log suffix; one cut off briefly is fed from the log. Either way it ends
 * with the same content as the others and reports `synced`.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { SchemaDef } from '../../src/store/schema.js';

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

/** Lets the cluster start and elect a leader. */
function settle(cluster: SimCluster): void {
  cluster.sim.runFor(500);
  expect(cluster.nodes.filter((n) => cluster.isReady(n))).toEqual(cluster.nodes);
}

describe('a lagging node catches up', () => {
  it('by state transfer when the log no longer reaches back, then from the log', () => {
    const cluster = new SimCluster({ seed: 7, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 10, syncMsgObjects: 3 });
    settle(cluster);
    cluster.sim.network.partition([['a', 'b'], ['c']]);
    const written = writeMany(cluster, 'a', 0, 60);
    cluster.sim.runFor(500);
    expect(written.ok).toBe(60);
    const hashA = cluster.stores.get('a')!.contentHash();
    expect(cluster.stores.get('c')!.contentHash()).not.toBe(hashA);
    cluster.sim.network.heal();
    cluster.sim.runFor(2_000);
    expect(cluster.stores.get('c')!.contentHash()).toBe(hashA);
    expect(cluster.synced.filter((s) => s.node === 'c').map((s) => s.via)).toEqual(['image']);
    // 40 rows in chunks of at most 3: it took many messages, and the cluster kept committing meanwhile.
    const more = writeMany(cluster, 'c', 100, 5);
    cluster.sim.runFor(500);
    expect(more.ok).toBe(5);
    expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
  });

  it('from the log when it lags by fewer entries than transLogLength', () => {
    const cluster = new SimCluster({ seed: 8, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 1000 });
    settle(cluster);
    cluster.sim.network.partition([['a', 'b'], ['c']]);
    expect(writeMany(cluster, 'b', 0, 20).ok).toBeGreaterThan(0);
    cluster.sim.runFor(500);
    cluster.sim.network.heal();
    cluster.sim.runFor(2_000);
    expect(cluster.stores.get('c')!.contentHash()).toBe(cluster.stores.get('a')!.contentHash());
    expect(cluster.synced.filter((s) => s.node === 'c').map((s) => s.via)).toEqual(['log']);
  });

  it('after a crash, from its journal’s image and then the leader', () => {
    const cluster = new SimCluster({ seed: 9, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 8, syncMsgObjects: 5 });
    settle(cluster);
    const before = writeMany(cluster, 'a', 0, 30);
    cluster.sim.runFor(500);
    expect(before.ok).toBe(30);
    cluster.crash('b');
    const during = writeMany(cluster, 'a', 30, 30);
    cluster.sim.runFor(500);
    expect(during.ok).toBe(30);
    cluster.restart('b');
    cluster.sim.runFor(2_000);
    expect(cluster.isReady('b')).toBe(true);
    expect(new Set(cluster.nodes.map((n) => cluster.stores.get(n)!.contentHash())).size).toBe(1);
  });
});
