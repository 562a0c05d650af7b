/**
 * The per-index state digests on a whole simulated cluster (simulate/checkers/state-digests.ts): a state
 * image installed without one of its rows, or an apply that one node skipped, is reported with the node,
 * the log index and the seed — even when a later state transfer heals the node's tables, so that the end-state
 * comparison (convergenceProblem) sees nothing. The damage is done by wrapping the node's own image
 * loader (ImageRestorer) and applyCommitted, once, on one node.
 */
import { describe, expect, it, vi } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import { convergenceProblem } from '../../simulate/workload.js';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';

/** What the wrapped node functions should damage next (each once, then they behave again). */
const damage: { dropRowOn: string | undefined; skipApplyOn: { node: string; index: number } | undefined } = { dropRowOn: undefined, skipApplyOn: undefined };

vi.mock('../../src/node/image-slices.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/node/image-slices.js')>();
  class DamagingRestorer extends original.ImageRestorer {
    override load(store: Store, source: string, frames: readonly Uint8Array[], done: (error: unknown) => void, replay: Parameters<typeof original.ImageRestorer.prototype.load>[4]): void {
      super.load(store, source, frames, (error) => {
        const self = / on (\S+)$/.exec(source)?.[1];
        if (error === undefined && self !== undefined && damage.dropRowOn === self) {
          damage.dropRowOn = undefined;
          dropOneRow(store);
        }
        done(error);
      }, replay);
    }
  }
  return { ...original, ImageRestorer: DamagingRestorer };
});

vi.mock('../../src/node/node-spec.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/node/node-spec.js')>();
  return {
    ...original,
    applyCommitted: (store: Store, self: string, entries: Parameters<typeof original.applyCommitted>[2], ...rest: [number, Parameters<typeof original.applyCommitted>[4], Parameters<typeof original.applyCommitted>[5]]) => {
      const skip = damage.skipApplyOn?.node === self && entries.from <= damage.skipApplyOn.index && damage.skipApplyOn.index <= entries.last;
      const before = skip ? [...store.snapshot()] : undefined;
      const result = original.applyCommitted(store, self, entries, ...rest);
      if (before !== undefined) {
        damage.skipApplyOn = undefined;
        store.restoreSync(before); // the batch's changes are lost; the node goes on from here
      }
      return result;
    },
  };
});

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };

/** Replaces the tables with the same rows but the first, at the same version (as an image that lost a row would leave them). */
function dropOneRow(store: Store): void {
  const rows = store.read((tx) => tx.scan('kv'));
  expect(rows.length).toBeGreaterThan(1);
  const copy = Store.open(schema);
  copy.commit((tx) => rows.slice(1).forEach((row) => void tx.upsert('kv', row)));
  while (copy.version < store.version) copy.commit((tx) => void tx.upsert('kv', rows[1]!));
  store.restoreSync(copy.snapshot());
}

function writeMany(cluster: SimCluster, node: string, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    cluster.transact(node, (tx) => tx.upsert('kv', { k: i % 40, v: `v${i}` }), () => {});
    cluster.sim.runFor(2);
  }
}

/** A 3-node cluster, settled; returns it with [leader, follower, follower]. */
function settled(seed: number): { cluster: SimCluster; leader: string; other: string; lagging: string } {
  const cluster = new SimCluster({ seed, nodes: [{ addr: 'a' }, { addr: 'b' }, { addr: 'c' }], schema, transLogLength: 10, syncMsgObjects: 3 });
  cluster.sim.runFor(500);
  const leader = cluster.leader()!;
  const [other, lagging] = cluster.nodes.filter((n) => n !== leader) as [string, string];
  return { cluster, leader, other, lagging };
}

/**
 * Cuts `node` off while `writer` commits more than the log keeps, then heals: it catches up by a fresh
 * state image, which replaces its tables whole; the end-state comparison then finds them converged.
 */
function healByStateTransfer(cluster: SimCluster, node: string, writer: string): void {
  cluster.sim.network.partition([cluster.nodes.filter((n) => n !== node), [node]]);
  const images = cluster.synced.filter((s) => s.node === node && s.via === 'image').length;
  writeMany(cluster, writer, 1000, 60);
  cluster.sim.network.heal();
  cluster.sim.runFor(2_000);
  expect(cluster.synced.filter((s) => s.node === node && s.via === 'image').length).toBe(images + 1);
  expect(convergenceProblem(cluster)).toEqual([]); // the end state cannot tell
}

describe('state digests at the same log index', () => {
  it('report an image installed without one of its rows, even after a later state transfer heals the node', () => {
    const { cluster, leader, other, lagging } = settled(7);
    cluster.sim.network.partition([[leader, other], [lagging]]);
    writeMany(cluster, other, 0, 60);
    cluster.sim.runFor(500);
    damage.dropRowOn = lagging;
    cluster.sim.network.heal();
    cluster.sim.runFor(2_000);
    expect(damage.dropRowOn).toBeUndefined(); // it did install an image
    const installed = cluster.synced.find((s) => s.node === lagging && s.via === 'image');
    expect(installed).toBeDefined();
    healByStateTransfer(cluster, lagging, other);
    const [problem, ...rest] = cluster.digests.problems();
    expect(rest).toEqual([]);
    expect(problem).toMatch(new RegExp(`^nodes held different tables at the same log index: seed 7: ${lagging}'s tables at log index \\d+ \\(image installed, at [\\d.]+ ms\\) are version \\d+ digest [0-9a-f]{8}, but (${leader}|${other})'s at that index`));
  });

  it('report an apply that one node skipped, even once a later state transfer healed the node', () => {
    const { cluster, leader, other } = settled(8);
    writeMany(cluster, leader, 0, 20);
    cluster.sim.runFor(200);
    damage.skipApplyOn = { node: other, index: 30 };
    writeMany(cluster, leader, 20, 80); // overwrites every key (k = i % 40) again
    cluster.sim.runFor(200);
    expect(damage.skipApplyOn).toBeUndefined(); // it did skip
    healByStateTransfer(cluster, other, leader);
    const [problem] = cluster.digests.problems();
    expect(problem).toMatch(new RegExp(`seed 8: ${other}'s tables at log index 3\\d \\(applied, at [\\d.]+ ms\\) are version \\d+ digest [0-9a-f]{8}, but ${leader}'s at that index \\(applied`));
  });

  it('stay quiet when nothing is damaged, through state transfers and restarts', () => {
    const { cluster, other, lagging } = settled(9);
    writeMany(cluster, other, 0, 30);
    healByStateTransfer(cluster, lagging, other);
    cluster.crash(lagging); // it comes back from its journal: its own image, then the log
    cluster.sim.runFor(50);
    cluster.restart(lagging);
    writeMany(cluster, lagging, 100, 20);
    cluster.sim.runFor(1_000);
    expect(convergenceProblem(cluster)).toEqual([]);
    expect(cluster.digests.compared).toBeGreaterThan(100); // nodes met at many indexes
    expect(cluster.digests.problems()).toEqual([]);
  });
});
