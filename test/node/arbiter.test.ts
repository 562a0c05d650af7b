/**
 * Arbiters as an application sees them: two data nodes and an arbiter (db-minder's arbitrator, Galera's
 * garbd). The arbiter votes and keeps the log, so either data node can go down and the other keeps
 * committing; it holds no tables, so reads and writes on it fail with ARBITER.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { ChorusError } from '../../src/runtime/errors.js';
import { until } from './until.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
const nodesParam = [{ addr: 'd1' }, { addr: 'd2' }, { addr: 'arb', arbiter: true }];
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'resolved';
  } catch (error) {
    return (error as ChorusError).code;
  }
};

describe.each(['inline', 'thread'] as const)('an arbiter on the %s host', (host) => {
  it('keeps a quorum with either data node down, and refuses reads and writes itself', async () => {
    const network = new InProcessNetwork();
    // The arbiter's configuration needs no schema.
    const [d1, d2, arb] = (open = await Promise.all(nodesParam.map((_, nodeId) => openNode({ nodeId, nodes: nodesParam, host, network, ...(nodeId < 2 ? { schema } : {}) })))) as [ClusterNode, ClusterNode, ClusterNode];
    await until('a data node leads', () => [d1, d2].some((n) => n.info().role === 'leader') && arb.info().leader !== undefined, 500);
    expect(arb.info()).toMatchObject({ arbiter: true });
    expect(d1.info().peers.find((p) => p.nodeId === 'arb')).toMatchObject({ arbiter: true });

    await d1.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
    const leader = d1.info().role === 'leader' ? d1 : d2;
    const other = leader === d1 ? d2 : d1;
    await other.stop({ scope: 'local' }); // one data node gone: the leader and the arbiter are 2 of 3
    await leader.write((tx) => void tx.upsert('kv', { k: 'b', v: 2 }));
    expect(leader.read((tx) => tx.get('kv', 'b')?.['v'])).toBe(2);
    await until('the arbiter holds the commit in its log', () => arb.info().commitIndex >= leader.info().commitIndex, 500);

    expect(await codeOf(() => arb.read((tx) => tx.get('kv', 'a')))).toBe('ARBITER');
    expect(await codeOf(arb.write((tx) => void tx.upsert('kv', { k: 'c', v: 3 })))).toBe('ARBITER');
    expect(await codeOf(arb.read((tx) => tx.get('kv', 'a'), { consistency: 'linearizable' }))).toBe('ARBITER');
    expect(await codeOf(() => arb.contentHash())).toBe('ARBITER');
  });
});

describe('arbiter parameters', () => {
  it('refuses a cluster of arbiters only, and a data node without a schema', async () => {
    const network = new InProcessNetwork();
    await expect(openNode({ nodeId: 0, nodes: [{ addr: 'a', arbiter: true }], network })).rejects.toThrow(/at least one data node/);
    await expect(openNode({ nodeId: 0, nodes: nodesParam, network })).rejects.toThrow(/schema is required/);
    await expect(openNode({ nodeId: 2, nodes: [{ addr: 'd1' }, { addr: 'd2' }, { addr: 'arb', arbiter: 'yes' as unknown as boolean }], network })).rejects.toThrow(/nodes\[2\]\.arbiter must be a boolean/);
  });
});
