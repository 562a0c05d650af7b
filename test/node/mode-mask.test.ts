/**
 * `modeMask` as an application sees it: flags checked at open, debugOutput logging every cluster
 * message, earlyDataSend leaving unique indexes to apply, binaryEvolution letting nodes with compatible
 * schemas form one cluster — and without it, a node that cannot read a write stopping rather than
 * diverging (startDetached is in membership.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const withEmail: SchemaDef = {
  tables: [{ name: 'users', fields: [{ name: 'id', type: 'int32' }, { name: 'email', type: 'string' }], primaryKey: ['id'], indexes: [{ name: 'byEmail', fields: ['email'], unique: true }] }],
};
/** kv with one more, optional, field: compatible with `schema` both ways (dropped one way, null the other). */
const schemaWithNote: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }, { name: 'note', type: 'string', optional: true }], primaryKey: ['k'] }],
};

async function cluster(schemas: readonly SchemaDef[], modeMask: (i: number) => object, host: 'inline' | 'thread' = 'inline') {
  const network = new InProcessNetwork();
  const nodes = schemas.map((_, i) => ({ addr: `n${i + 1}` }));
  open = await Promise.all(schemas.map((s, nodeId) => openNode({ nodeId, nodes, schema: s, network, host, modeMask: modeMask(nodeId) })));
  for (let i = 0; i < 300 && !open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader); i++) await new Promise((r) => setTimeout(r, 10));
  return open;
}
/** Polls until `ok` holds (a bound, not a measurement: the assertions after it say what failed). */
const until = async (ok: () => boolean) => {
  for (let i = 0; i < 300 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

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

  it('earlyDataSend sends a write before its unique indexes are checked: a violation fails at apply, on every node alike', async () => {
    for (const earlyDataSend of [false, true]) {
      const nodes = await cluster([withEmail, withEmail], () => ({ earlyDataSend }));
      await nodes[0]!.write((tx) => void tx.insert('users', { id: 1, email: 'ann@x' }));
      await until(() => nodes[1]!.read((tx) => tx.count('users')) === 1);
      const error = await nodes[1]!.write((tx) => void tx.insert('users', { id: 2, email: 'ann@x' })).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'UNIQUE', index: 'byEmail', value: 'ann@x' });
      await nodes[1]!.write((tx) => void tx.insert('users', { id: 3, email: 'cat@x' })); // after the refused one in the log, if it is there
      await until(() => nodes[0]!.read((tx) => tx.count('users')) === 2);
      // Without the flag nothing was sent; with it the write went through the log and n1 rolled it back too.
      expect(nodes[0]!.info().remoteRollbacks).toBe(earlyDataSend ? 1 : 0);
      expect(nodes.map((n) => n.read((tx) => tx.count('users')))).toEqual([2, 2]);
      expect(nodes[0]!.contentHash()).toBe(nodes[1]!.contentHash());
      await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
    }
  });

  it.each(['inline', 'thread'] as const)('binaryEvolution lets nodes with compatible schemas form one cluster, converting rows by field name (%s host)', async (host) => {
    const nodes = await cluster([schema, schema, schemaWithNote], () => ({ binaryEvolution: true }), host);
    await nodes[0]!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
    await nodes[2]!.write((tx) => void tx.upsert('kv', { k: 'b', v: 2, note: 'from n3' }));
    await until(() => nodes.every((n) => n.read((tx) => tx.count('kv')) === 2));
    for (const node of nodes.slice(0, 2)) expect(node.read((tx) => [tx.get('kv', 'a'), tx.get('kv', 'b')])).toEqual([{ k: 'a', v: 1 }, { k: 'b', v: 2 }]);
    expect(nodes[2]!.read((tx) => [tx.get('kv', 'a'), tx.get('kv', 'b')])).toEqual([{ k: 'a', v: 1, note: null }, { k: 'b', v: 2, note: 'from n3' }]);
  });

  it('binaryEvolution: a node whose indexes differ stops at the first write of the other schema (INCOMPATIBLE_SCHEMA naming the index) instead of diverging', async () => {
    const plain: SchemaDef = { tables: [{ ...withEmail.tables[0]!, indexes: [] }] };
    const nodes = await cluster([plain, plain, withEmail], () => ({ binaryEvolution: true }));
    const failed = new Promise<Error & { code: string }>((resolve) => nodes[2]!.on('failed', resolve));
    for (const id of [1, 2]) await nodes[0]!.write((tx) => void tx.insert('users', { id, email: 'same@x' }));
    const error = await failed;
    expect(error.code).toBe('INCOMPATIBLE_SCHEMA');
    expect(error.message).toMatch(/node n3 stopped: .*table users: index byEmail is missing from the peer's schema/);
    await until(() => nodes[1]!.read((tx) => tx.count('users')) === 2);
    expect(nodes[1]!.read((tx) => tx.count('users'))).toBe(2); // n1 and n2 hold a quorum and go on
  });

  it('without binaryEvolution, a node that cannot read a committed write stops (INCOMPATIBLE_SCHEMA) instead of diverging; the others go on', async () => {
    const nodes = await cluster([schema, schema, schemaWithNote], () => ({}));
    const failed = new Promise<Error & { code: string }>((resolve) => nodes[2]!.on('failed', resolve));
    await nodes[0]!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
    const error = await failed;
    expect(error.code).toBe('INCOMPATIBLE_SCHEMA');
    expect(error.message).toMatch(/node n3 stopped: it cannot apply a committed write from n1 .*binaryEvolution/);
    await expect(nodes[2]!.write((tx) => void tx.upsert('kv', { k: 'b', v: 2 }))).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA' });
    await nodes[1]!.write((tx) => void tx.upsert('kv', { k: 'c', v: 3 })); // n1 and n2 still hold a quorum
    await until(() => nodes[0]!.read((tx) => tx.count('kv')) === 2);
    expect(nodes[0]!.read((tx) => tx.count('kv'))).toBe(2);
  });

  it('a node whose own journal holds a write it cannot read fails to open, with the same error', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'chorus-schema-'));
    try {
      const network = new InProcessNetwork();
      const nodes = [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }];
      const schemas = [schema, schema, schemaWithNote];
      const openAt = (nodeId: number) => openNode({ nodeId, nodes, schema: schemas[nodeId]!, network, dataDir });
      open = await Promise.all(nodes.map((_, i) => openAt(i)));
      const failed = new Promise((resolve) => open[2]!.on('failed', resolve));
      await open[0]!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
      await failed;
      await expect(openAt(2)).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA', message: expect.stringMatching(/node n3 stopped/) });
    } finally {
      await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
      open = [];
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
