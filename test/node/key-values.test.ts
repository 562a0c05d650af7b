/**
 * A write whose rows the other nodes could not take must be refused where it is made, before anything
 * of it is acknowledged: the writing node applies its own change-set as made, the others decode it with
 * the wire's checks. A NaN primary key (found by review) was acknowledged, kept on the writer alone, and
 * a later NaN upsert failed the node.
 */
import { afterEach, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'n', fields: [{ name: 'x', type: 'float64' }], primaryKey: ['x'] }] };
let nodes: ClusterNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
  nodes = [];
});

it('refuses a NaN primary key with VALIDATION on the leader and on a follower; every node keeps the same data and runs on', async () => {
  const network = new InProcessNetwork();
  const addrs = [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }];
  nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs, schema, network })));
  await until('a leader everyone knows', () => nodes.every((n) => n.info().leader !== undefined && n.info().leader === nodes[0]!.info().leader && n.info().hasQuorum));
  const leader = nodes.find((n) => n.info().role === 'leader')!;
  const follower = nodes.find((n) => n !== leader)!;
  for (const node of [leader, follower]) {
    await expect(node.write((tx) => void tx.insert('n', { x: NaN }))).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/field x: NaN may not be a key/) });
    await expect(node.write((tx) => void tx.upsert('n', { x: NaN }))).rejects.toMatchObject({ code: 'VALIDATION' });
  }
  await leader.write((tx) => void tx.insert('n', { x: 1.5 }));
  await until('every node has the row', () => nodes.every((n) => n.read((tx) => tx.count('n')) === 1));
  expect(new Set(nodes.map((n) => n.contentHash())).size).toBe(1);
  expect(nodes.map((n) => n.info().state)).toEqual(['running', 'running', 'running']);
});
