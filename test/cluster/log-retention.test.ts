/**
 * How much log a node keeps behind its state image is counted in transactions (`transLogLength`) and in
 * bytes (`transLogSize`), whichever is reached first, not in log entries: a window batch is one entry
 * holding many transactions, so a bound in entries let the log hold the window's length times more
 * (up to millions of writes, gigabytes of heap, under sustained windowed load).
 *
 * What a user notices: a node cut off while the others wrote more than the retention catches up by a
 * state transfer (its `synced` event says 'image'), because the log no longer reaches back that far,
 * and ends with the same content as the others.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import type { NodeParams } from '../../src/node/params.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };
const addrs = ['r1', 'r2', 'r3'];
let nodes: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
  nodes = [];
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cluster(host: 'inline' | 'thread', extra: Partial<NodeParams>): Promise<{ network: InProcessNetwork; leader: ClusterNode; away: ClusterNode }> {
  const network = new InProcessNetwork();
  nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, host, network, ...extra })));
  let leader: ClusterNode | undefined;
  for (let i = 0; i < 500 && leader === undefined; i++) {
    leader = nodes.find((n) => n.info().role === 'leader' && nodes.every((m) => m.info().leader === n.nodeId && m.info().hasQuorum));
    if (leader === undefined) await sleep(10);
  }
  expect(leader).toBeDefined();
  return { network, leader: leader!, away: nodes.find((n) => n !== leader)! };
}

/** Cuts `away` off, runs `write` on the leader, heals, and returns how `away` caught up. */
async function catchUpAfter(c: { network: InProcessNetwork; leader: ClusterNode; away: ClusterNode }, write: () => Promise<void>): Promise<string> {
  for (const other of nodes) if (other !== c.away) c.network.cut(c.away.nodeId, other.nodeId);
  await write();
  const synced = new Promise<{ via: string }>((resolve) => c.away.on('synced', resolve));
  c.network.heal();
  const outcome = await Promise.race([synced, sleep(20_000).then(() => ({ via: 'not synced within 20 s' }))]);
  for (let i = 0; i < 500 && new Set(nodes.map((n) => n.contentHash())).size > 1; i++) await sleep(10);
  expect(new Set(nodes.map((n) => n.contentHash())).size).toBe(1);
  return outcome.via;
}

describe.each(['inline', 'thread'] as const)('the retained log, %s host', (host) => {
  it('counts the transactions of a window batch, not its one entry', async () => {
    // 1,600 transactions in batches of up to 32: some 50-100 entries, far fewer than transLogLength (200)
    // — counted by entry, the whole run stayed in the log and the node caught up from it.
    const c = await cluster(host, { transLogLength: 200, window: { length: 32, bsize: 0, timeoutMs: 5 } });
    const via = await catchUpAfter(c, async () => {
      await Promise.all(Array.from({ length: 32 }, async (_, w) => {
        for (let i = 0; i < 50; i++) await c.leader.write((tx) => void tx.upsert('kv', { k: `w${w}`, v: `${i}` }));
      }));
    });
    expect(via).toBe('image');
    expect(c.away.read((tx) => tx.get('kv', 'w7')?.['v'])).toBe('49');
  }, 60_000);

  it('keeps no more than transLogSize bytes of large rows', async () => {
    // 120 rows of 2 KB, one transaction each: ~240 KB of entries, well within transLogLength (default
    // 100,000 transactions) but past twice transLogSize (32 KiB).
    const c = await cluster(host, { transLogSize: 32 * 1024 });
    const via = await catchUpAfter(c, async () => {
      for (let i = 0; i < 120; i++) await c.leader.write((tx) => void tx.upsert('kv', { k: `big${i % 10}`, v: `${i}`.padEnd(2000, '.') }));
    });
    expect(via).toBe('image');
    expect(c.away.read((tx) => tx.get('kv', 'big9')?.['v'])).toBe('119'.padEnd(2000, '.'));
  }, 60_000);

  it('still feeds a node from the log when it lags by less than the retention', async () => {
    const c = await cluster(host, { transLogLength: 10_000, window: { length: 32, bsize: 0, timeoutMs: 5 } });
    const via = await catchUpAfter(c, async () => {
      await Promise.all(Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; i < 20; i++) await c.leader.write((tx) => void tx.upsert('kv', { k: `w${w}`, v: `${i}` }));
      }));
    });
    expect(via).toBe('log');
  }, 60_000);
});

describe('transLogSize', () => {
  it('is refused at open unless a positive integer, naming the parameter', async () => {
    await expect(openNode({ nodeId: 0, nodes: [{ addr: 'solo' }], schema, network: new InProcessNetwork(), transLogSize: 0 })).rejects.toThrow(/transLogSize/);
  });
});
