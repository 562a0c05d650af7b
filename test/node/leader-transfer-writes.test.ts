/**
 * A write at a leader that is handing its leadership over: the committer refuses it (the leader takes no
 * proposal while it transfers) while this node still names itself leader and its quorum holds. The write
 * waits for the next leader (or the transfer's end) instead of spending its resends at once, and commits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const addrs = ['n1', 'n2', 'n3'];
let nodes: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
  nodes = [];
});

describe('writes during a leadership transfer', () => {
  it('a write refused while its leader transfers leadership commits once the transfer ends, not NO_QUORUM', async () => {
    const network = new InProcessNetwork();
    nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, network })));
    await until('a leader every node knows, with a quorum', () => nodes.every((n) => n.info().leader !== undefined && n.info().leader === nodes[0]!.info().leader && n.info().hasQuorum));
    const leader = nodes.find((n) => n.info().role === 'leader')!;
    const target = addrs.find((a) => a !== leader.nodeId)!;
    // The target never hears the leader's go-ahead: the transfer stays under way until the leader gives it
    // up after an election timeout, and the leader (with the third node, a quorum) leads on.
    network.cut(leader.nodeId, target);
    leader.transferLeadership(target);
    const written = leader.write((tx) => void tx.upsert('kv', { k: 'during', v: 1 }));
    await expect(written).resolves.toBeDefined();
    expect(leader.read((tx) => tx.get('kv', 'during')?.['v'])).toBe(1);
  });
});
