/**
 * A node whose actor fails (a bug, or its disk: ENOSPC, EIO) fails as a whole, loudly: it raises
 * `failed` with the cause, and its writes reject with ACTOR_FAILED naming it, instead of the node going
 * on as a zombie (info() still a follower, writes refused as OVERLOADED "node is stopped"). The others
 * keep their quorum and keep committing. Run on both hosts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { ChorusError } from '../../src/runtime/errors.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.allSettled(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

describe.each(['inline', 'thread'] as const)('an actor that fails (%s host)', (host) => {
  it('fails its node: `failed` is raised with the cause, writes reject with ACTOR_FAILED, the others go on', async () => {
    const network = new InProcessNetwork();
    const nodes = ['n1', 'n2', 'n3'].map((addr) => ({ addr }));
    open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, nodes, schema, network, host, log: () => {} })));
    for (let i = 0; i < 300 && !open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader); i++) await new Promise((r) => setTimeout(r, 10));
    const leader = open.find((n) => n.info().role === 'leader')!;
    const victim = open.find((n) => n !== leader)!;
    await victim.write((tx) => void tx.upsert('kv', { k: 'before', v: 1 }));
    const failed = new Promise<Error & { readonly code: string }>((resolve) => victim.on('failed', resolve));

    // A message its replicator does not know (as a bug would send) makes it throw.
    network.outbound(leader.nodeId)({ node: leader.nodeId, actor: 'test' }, { node: victim.nodeId, actor: 'replicator' }, { type: 'noSuchMessage' });

    const cause = await Promise.race([failed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 10_000))]);
    expect(cause?.code).toBe('ACTOR_FAILED');
    expect(cause?.message).toMatch(new RegExp(`actor ${victim.nodeId}/replicator failed: `));
    const refused = await victim.write((tx) => void tx.upsert('kv', { k: 'after', v: 2 })).then(() => undefined, (error: ChorusError) => error);
    expect(refused?.code).toBe('ACTOR_FAILED');
    expect(victim.info().state).toBe('failed');
    expect(leader.info().state).toBe('running');
    // The other two hold a quorum without it.
    await leader.write((tx) => void tx.upsert('kv', { k: 'others', v: 3 }));
    expect(leader.read((tx) => tx.get('kv', 'others'))?.['v']).toBe(3);
  });
});
