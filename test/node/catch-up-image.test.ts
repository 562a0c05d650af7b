/**
 * A node caught up by a state image (Raft §7), as the application sees it. `synced` used to fire as soon
 * as the image was loaded when an image chunk was the first word from the leader after losing touch:
 * chunks did not carry the leader's commit index, so the node took the image's index for its target
 * and reported itself caught up while it still lacked what the leader had committed since (found in
 * review). And an image loaded did not count as applied, so a cluster-wide stop right after a node
 * loaded one (from the leader, or its own journal on reopening) waited for an index the node already held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const addrs = ['m1', 'm2', 'm3'];
let nodes: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
  nodes = [];
});

/** Three nodes, the log in memory, compacted every 10 transactions; one cut off while the leader writes 80. */
async function cutOffWhileWriting(network: InProcessNetwork): Promise<{ leader: ClusterNode; away: ClusterNode }> {
  nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, host: 'inline', network, transLogLength: 10, syncMsgObjects: 4, stopTimeoutMs: 3_000 })));
  await until('a leader every node knows', () => nodes.some((n) => n.info().role === 'leader' && nodes.every((m) => m.info().leader === n.nodeId)));
  const leader = nodes.find((n) => n.info().role === 'leader')!;
  const away = nodes.find((n) => n !== leader)!;
  for (const other of nodes) if (other !== away) network.cut(away.nodeId, other.nodeId);
  for (let i = 0; i < 80; i++) await leader.write((tx) => void tx.upsert('kv', { k: `k${i % 7}`, v: i }));
  return { leader, away };
}

describe('a node caught up by a state image (inline host, log in memory)', () => {
  it('reports synced only once it holds every write acknowledged before it came back', async () => {
    const network = new InProcessNetwork();
    const { away } = await cutOffWhileWriting(network);
    const seen = new Promise<{ via: string; k6: unknown }>((resolve) => away.on('synced', ({ via }) => resolve({ via, k6: away.read((tx) => tx.get('kv', 'k6')?.['v']) })));
    network.heal();
    expect(await seen).toEqual({ via: 'image', k6: 76 }); // k6 was last written as 76, acknowledged before the heal
  });

  it('a cluster-wide stop right after a node loaded its image resolves on every node (the image counts as applied)', async () => {
    // A node with a data directory images its tables every transLogLength transactions; with 1, its last
    // image is of everything it applied. Reopened, it loads that image and applies nothing after it.
    const dataDir = mkdtempSync(join(tmpdir(), 'chorus-image-'));
    try {
      const network = new InProcessNetwork();
      const open = (nodeId: number) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, host: 'inline', network, dataDir: join(dataDir, `${nodeId}`), transLogLength: 1, stopTimeoutMs: 3_000 });
      nodes = await Promise.all(addrs.map((_, nodeId) => open(nodeId)));
      await until('a leader every node knows', () => nodes.some((n) => n.info().role === 'leader' && nodes.every((m) => m.info().leader === n.nodeId)));
      const leader = nodes.find((n) => n.info().role === 'leader')!;
      for (let i = 0; i < 5; i++) await leader.write((tx) => void tx.upsert('kv', { k: `k${i}`, v: i }));
      const at = nodes.findIndex((n) => n !== leader);
      await until('the follower holds every write', () => nodes[at]!.contentHash() === leader.contentHash());
      await new Promise((r) => setTimeout(r, 200)); // its last image taken and journaled
      await nodes[at]!.stop({ scope: 'local' });
      nodes[at] = await open(at);
      expect(nodes[at]!.contentHash()).toBe(leader.contentHash());
      const outcomes = await Promise.all(nodes.map((n) => n.stop().then(() => 'stopped', (error: Error) => error.message)));
      expect(outcomes).toEqual(['stopped', 'stopped', 'stopped']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
