/**
 * A write called while attach() is under way is either replicated or fails, never kept on this node
 * alone. attach() used to discard the local writes, then await link.open() while the node was still
 * 'detached': a write made then applied to the local tables as a standalone write, was never discarded,
 * and the node caught up on top of it, diverging from the cluster for good.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
let open: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});
const get = (node: ClusterNode, k: string) => node.read((tx) => tx.get('kv', k)?.['v']);
const put = (node: ClusterNode, k: string, v: number) => node.write((tx) => void tx.upsert('kv', { k, v }));

describe.each(['inline', 'thread'] as const)('a write during attach() on the %s host', (host) => {
  it('is either replicated or discarded, never kept on this node alone', async () => {
    const network = new InProcessNetwork();
    const nodes = [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }];
    open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, nodes, schema, host, network })));
    await until('a leader everyone knows', () => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader));
    const [n1, n2, n3] = open as [ClusterNode, ClusterNode, ClusterNode];
    await put(n1, 'before', 1);
    await until('n3 has it', () => get(n3, 'before') === 1);
    await n3.detach();
    await put(n3, 'local', 3); // standalone write: attach must discard it
    const attached = n3.attach();
    const during = await put(n3, 'during', 7).then(() => 'ok', (e: Error & { code?: string }) => e.code); // called while attach() is under way
    await attached;
    await put(n1, 'after', 2);
    await until('everyone has after', () => open.every((n) => get(n, 'after') === 2));
    expect(get(n3, 'local')).toBeUndefined();
    // Acknowledged: on every node; failed: on none.
    expect(open.map((n) => get(n, 'during'))).toEqual(during === 'ok' ? [7, 7, 7] : [undefined, undefined, undefined]);
    await until('the same content everywhere', () => new Set(open.map((n) => n.contentHash())).size === 1);
    void n2;
  }, 30_000);
});
