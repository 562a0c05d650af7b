/**
 * Clients and peers hold different credentials (src/transport/tcp/keys.ts). What an operator relies on:
 * an application given the client key can use the client port and nothing else. It cannot pass the
 * peer port's handshake as a configured node (so it cannot send Raft messages: before, one forged
 * append as "node 1" moved the leader's term by 1000), and the client port takes neither the peer key
 * nor the cluster secret. No key or secret shows in any log line or error.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNode, type ClusterNode } from '../../src/node/cluster-node.js';
import { startClientPort, type ClientPort } from '../../src/client/server.js';
import { execute } from '../../src/client/execute.js';
import { connect } from '../../src/client/index.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import { FrameCodec } from '../../src/transport/tcp/framing.js';
import { DialerHandshake, makeProver, type Prover } from '../../src/transport/tcp/handshake.js';
import { clientKey, clientKeyFor, peerKey } from '../../src/transport/tcp/keys.js';
import { frameToWire, type WireFrame } from '../../src/transport/tcp/protocol.js';
import { SECRET, freePorts, logText, waitFor, handshakeOver } from '../transport/tcp-harness.js';

const frameBytesMax = 16 * 1024 * 1024;
const codec = new FrameCodec(frameBytesMax);
const frame = (value: unknown) => {
  const encoded = codec.encode(value, frameBytesMax);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};
const secretBytes = new TextEncoder().encode(SECRET);
const logs: LogRecord[] = [];
const sockets: Socket[] = [];
let addrs: string[] = [];
let node: ClusterNode;
let port: ClientPort;
const tcp = { clusterName: 'keys', secret: SECRET, connectIntervalMs: 50, log: (r: LogRecord) => void logs.push(r) };

beforeAll(async () => {
  addrs = (await freePorts(2)).map((p) => `127.0.0.1:${p}`);
  // Node 0 holds a quorum alone (qrank 2 of 3), so it leads and commits without node 1.
  node = await openNode({
    nodeId: 0, nodes: [{ addr: addrs[0]!, qrank: 2 }, { addr: addrs[1]! }], nwType: 'tcp', host: 'inline', tcp, log: (r) => void logs.push(r),
    schema: { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }], primaryKey: ['k'] }] },
  });
  port = await startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, log: (r) => void logs.push(r), execute: (r) => execute(node, r) });
  await waitFor(() => node.info().role === 'leader', 'node 0 leads');
  await node.write((tx) => void tx.insert('kv', { k: 'acked' }));
});

afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await port.close();
  await node.stop({ scope: 'local' });
});

/**
 * Dials the peer port as node 1 proving `key`, skipping the check of the node's own proof (an
 * attacker's dialer would). Resolves with the handshake's outcome and the socket.
 */
async function dialAsNode1(key: Uint8Array): Promise<{ outcome: string; socket: Socket }> {
  const socket = tcpConnect({ host: '127.0.0.1', port: Number(addrs[0]!.split(':')[1]) });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const prover: Prover = { ...makeProver(key), check: () => true };
  const handshake = new DialerHandshake({ self: addrs[1]!, cluster: 'keys', prover, nonce: new Uint8Array(randomBytes(32)), frameBytesMax, credential: 'cluster secret' }, addrs[0]!);
  return { outcome: await handshakeOver(socket, handshake, frameBytesMax), socket };
}

describe('client and peer credentials', () => {
  it('the peer port refuses the client key (and the raw secret): a client cannot pose as node 1 and move the term', async () => {
    const before = node.info();
    for (const key of [clientKey(secretBytes), secretBytes]) {
      const { outcome, socket } = await dialAsNode1(key);
      expect(outcome).toBe('refused by the peer: authentication failed');
      // What the reviewer's forged append did: a term 1000 ahead, as node 1. It must go nowhere.
      const term = before.term + 1000;
      const noop = (index: number) => ({ term, index, data: { kind: 'noop' } });
      socket.write(frame(frameToWire({ type: 'msg', from: 'replicator', to: 'replicator', body: { type: 'raft', msg: {
        type: 'append', term, from: addrs[1], to: addrs[0], prevIndex: 0, prevTerm: 0, entries: [noop(1), noop(2)], commit: 2 } } } as WireFrame)));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = node.info();
    expect({ state: after.state, role: after.role, term: after.term, commit: after.commitIndex >= before.commitIndex })
      .toEqual({ state: 'running', role: 'leader', term: before.term, commit: true });
    expect(logText(logs)).toMatch(/node "127\.0\.0\.1:\d+" does not know the cluster secret \(bad proof\)/);
  });

  it('the client port refuses the peer key and the cluster secret, and admits the client key', async () => {
    const at = `127.0.0.1:${port.address.port}`;
    const peerKeyText = Buffer.from(peerKey(secretBytes)).toString('hex');
    await expect(connect(at, { clusterName: 'keys', clientKey: peerKeyText })).rejects.toMatchObject({
      code: 'CONNECTION', message: expect.stringMatching(/does not know the client key \(bad proof\): check clientKey/),
    });
    // The cluster secret is not a client key, under either name; the message does not echo it.
    const asKey = connect(at, { clusterName: 'keys', clientKey: SECRET });
    await expect(asKey).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('clientKey must be the cluster\'s client key: 64 hex digits') });
    const asSecret = connect(at, { clusterName: 'keys', secret: SECRET } as unknown as Parameters<typeof connect>[1]);
    await expect(asSecret).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('there is no secret option: give clientKey') });
    for (const refused of [asKey, asSecret]) expect(String(await refused.catch((e: Error) => e.message))).not.toContain(SECRET);
    const client = await connect(at, { clusterName: 'keys', clientKey: clientKeyFor(SECRET) });
    expect((await client.read([{ op: 'get', table: 'kv', key: 'acked' }])).results).toEqual([{ k: 'acked' }]);
    await client.close();
    // The client checks the node's proof first, so it is the one that refuses; the node logs that.
    expect(logText(logs)).toMatch(/client-port: refused 127\.0\.0\.1:\d+: handshake failed: refused by the peer: authentication failed/);
  });

  it('a named client proves its own key, and a port that revokes the name refuses that client alone, saying so', async () => {
    const revoking = await startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, log: (r) => void logs.push(r), execute: (r) => execute(node, r), revoked: ['gone'] });
    try {
      const at = (p: ClientPort) => `127.0.0.1:${p.address.port}`;
      const as = (p: ClientPort, clientName: string | undefined, key: string) => connect(at(p), { clusterName: 'keys', clientKey: key, ...(clientName === undefined ? {} : { clientName }) });
      const kept = await as(revoking, 'kept', clientKeyFor(SECRET, 'kept'));
      expect((await kept.read([{ op: 'get', table: 'kv', key: 'acked' }])).results).toEqual([{ k: 'acked' }]);
      await kept.close();
      // A name's key is neither the cluster's client key nor another name's.
      for (const [name, key] of [['kept', clientKeyFor(SECRET)], [undefined, clientKeyFor(SECRET, 'kept')], ['other', clientKeyFor(SECRET, 'kept')]] as const) {
        await expect(as(port, name, key)).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(/bad proof/) });
      }
      // Revoked on one port: refused there with the reason, admitted where it is not revoked.
      await expect(as(revoking, 'gone', clientKeyFor(SECRET, 'gone'))).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(/refused by the peer: client not admitted/) });
      expect(logText(logs)).toMatch(/client "client:gone:[0-9a-f]+" is not admitted: its client name is revoked here \(client\.revoked\)/);
      await (await as(port, 'gone', clientKeyFor(SECRET, 'gone'))).close();
      // The cluster's client key still passes on the revoking port.
      await (await as(revoking, undefined, clientKeyFor(SECRET))).close();
      await expect(startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, execute: (r) => execute(node, r), revoked: ['no spaces'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/revoked: a client name is 1 to 64/) });
      await expect(as(port, 'no spaces', clientKeyFor(SECRET))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/clientName must be 1 to 64/) });
    } finally {
      await revoking.close();
    }
  });

  it('no secret or key appears in any log line', () => {
    const text = logText(logs);
    for (const hidden of [SECRET, clientKeyFor(SECRET), clientKeyFor(SECRET, 'kept'), clientKeyFor(SECRET, 'gone'), Buffer.from(peerKey(secretBytes)).toString('hex')]) expect(text).not.toContain(hidden);
  });
});
