/**
 * A state image from the leader that this node cannot load (here: its own schema cannot take the
 * leader's rows). Loading it used to throw in the application's message handler: on the thread host an
 * uncaught exception in the application's thread, on the inline host a failure pinned on the committer
 * actor (found in review). Now the node fails as for any write it cannot follow: event `failed` with
 * the load's own error, and its writes reject with it; the others go on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
/** The same table with `v` a string: rows of `schema` do not convert to it. */
const otherSchema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };
let open: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

describe.each(['inline', 'thread'] as const)('an image the node cannot load (%s host)', (host) => {
  it('fails the node with the load’s error; the others go on', async () => {
    const network = new InProcessNetwork();
    const nodes = [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }];
    const schemas = [schema, schema, otherSchema];
    open = await Promise.all(schemas.map((s, nodeId) => openNode({ nodeId, nodes, schema: s, network, host, transLogLength: 10, syncMsgObjects: 4 })));
    const [n1, n2, n3] = open as [ClusterNode, ClusterNode, ClusterNode];
    await until('a leader', () => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader));
    if (n3.info().leader === 'n3') n3.transferLeadership('n1'); // n3 is to be the one cut off
    await until('a leader other than n3', () => open.every((n) => n.info().leader !== undefined && n.info().leader !== 'n3' && n.info().leader === open[0]!.info().leader));
    network.cut('n3', 'n1');
    network.cut('n3', 'n2');
    for (let i = 0; i < 30; i++) await n1.write((tx) => void tx.upsert('kv', { k: `k${i}`, v: i })); // past n3's reach in the log: it gets an image
    const failed = new Promise<Error & { code: string }>((resolve) => n3.on('failed', resolve));
    network.heal();
    const error = await failed;
    expect(error.code).toBe('INCOMPATIBLE_SCHEMA');
    expect(error.message).toMatch(/field v/);
    expect(n3.info().state).toBe('failed');
    await expect(n3.write((tx) => void tx.upsert('kv', { k: 'x', v: 'y' }))).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA' });
    await n2.write((tx) => void tx.upsert('kv', { k: 'after', v: 1 })); // n1 and n2 hold a quorum
  }, 30_000);
});
