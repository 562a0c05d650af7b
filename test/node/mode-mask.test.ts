/**
 * `modeMask` as an application sees it: flags checked at open, and debugOutput logging every cluster
 * message (startDetached is in membership.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { ChorusError } from '../../src/runtime/errors.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

describe('modeMask', () => {
  it('refuses an unknown flag or a non-boolean, naming it', async () => {
    const network = new InProcessNetwork();
    const nodes = [{ addr: 'a' }];
    await expect(openNode({ nodeId: 0, nodes, schema, network, modeMask: { startDetatched: true } as never })).rejects.toThrow(/modeMask.startDetatched is not a mode/);
    await expect(openNode({ nodeId: 0, nodes, schema, network, modeMask: { debugOutput: 1 } as never })).rejects.toThrow(/modeMask.debugOutput must be a boolean/);
    const error = await openNode({ nodeId: 0, nodes, schema, network, modeMask: 'x' as never }).catch((e: unknown) => e);
    expect((error as ChorusError).code).toBe('INVALID_ARGUMENT');
  });

  it('debugOutput logs every cluster message the node sends and receives, by type, not contents', async () => {
    const network = new InProcessNetwork();
    const nodes = [{ addr: 'a' }, { addr: 'b' }];
    const records: LogRecord[] = [];
    open = await Promise.all([
      openNode({ nodeId: 0, nodes, schema, network, modeMask: { debugOutput: true }, log: (r) => records.push(r) }),
      openNode({ nodeId: 1, nodes, schema, network }),
    ]);
    await open[0]!.write((tx) => void tx.upsert('kv', { k: 'x', v: 1 }));
    const sent = records.filter((r) => r.msg === 'cluster message sent');
    const received = records.filter((r) => r.msg === 'cluster message received');
    expect(sent.length).toBeGreaterThan(0);
    expect(received.length).toBeGreaterThan(0);
    expect(new Set(sent.map((r) => r.fields?.['type']))).toContain('raft');
    expect(sent.every((r) => r.level === 'debug' && r.node === 'a' && String(r.fields?.['to']).startsWith('b/'))).toBe(true);
    expect(received.every((r) => String(r.fields?.['from']).startsWith('b/'))).toBe(true);
    expect(JSON.stringify(records)).not.toContain('"changeSet"');
  });
});
