/**
 * The client port's bounds on answers, as a client user notices them:
 * - A client's frameBytesMax, smaller than the node's: a larger answer fails TOO_LARGE on that request
 *   alone; the connection and the writes in flight on it carry on (before, the client closed the
 *   connection on the large frame and every request on it failed CONNECTION, writes with an unknown
 *   outcome). A request larger than the node's bound fails TOO_LARGE at the client, also alone.
 * - Clients that never read their answers: the node holds at most queuedAnswerBytesMax of answers for
 *   all of them together (before, each could pin outgoingBytesMax: 40 such clients took a node from
 *   86 to 388 MiB), runs none of a slow reader's further requests while its answers wait, and keeps
 *   answering a client that reads.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode, type ClusterNode } from '../../src/node/cluster-node.js';
import { startClientPort, type ClientPort } from '../../src/client/server.js';
import { execute } from '../../src/client/execute.js';
import { connect, type Client } from '../../src/client/index.js';
import type { Request } from '../../src/client/protocol.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import { FrameCodec } from '../../src/transport/tcp/framing.js';
import { DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { clientKey, clientKeyFor } from '../../src/transport/tcp/keys.js';
import { ANY_NODE, frameToWire } from '../../src/transport/tcp/protocol.js';
import { SECRET, freePorts, logText, sealed, waitFor, handshakeOver } from '../transport/tcp-harness.js';

const MiB = 1024 * 1024;
const nodeFrameBytesMax = 4 * MiB;
const budgetBytes = 8 * MiB;
const rows = 2000; // of ~1 KB each: a whole-table range answer is ~2 MB
const codec = new FrameCodec(16 * MiB);
const frame = (value: unknown) => {
  const encoded = codec.encode(value, 16 * MiB);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};
const logs: LogRecord[] = [];
const sockets: Socket[] = [];
const clients: Client[] = [];
let node: ClusterNode;
let port: ClientPort;
let executed = 0;
let at = '';

beforeAll(async () => {
  const [p] = await freePorts(1);
  const tcp = { clusterName: 'bounds', secret: SECRET, frameBytesMax: nodeFrameBytesMax, log: (r: LogRecord) => void logs.push(r) };
  node = await openNode({
    nodeId: 0, nodes: [{ addr: `127.0.0.1:${p}` }], nwType: 'tcp', tcp, host: 'inline', log: (r) => void logs.push(r),
    schema: { tables: [{ name: 't', primaryKey: ['k'], fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }] }] },
  });
  const run = (request: Request) => {
    executed++;
    return execute(node, request);
  };
  port = await startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, queuedAnswerBytesMax: budgetBytes, log: (r) => void logs.push(r), execute: run });
  at = `127.0.0.1:${port.address.port}`;
  await waitFor(() => node.info().role === 'leader', 'a leader');
  for (let i = 0; i < rows; i += 100) await node.write((tx) => { for (let k = i; k < i + 100; k++) tx.upsert('t', { k, v: 'x'.repeat(1000) }); });
});

afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await Promise.all(clients.map((c) => c.close()));
  await port.close();
  await node.stop({ scope: 'local' });
});

async function client(frameBytesMax?: number): Promise<Client> {
  const c = await connect(at, { clusterName: 'bounds', clientKey: clientKeyFor(SECRET), ...(frameBytesMax !== undefined ? { frameBytesMax } : {}) });
  clients.push(c);
  return c;
}

const code = (promise: Promise<unknown>) => promise.then(() => 'ok', (e: { code: string }) => e.code);
const wholeTable = [{ op: 'range' as const, table: 't', limit: rows }];

describe('frameBytesMax between a client and its node', () => {
  it("an answer larger than the client's bound fails TOO_LARGE alone; the write beside it and the connection carry on", async () => {
    const small = await client(64 * 1024);
    const [read, write] = await Promise.all([
      small.read(wholeTable).catch((e: Error) => e),
      small.write([{ op: 'upsert', table: 't', row: { k: rows, v: 'beside' } }]),
    ]);
    expect(read).toMatchObject({ code: 'TOO_LARGE', message: expect.stringMatching(/exceeds frameBytesMax \(65536\), the client's frameBytesMax/) });
    expect(write.results).toEqual([{ k: rows, v: 'beside' }]);
    expect(small.closed).toBe(false);
    expect((await small.read([{ op: 'get', table: 't', key: rows }])).results).toEqual([{ k: rows, v: 'beside' }]);
  });

  it("a request larger than the node's bound fails TOO_LARGE at the client alone", async () => {
    const big = await client(16 * MiB);
    const huge = big.write([{ op: 'upsert', table: 't', row: { k: -1, v: 'y'.repeat(5 * MiB) } }]);
    await expect(huge).rejects.toMatchObject({ code: 'TOO_LARGE', message: expect.stringContaining(`exceeds frameBytesMax (${nodeFrameBytesMax})`) });
    expect(big.closed).toBe(false);
    expect(await code(big.info())).toBe('ok');
  });
});

/** A client that authenticates and never reads a byte again; `read` sends one whole-table read. */
async function slowReader(): Promise<{ closed: () => boolean; read: (id: number) => void }> {
  const socket = tcpConnect({ host: '127.0.0.1', port: port.address.port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  let closed = false;
  socket.once('close', () => (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const handshake = new DialerHandshake({
    self: `client:${randomBytes(4).toString('hex')}`, cluster: 'bounds', prover: makeProver(clientKey(new TextEncoder().encode(SECRET))),
    nonce: new Uint8Array(randomBytes(32)), frameBytesMax: 16 * MiB, credential: 'client key',
  }, ANY_NODE);
  const outcome = await handshakeOver(socket, handshake, 16 * MiB);
  if (outcome !== 'admitted') throw new Error(`handshake: ${outcome}`);
  socket.pause(); // from now on: never read
  const read = (id: number) => socket.write(sealed(socket, frame(frameToWire({ type: 'request', id, op: { type: 'read', ops: wholeTable } }))));
  return { closed: () => closed, read };
}

describe('clients that never read their answers', () => {
  it("a slow reader's further requests are not run while its answers wait past its share", async () => {
    const slow = await slowReader();
    const before = executed;
    // One read every 30 ms: the loopback's kernel buffers take about one ~2 MB answer, the next ones
    // wait in the node until they pass the client's share; from then on its requests are not run.
    for (let id = 1; id <= 10; id++) {
      slow.read(id);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(executed - before).toBeLessThanOrEqual(4);
    expect(port.queuedAnswerBytes()).toBeGreaterThan(2 * MiB);
  });

  it('pin at most queuedAnswerBytesMax together, and a client that reads is still answered', async () => {
    const slowCount = 12;
    const readsEach = 6;
    const slow: Awaited<ReturnType<typeof slowReader>>[] = [];
    for (let i = 0; i < slowCount; i++) slow.push(await slowReader());
    let most = 0;
    for (let id = 1; id <= readsEach; id++) {
      slow.forEach((s) => s.read(id));
      await new Promise((resolve) => setTimeout(resolve, 30));
      most = Math.max(most, port.queuedAnswerBytes());
    }
    const deadline = performance.now() + 1_000;
    while (performance.now() < deadline) {
      most = Math.max(most, port.queuedAnswerBytes());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // 12 x 6 answers of ~2 MB would be ~140 MB; the node holds at most the budget.
    expect(most).toBeGreaterThan(2 * MiB);
    expect(most).toBeLessThanOrEqual(budgetBytes);
    // A client that reads still gets its ~2 MB answers (a slow reader past its share makes room).
    const reading = await client();
    for (let i = 0; i < 3; i++) expect((await reading.read(wholeTable)).results[0]).toHaveLength(rows);
    expect(port.queuedAnswerBytes()).toBeLessThanOrEqual(budgetBytes);
    await waitFor(() => slow.some((s) => s.closed()), 'a slow reader disconnected');
    expect(logText(logs)).toMatch(/the client does not read its answers: \d+ bytes of them waited while the node's answer budget was full \(client\.queuedAnswerBytesMax 8388608\)/);
  });
});
