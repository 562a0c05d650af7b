/**
 * chorusdb/client against nodes' client ports: three nodes over TCP in this process, each serving
 * clients. What a client user notices: writes as operation lists commit and read back on any node,
 * errors carry the node's codes, expect gives compare-and-set, a wrong secret is refused, and a client
 * whose node goes away gets CONNECTION rather than waiting forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { startClientPort } from '../../src/client/server.js';
import type { ClientPort } from '../../src/client/server.js';
import { execute } from '../../src/client/execute.js';
import { ClientError, connect } from '../../src/client/index.js';
import type { Client, ClientOptions } from '../../src/client/index.js';
import { SECRET, freePorts, logText, waitFor } from '../transport/tcp-harness.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';

const schema: SchemaDef = {
  tables: [{
    name: 'acct', primaryKey: ['id'],
    fields: [{ name: 'id', type: 'int32' }, { name: 'owner', type: 'string' }, { name: 'balance', type: 'int32' }],
    indexes: [{ name: 'byOwner', fields: ['owner'] }],
  }],
};
const tcp = { clusterName: 'client-test', secret: SECRET, connectIntervalMs: 50 };
const options: ClientOptions = { clusterName: 'client-test', clientKey: clientKeyFor(SECRET) };
const logs: LogRecord[] = [];
let nodes: ClusterNode[] = [];
let ports: ClientPort[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  const free = await freePorts(3);
  const addrs = free.map((p) => `127.0.0.1:${p}`);
  nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, nwType: 'tcp', tcp, log: (r) => void logs.push(r) })));
  ports = await Promise.all(nodes.map((node) => startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, log: (r) => void logs.push(r), execute: (request) => execute(node, request) })));
  await waitFor(() => nodes.every((n) => n.info().leader !== undefined && n.info().activeNodes.length === 3), 'a leader and every node connected', 30_000);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(ports.map((p) => p.close()));
  await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
});

async function client(at: number, extra: Partial<ClientOptions> = {}): Promise<Client> {
  const c = await connect(`127.0.0.1:${ports[at]!.address.port}`, { ...options, ...extra });
  clients.push(c);
  return c;
}

const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (e: ClientError) => e.code);

describe('chorusdb/client', () => {
  it('writes a transaction of operations through one node and reads it back through another', async () => {
    const [a, b] = [await client(0), await client(1)];
    expect(a.node).toBe(nodes[0]!.nodeId);
    const written = await a.write([
      { op: 'insert', table: 'acct', row: { id: 1, owner: 'ada', balance: 100 } },
      { op: 'insert', table: 'acct', row: { id: 2, owner: 'bob', balance: 50 } },
      { op: 'upsert', table: 'acct', row: { id: 3, owner: 'ada', balance: 7 } },
    ]);
    expect(written.results).toEqual([{ id: 1, owner: 'ada', balance: 100 }, { id: 2, owner: 'bob', balance: 50 }, { id: 3, owner: 'ada', balance: 7 }]);
    const read = await b.read([
      { op: 'get', table: 'acct', key: 2 },
      { op: 'get', table: 'acct', key: 99 },
      { op: 'find', table: 'acct', index: 'byOwner', values: 'ada' },
      { op: 'range', table: 'acct', lower: 2, limit: 5 },
      { op: 'count', table: 'acct' },
    ], { consistency: 'linearizable' });
    expect(read.results).toEqual([
      { id: 2, owner: 'bob', balance: 50 }, null,
      [{ id: 1, owner: 'ada', balance: 100 }, { id: 3, owner: 'ada', balance: 7 }],
      [{ id: 2, owner: 'bob', balance: 50 }, { id: 3, owner: 'ada', balance: 7 }],
      3,
    ]);
    await waitFor(() => new Set(nodes.map((n) => n.contentHash())).size === 1, 'every node applied the writes');
    const [hashA, hashB] = await Promise.all([a.contentHash(), b.contentHash()]);
    expect(hashA).toEqual(hashB);
    expect(hashA.hash).toBe(nodes[0]!.contentHash());
    const info = await b.info();
    expect(info.nodeId).toBe(nodes[1]!.nodeId);
    expect(info.hasQuorum).toBe(true);
  });

  it("answers with the node's error codes, and expect makes compare-and-set", async () => {
    const c = await client(2);
    await c.write([{ op: 'upsert', table: 'acct', row: { id: 10, owner: 'cas', balance: 1 } }]);
    expect(await code(c.write([{ op: 'insert', table: 'acct', row: { id: 10, owner: 'dup', balance: 0 } }]))).toBe('UNIQUE');
    expect(await code(c.write([{ op: 'upsert', table: 'acct', row: { id: 'x' } }]))).toBe('VALIDATION');
    expect(await code(c.write([{ op: 'update', table: 'acct', row: { id: 404, balance: 1 } }]))).toBe('NOT_FOUND');
    // Compare-and-set: only the write that expects the current value goes through.
    const cas = (from: number, to: number) => c.write([
      { op: 'expect', table: 'acct', key: 10, row: { balance: from } },
      { op: 'update', table: 'acct', row: { id: 10, balance: to } },
    ]);
    expect(await code(cas(1, 2))).toBe('ok');
    expect(await code(cas(1, 3))).toBe('PRECONDITION');
    expect(await code(c.write([{ op: 'expect', table: 'acct', key: 11, row: null }, { op: 'insert', table: 'acct', row: { id: 11, owner: 'new', balance: 0 } }]))).toBe('ok');
    expect(await code(c.write([{ op: 'expect', table: 'acct', key: 11, row: null }, { op: 'delete', table: 'acct', key: 11 }]))).toBe('PRECONDITION');
    expect((await c.read([{ op: 'get', table: 'acct', key: 10 }, { op: 'get', table: 'acct', key: 11 }])).results).toEqual([{ id: 10, owner: 'cas', balance: 2 }, { id: 11, owner: 'new', balance: 0 }]);
    // What the node cannot understand is refused, naming the problem; the connection stays usable.
    const bad = c.write([{ op: 'frobnicate', table: 'acct' } as never]);
    await expect(bad).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('ops[0]: op must be insert, upsert, update, delete or expect') });
    expect(await code(c.read([{ op: 'range', table: 'acct', limit: 1_000_000 }]))).toBe('BAD_REQUEST');
    expect(await code(c.info())).toBe('ok');
  });

  it('refuses a client with the wrong client key, and a client on the peer port', async () => {
    const wrong = connect(`127.0.0.1:${ports[0]!.address.port}`, { ...options, clientKey: clientKeyFor('not the cluster secret at all') });
    await expect(wrong).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringContaining('does not know the client key (bad proof): check clientKey') });
    const peerPort = connect(nodes[0]!.nodeId, options);
    await expect(peerPort).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringContaining('refused by the peer: wrong node') });
    expect(logText(logs)).not.toContain(SECRET);
  });

  it('fails waiting and later requests with CLOSED after close, and CONNECTION when the node goes away', async () => {
    const c = await client(0);
    const closing = c.close();
    expect(await code(c.info())).toBe('CLOSED');
    await closing;
    expect(c.closed).toBe(true);
    const d = await client(1);
    await ports[1]!.close();
    await waitFor(() => d.closed, 'the client sees its connection go');
    expect(await code(d.info())).toBe('CONNECTION');
    await expect(connect(`127.0.0.1:${ports[1]!.address.port}`, { ...options, connectTimeoutMs: 2_000 })).rejects.toBeInstanceOf(ClientError);
  });
});
