/**
 * A write made while attach() is under way. attach() discards what was written while detached, but only
 * once the network is open; a write called in between ran its body on the standalone tables and went to
 * the cluster, carrying standalone data into every node (found in review). Such a write now waits until
 * the standalone writes are discarded, and then runs on the replicated state.
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

describe.each(['inline', 'thread'] as const)('a write during attach() (%s host)', (host) => {
  it('runs on the cluster’s data, never on the standalone writes attach discards', async () => {
    const network = new InProcessNetwork();
    const nodes = [1, 2, 3].map((i) => ({ addr: `n${i}` }));
    open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, nodes, schema, host, network })));
    await until('a leader', () => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader));
    const leader = open.find((n) => n.info().role === 'leader')!;
    const away = open.find((n) => n !== leader)!;
    await leader.write((tx) => void tx.upsert('kv', { k: 'secret', v: 1 }));
    await until('the node to hold it', () => get(away, 'secret') === 1);
    await away.detach();
    await away.write((tx) => void tx.upsert('kv', { k: 'secret', v: 666 })); // standalone: attach discards it
    const attached = away.attach();
    // A writer that keeps going while its node attaches: what it read must be the cluster's value.
    const write = away.write((tx) => void tx.upsert('kv', { k: 'derived', v: tx.get('kv', 'secret')?.['v'] as number }));
    await attached;
    await write;
    await until('every node to apply it', () => open.every((n) => get(n, 'derived') !== undefined));
    expect(open.map((n) => get(n, 'derived'))).toEqual([1, 1, 1]);
    expect(open.map((n) => get(n, 'secret'))).toEqual([1, 1, 1]);
  }, 30_000);
});
