/**
 * A write the other nodes would read back different is refused on its writer, before it leaves: the
 * writer applies its own prepared form and the others the bytes, so any difference between the two
 * (every one found so far was a value the writer's checks let through) would part the replicas, and
 * the node would stay 'running' while its data differs. Here the encoder is made to lie about one
 * value, standing in for such a bug: the write fails with VALIDATION, and no node keeps it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { ChangeSet } from '../../src/store/changeset.js';

vi.mock('../../src/store/changeset.js', async (original) => {
  const real = await original<typeof import('../../src/store/changeset.js')>();
  // 'poison' goes out as 'antidote': what a writer/wire disagreement looks like from outside.
  const lie = (changeSet: ChangeSet): ChangeSet => ({ ...changeSet, writes: changeSet.writes.map((w) => ({ ...w, row: w.row?.map((v) => (v === 'poison' ? 'antidote' : v)) ?? null })) });
  return { ...real, encodeChangeSet: (changeSet: ChangeSet) => real.encodeChangeSet(changeSet.writes.some((w) => w.row?.includes('poison')) ? lie(changeSet) : changeSet) };
});

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };
const addrs = ['w1', 'w2', 'w3'];
let nodes: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
  nodes = [];
});

describe('a write that would read back different elsewhere (inline host)', () => {
  it('is refused with VALIDATION on its writer, and no node keeps it', async () => {
    const network = new InProcessNetwork();
    nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, host: 'inline', network })));
    const writer = nodes[1]!;
    await writer.write((tx) => void tx.upsert('kv', { k: 'fine', v: 'water' }));
    await expect(writer.write((tx) => void tx.upsert('kv', { k: 'x', v: 'poison' }))).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringMatching(/read back different on the other nodes.*field v/) });
    await writer.write((tx) => void tx.upsert('kv', { k: 'after', v: 'wine' }));
    for (let i = 0; i < 300 && nodes.some((n) => n.read((tx) => tx.get('kv', 'after')) === undefined); i++) await new Promise((r) => setTimeout(r, 10));
    for (const node of nodes) {
      expect(node.read((tx) => tx.get('kv', 'x'))).toBeUndefined();
      expect(node.read((tx) => tx.get('kv', 'after')?.['v'])).toBe('wine');
    }
    expect(new Set(nodes.map((n) => n.contentHash())).size).toBe(1);
  });
});
