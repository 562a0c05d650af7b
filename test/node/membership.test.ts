/**
 * detach / attach / startDetached as an application sees them (Raft §6 membership changes underneath):
 * a detached node is a standalone read/write database whose qrank has left the total; attach discards
 * what it wrote meanwhile and catches it up with the cluster.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import type { NodeParams } from '../../src/node/params.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function cluster(count: number, host: 'inline' | 'thread', extra: (i: number) => Partial<NodeParams> = () => ({})) {
  const network = new InProcessNetwork();
  const nodes = Array.from({ length: count }, (_, i) => ({ addr: `n${i + 1}` }));
  open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, nodes, schema, host, network, ...extra(nodeId) })));
  await until('a leader everyone knows', () => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader));
  return { network, nodes: open };
}

const get = (node: ClusterNode, k: string) => node.read((tx) => tx.get('kv', k)?.['v']);
const put = (node: ClusterNode, k: string, v: number) => node.write((tx) => void tx.upsert('kv', { k, v }));

describe.each(['inline', 'thread'] as const)('detach and attach on the %s host', (host) => {
  it('a detached node is a standalone database; attach discards its own writes and catches it up', async () => {
    const { nodes } = await cluster(3, host);
    const [n1, n2, n3] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    await put(n1, 'before', 1);
    await until('n3 has it', () => get(n3, 'before') === 1);

    await n3.detach();
    expect(n3.info().membership).toBe('detached');
    await put(n3, 'local', 3); // applies at once, on n3 only
    expect(get(n3, 'local')).toBe(3);
    await put(n1, 'after', 2);
    await until('n2 has it', () => get(n2, 'after') === 2);
    expect(get(n3, 'after')).toBeUndefined();
    expect(get(n1, 'local')).toBeUndefined();

    await n3.attach(); // resolves once it is a member again and has caught up
    expect(n3.info().membership).toBe('attached');
    expect(get(n3, 'after')).toBe(2);
    expect(get(n3, 'local')).toBeUndefined(); // discarded, as the seeds describe
    await put(n3, 'again', 4); // a member again: its writes are replicated
    await until('everyone has it', () => nodes.every((n) => get(n, 'again') === 4));
    expect(new Set(nodes.map((n) => n.contentHash())).size).toBe(1);
  });
});

describe('detach on the inline host', () => {
  it('takes the node’s qrank out of the total: the rest keep a quorum they could not hold with it counted', async () => {
    const { nodes } = await cluster(4, 'inline');
    const [n1, n2, n3, n4] = nodes as [ClusterNode, ClusterNode, ClusterNode, ClusterNode];
    await n4.detach();
    await n3.stop({ scope: 'local' }); // n1 and n2: 2 of the 4 configured, but 2 of the 3 members
    await put(n1, 'k', 1);
    await until('n2 has it', () => get(n2, 'k') === 1);
    expect(n1.info().hasQuorum).toBe(true);
  });

  it('startDetached opens the tables from the journal, off the network, until attach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chorus-detached-'));
    dirs.push(dir);
    const { nodes, network } = await cluster(3, 'inline', (i) => (i === 2 ? { dataDir: dir } : {}));
    const [n1, , n3] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    await put(n1, 'k', 1);
    await until('n3 has it', () => get(n3, 'k') === 1);
    await n3.stop({ scope: 'local' });
    await put(n1, 'k', 2);
    const addrs = [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }];
    const reopened = await openNode({ nodeId: 2, nodes: addrs, schema, network, dataDir: dir, modeMask: { startDetached: true } });
    open[2] = reopened;
    expect(reopened.info().membership).toBe('detached');
    expect(get(reopened, 'k')).toBe(1); // what its journal held, nothing from the network
    await new Promise((r) => setTimeout(r, 100));
    expect(get(reopened, 'k')).toBe(1);
    await reopened.attach();
    expect(get(reopened, 'k')).toBe(2);
  });
});
