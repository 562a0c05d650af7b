/**
 * A node's peer port takes from an authenticated peer only what a peer sends: Raft messages to the
 * replicator and heartbeats to the quorum watcher, each of the right shape and in the peer's own name
 * (src/node/peer-messages.ts). Anything else closes that one connection with a logged reason; the node
 * keeps running and keeps committing. (Before, one such frame failed the whole node, and a `persisted`
 * from a peer could mark a journal sync done that never happened.)
 *
 * The peer here is forged: a socket that passes the handshake as node 1 (which is not running), with the
 * cluster's secret, and then writes one frame. Node 0 holds qrank 2 of 3, so it leads and commits on its own.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openNode, type ClusterNode } from '../../src/node/cluster-node.js';
import { FrameCodec } from '../../src/transport/tcp/framing.js';
import { DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { peerKey } from '../../src/transport/tcp/keys.js';
import { PROTOCOL_VERSION } from '../../src/transport/tcp/protocol.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import { SECRET, freePorts, sealed, waitFor, handshakeOver } from './tcp-harness.js';

const frameBytesMax = 16 * 1024 * 1024;
const codec = new FrameCodec(frameBytesMax);
const encode = (value: unknown): Uint8Array => {
  const encoded = codec.encode(value, frameBytesMax);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};

let node: ClusterNode | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await node?.stop({ scope: 'local' });
  node = undefined;
});

interface Started {
  readonly node: ClusterNode;
  readonly addrs: readonly [string, string];
  readonly port: number;
  readonly logs: LogRecord[];
  readonly failures: Error[];
  /** Resolves when the node raises `failed`. */
  readonly failed: Promise<'failed'>;
}

/** Node 0 of two (qrank 2 of 3: it commits alone), leading, with one write committed. */
async function start(): Promise<Started> {
  const [p0, p1] = await freePorts(2);
  const addrs = [`127.0.0.1:${p0}`, `127.0.0.1:${p1}`] as const;
  const logs: LogRecord[] = [];
  const log = (record: LogRecord) => void logs.push(record);
  node = await openNode({
    nodeId: 0, nodes: [{ addr: addrs[0], qrank: 2 }, { addr: addrs[1] }], nwType: 'tcp', host: 'inline', log,
    schema: { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }], primaryKey: ['k'] }] },
    tcp: { clusterName: 'c', secret: SECRET, connectIntervalMs: 50, log },
  });
  const failures: Error[] = [];
  const failed = new Promise<'failed'>((resolve) => node!.on('failed', (error) => (failures.push(error), resolve('failed'))));
  const n = node;
  await waitFor(() => n.info().role === 'leader', 'node 0 leads');
  await n.write((tx) => void tx.insert('kv', { k: 'before' }));
  return { node: n, addrs, port: p0!, logs, failures, failed };
}

/** Dials `port` as node `self` with the cluster's secret and completes the handshake; `closed` resolves when the node hangs up. */
async function forge(port: number, self: string, to: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const handshake = new DialerHandshake({ self, cluster: 'c', prover: makeProver(peerKey(new TextEncoder().encode(SECRET))), nonce: new Uint8Array(randomBytes(32)), frameBytesMax, credential: 'cluster secret' }, to);
  const outcome = await handshakeOver(socket, handshake, frameBytesMax);
  if (outcome !== 'admitted') throw new Error(`handshake: ${outcome}`);
  return { socket, closed };
}

const warnings = (logs: readonly LogRecord[]) => logs.filter((r) => r.level === 'warn').map((r) => r.msg).join('\n');

// Each body, from node 1's connection, failed node 0 before the allow-list (or, for the last two, reached actors peers have no business with).
const refused: [string, string, string, (addrs: readonly [string, string]) => unknown, RegExp][] = [
  ['an unknown type to the replicator', 'replicator', 'replicator', () => ({ type: 'nope' }), /type "nope" is not one a peer may send \(only raft\)/],
  ['a raft message without its Raft message', 'replicator', 'replicator', () => ({ type: 'raft' }), /raft not a message object/],
  ['a journal sync report (persisted) to the replicator', 'replicator', 'replicator', () => ({ type: 'persisted', seq: 1, failed: 'x' }), /type "persisted" is not one a peer may send/],
  ['an unknown type to the committer', 'replicator', 'committer', () => ({ type: 'nope' }), /"committer": no actor here takes messages from other nodes/],
  ['a commit request to the committer', 'replicator', 'committer', () => ({ type: 'commit', id: 1, changeSet: new Uint8Array(3), bytes: 3 }), /no actor here takes messages from other nodes/],
  ['a proposal to the replicator', 'replicator', 'replicator', () => ({ type: 'propose', payloads: [], bytes: 0 }), /type "propose" is not one a peer may send/],
  ['an image chunk beyond its chunk count', 'replicator', 'replicator',
    ([n0, n1]) => ({ type: 'raft', msg: { type: 'snapshot', term: 1, from: n1, to: n0, index: 1000, snapTerm: 1, chunk: 5, chunks: 1, data: new Uint8Array(1), membership: { index: 0, membership: { members: [n0, n1] } }, commit: 1000, digest: 0 } }),
    /snapshot: chunk 5 is not below chunks 1/],
  ['a Raft message with a negative term', 'replicator', 'replicator',
    ([n0, n1]) => ({ type: 'raft', msg: { type: 'appendResp', term: -1, from: n1, to: n0, success: true, index: 1, hint: 0 } }), /appendResp: term must be a non-negative integer/],
  ['a Raft message in the name of another node', 'replicator', 'replicator',
    ([n0]) => ({ type: 'raft', msg: { type: 'timeoutNow', term: 1, from: '10.9.9.9:1', to: n0 } }), /timeoutNow: from "10\.9\.9\.9:1" is not the sending node/],
  ['a heartbeat with a status that is not one', 'watcher', 'watcher', () => ({ type: 'heartbeat', status: { role: 'leader', term: 'x' } }), /heartbeat: status\.term must be a non-negative integer/],
  ['a heartbeat from another actor', 'replicator', 'watcher', () => ({ type: 'heartbeat' }), /watcher takes messages only from its namesake/],
  ['a link event to the listener', 'listener', 'listener', ([n0, n1]) => ({ type: 'link', peer: n1, up: false, reason: 'forged' }), /"listener": no actor here takes messages from other nodes/],
];

describe('a node over TCP refuses what a peer has no business sending', () => {
  it.each(refused)('%s: that connection is closed with the reason logged; the node runs on and commits', async (_what, fromActor, toActor, body, reason) => {
    const s = await start();
    const peer = await forge(s.port, s.addrs[1], s.addrs[0]);
    peer.socket.write(sealed(peer.socket, encode([PROTOCOL_VERSION, 'msg', fromActor, toActor, body(s.addrs)])));
    // Bounded wait for whichever comes first; the bound fails the test, it measures nothing.
    const outcome = await Promise.race([peer.closed.then(() => 'closed' as const), s.failed, new Promise<'neither'>((resolve) => setTimeout(() => resolve('neither'), 5_000))]);
    expect(s.failures.map((e) => e.message)).toEqual([]);
    expect(s.node.info().state).toBe('running');
    expect(outcome).toBe('closed');
    await waitFor(() => reason.test(warnings(s.logs)), `node 0 logs ${reason}`);
    expect(warnings(s.logs)).toMatch(/refused a message/);
    await s.node.write((tx) => void tx.insert('kv', { k: 'after' }));
    expect(s.node.read((tx) => tx.count('kv'))).toBe(2);
    // Node 1 may connect again (its next connection is served like any other).
    const again = await forge(s.port, s.addrs[1], s.addrs[0]);
    expect(again.socket.destroyed).toBe(false);
  });

  it("a peer's well-formed heartbeat and Raft answer are delivered: the connection stays up and the node hears node 1", async () => {
    const s = await start();
    const [n0, n1] = s.addrs;
    const peer = await forge(s.port, n1, n0);
    let closed = false;
    void peer.closed.then(() => (closed = true));
    const term = s.node.info().term;
    const status = { role: 'follower', term, leader: n0, commit: 0, applied: 0, lastIndex: 0, membership: { members: [n0, n1] } };
    peer.socket.write(sealed(peer.socket, encode([PROTOCOL_VERSION, 'msg', 'watcher', 'watcher', { type: 'heartbeat', status }])));
    peer.socket.write(sealed(peer.socket, encode([PROTOCOL_VERSION, 'msg', 'replicator', 'replicator', { type: 'raft', msg: { type: 'appendResp', term, from: n1, to: n0, success: false, index: 0, hint: 0 } }])));
    await waitFor(() => s.node.info().peers.some((p) => p.nodeId === n1 && p.role === 'follower'), "node 0's view shows node 1's heartbeat");
    expect(closed).toBe(false);
    expect(warnings(s.logs)).not.toMatch(/refused a message/);
  });
});
