/**
 * Overload as a writer sees it: past `clusterSendBuf` (this node's writes in flight) or the leader's
 * `clusterRecvBuf` (other nodes' writes it holds uncommitted), a write rejects at once with OVERLOADED
 * naming the bound, nothing of it is in the log, and every acknowledged write is on every node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { ChorusError } from '../../src/runtime/errors.js';
import type { NodeParams } from '../../src/node/params.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

async function cluster(extra: Partial<NodeParams>, host: 'inline' | 'thread' = 'inline') {
  const network = new InProcessNetwork();
  const nodes = ['n1', 'n2', 'n3'].map((addr) => ({ addr }));
  open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, nodes, schema, network, host, ...extra })));
  for (let i = 0; i < 300 && !open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader); i++) await new Promise((r) => setTimeout(r, 10));
  const leader = open.find((n) => n.info().role === 'leader')!;
  const follower = open.find((n) => n !== leader)!;
  return { leader, follower };
}

/** 64 writes of ~300 bytes at once from `node`: which keys were acknowledged, and the errors of the rest. */
async function burst(node: ClusterNode) {
  const keys = Array.from({ length: 64 }, (_, i) => `k${i}`);
  const results = await Promise.allSettled(keys.map((k) => node.write((tx) => void tx.upsert('kv', { k, v: 'x'.repeat(300) }))));
  const acked = keys.filter((_, i) => results[i]!.status === 'fulfilled');
  const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as ChorusError] : []));
  return { acked, errors };
}

async function expectEverywhere(keys: readonly string[]) {
  for (const node of open) {
    const held = await node.read((tx) => keys.filter((k) => tx.get('kv', k) !== undefined), { consistency: 'linearizable' });
    expect(held).toEqual(keys);
  }
}

describe.each(['inline', 'thread'] as const)('overload on the %s host', (host) => {
  it('a follower whose writes pass the leader’s clusterRecvBuf gets OVERLOADED for those; none of them is anywhere, and the rest are everywhere', async () => {
    // 400 bytes: one ~390-byte write held at a time, so any two that reach the leader before a commit
    // overlap (a busy machine spreads the burst out more on the thread host).
    const { follower } = await cluster({ clusterRecvBuf: 400 }, host);
    const { acked, errors } = await burst(follower);
    expect(acked.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.code).toBe('OVERLOADED');
      expect(e.message).toMatch(/clusterRecvBuf 400/);
    }
    await expectEverywhere(acked);
    const count = await open[0]!.read((tx) => tx.count('kv'), { consistency: 'linearizable' });
    expect(count).toBe(acked.length); // refused writes left nothing behind
    // Once the held writes committed, the same follower writes again.
    await expect(follower.write((tx) => void tx.upsert('kv', { k: 'after', v: 'y' }))).resolves.toBeDefined();
  });

  it('the same burst with the default bounds is taken whole', async () => {
    const { follower } = await cluster({}, host);
    const { acked, errors } = await burst(follower);
    expect(errors.map((e) => e.message)).toEqual([]);
    await expectEverywhere(acked);
  });

  it('writes past this node’s own clusterSendBuf get OVERLOADED at once, and the rest commit everywhere', async () => {
    const { leader } = await cluster({ clusterSendBuf: 2000 }, host);
    const { acked, errors } = await burst(leader);
    expect(acked.length).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.code).toBe('OVERLOADED');
      expect(e.message).toMatch(/clusterSendBuf 2000/);
    }
    await expectEverywhere(acked);
  });
});

describe('overload bounds at open', () => {
  it('refuses a bound that is not a positive integer, naming it', async () => {
    const network = new InProcessNetwork();
    const nodes = [{ addr: 'a' }];
    await expect(openNode({ nodeId: 0, nodes, schema, network, clusterRecvBuf: 0 })).rejects.toThrow(/clusterRecvBuf/);
    await expect(openNode({ nodeId: 0, nodes, schema, network, clusterSendBuf: -1 })).rejects.toThrow(/clusterSendBuf/);
  });
});
