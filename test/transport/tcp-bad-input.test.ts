/**
 * Bad input never takes a node down: garbage, oversized lengths, truncated frames and well-formed
 * frames of the wrong shape, from a stranger or from an authenticated peer, close that one connection
 * with a logged reason, and the node keeps serving everyone else.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkReport } from '../../src/actors/examples/stream.js';
import { FrameCodec } from '../../src/transport/tcp/framing.js';
import { DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { peerKey } from '../../src/transport/tcp/keys.js';
import { PROTOCOL_VERSION } from '../../src/transport/tcp/protocol.js';
import { tcpPendingHandshakesMax } from '../../src/limits.js';
import type { RemoteStream, TestMember } from './tcp-harness.js';
import { SECRET, logText, nextMessage, sealed, startCluster, waitFor, handshakeOver } from './tcp-harness.js';

const frameBytesMax = 64 * 1024;
const codec = new FrameCodec(frameBytesMax);

let cluster: Awaited<ReturnType<typeof startCluster>> | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await cluster?.stop();
  cluster = undefined;
});

async function start(): Promise<[TestMember, TestMember]> {
  cluster = await startCluster(['a', 'b'], { frameBytesMax }, ['x']);
  return cluster.members as [TestMember, TestMember];
}

/** A raw client socket: what it received, and a promise for its close. */
async function raw(port: number): Promise<{ socket: Socket; closed: Promise<void>; received: Buffer[] }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, received };
}

const frame = (value: unknown): Uint8Array => {
  const encoded = codec.encode(value, frameBytesMax);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};

/** Connects as node x with the right secret and completes the handshake, as a real peer would. */
async function authenticated(port: number) {
  const client = await raw(port);
  const handshake = new DialerHandshake({ self: 'x', cluster: 'test-cluster', prover: makeProver(peerKey(new TextEncoder().encode(SECRET))), nonce: new Uint8Array(randomBytes(32)), frameBytesMax, credential: 'cluster secret' }, 'a');
  const outcome = await handshakeOver(client.socket, handshake, frameBytesMax);
  if (outcome !== 'admitted') throw new Error(`handshake: ${outcome}`);
  return client;
}

/** The node still does its job: a stream each way between a and b arrives whole and in order. */
async function stillServing(a: TestMember, b: TestMember, count = 300): Promise<void> {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    to.host.send({ node: to.id, actor: `from-${from.id}` }, { type: 'expect', total: (to === b ? servedAB : servedBA) + count });
    from.host.send({ node: from.id, actor: `to-${to.id}` }, { type: 'remoteStream', to: { node: to.id, actor: `from-${from.id}` }, count, windowItems: 100 } satisfies RemoteStream);
    const report = await nextMessage<SinkReport>(to, 'sinkReport');
    if (to === b) servedAB += count;
    else servedBA += count;
    expect(report).toMatchObject({ received: to === b ? servedAB : servedBA, outOfOrder: 0 });
  }
}
let servedAB = 0;
let servedBA = 0;
afterEach(() => {
  servedAB = 0;
  servedBA = 0;
});

const header = (length: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length, false);
  return bytes;
};

describe('TcpNetwork under bad input from a stranger (before the handshake)', () => {
  it.each([
    ['garbage text (its first bytes read as a huge length)', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], /exceeds the bound of 4096 bytes/],
    ['an oversized length', [header(0xffffffff)], /frame of 4294967295 bytes exceeds the bound/],
    ['undecodable bytes', [header(3), new Uint8Array([0xc1, 0xc1, 0xc1])], /undecodable msgpack/],
    ['a frame that is not a protocol frame', [frame({ hello: 'world' })], /bad frame: frame is not an array/],
    ['another protocol version', [frame([2, 'hello', 'test-cluster', 'x', 'a', new Uint8Array(32)])], new RegExp(`unsupported protocol version 2 \\(this node speaks ${PROTOCOL_VERSION}\\)`)],
    // Version 5 (before frames were tagged): its hello is refused as such, not read as a tagged stream.
    ['the previous protocol version', [frame([5, 'hello', 'test-cluster', 'x', 'a', new Uint8Array(32), frameBytesMax])], /unsupported protocol version 5 \(this node speaks 6\)/],
    ['an actor message before the handshake', [frame([PROTOCOL_VERSION, 'msg', 'x', 'echo', { type: 'echo', value: 1 }])], /unexpected msg frame during the handshake/],
  ])('%s: closes that connection, logs why, serves the others', async (_what, bytes, reason) => {
    const [a, b] = await start();
    const client = await raw(cluster!.ports['a']!);
    for (const chunk of bytes) client.socket.write(chunk);
    await client.closed;
    await waitFor(() => reason.test(logText(a.logs)), `a logs ${reason}`);
    expect(a.network.stats().handshakeFailures).toBe(1);
    await stillServing(a, b);
  });

  it('a truncated frame: the reason names it when the stranger hangs up', async () => {
    const [a, b] = await start();
    const client = await raw(cluster!.ports['a']!);
    client.socket.end(Buffer.concat([header(100), Buffer.from([1, 2, 3])]));
    await client.closed;
    await waitFor(() => /truncated frame: the connection ended 3 bytes into a frame of 100 bytes/.test(logText(a.logs)), 'a logs the truncation');
    await stillServing(a, b);
  });

  it('a silent stranger is cut after connectTimeoutMs', async () => {
    const [a, b] = await start();
    const client = await raw(cluster!.ports['a']!);
    await client.closed;
    expect(logText(a.logs)).toMatch(/no completed handshake within connectTimeoutMs \(2000 ms\)/);
    await stillServing(a, b);
  });

  it(`past ${tcpPendingHandshakesMax} connections in their handshake, more are refused at once`, async () => {
    const [a, b] = await start();
    const clients = await Promise.all(Array.from({ length: tcpPendingHandshakesMax + 1 }, () => raw(cluster!.ports['a']!)));
    await waitFor(() => a.network.stats().refusedPending >= 1, 'a refused the one too many');
    for (const client of clients) client.socket.destroy();
    await stillServing(a, b);
  });
});

describe('TcpNetwork under bad input from an authenticated peer', () => {
  // Whole frames go with their tag (the peer knows the keys); a bad length is refused before any tag.
  it.each([
    ['an oversized length', [header(frameBytesMax + 1)], false, /frame of 65537 bytes exceeds the bound of 65536 bytes/],
    ['undecodable bytes', [header(2), new Uint8Array([0x92, 0x01])], true, /undecodable msgpack/],
    ['a message without a type', [frame([PROTOCOL_VERSION, 'msg', 'x', 'echo', { kind: 'no type' }])], true, /bad frame: msg: body has no string type/],
    ['a handshake frame after the handshake', [frame([PROTOCOL_VERSION, 'welcome'])], true, /unexpected welcome frame after the handshake/],
  ])('%s: closes that connection, logs why, serves the others', async (_what, bytes, tagged, reason) => {
    const [a, b] = await start();
    const client = await authenticated(cluster!.ports['a']!);
    await waitFor(() => a.network.stats().peers['x']?.inbound === 'connected', 'a admitted x');
    client.socket.write(tagged ? sealed(client.socket, Buffer.concat(bytes)) : Buffer.concat(bytes));
    await client.closed;
    await waitFor(() => reason.test(logText(a.logs)), `a logs ${reason}`);
    expect(a.network.stats()).toMatchObject({ badInputClosures: 1, handshakeFailures: 0 });
    expect(a.network.stats().peers['x']?.inbound).toBe('disconnected');
    await stillServing(a, b);
  });

  it('a truncated frame at hang-up', async () => {
    const [a, b] = await start();
    const client = await authenticated(cluster!.ports['a']!);
    client.socket.end(Buffer.concat([header(50), Buffer.from([0x91])]));
    await client.closed;
    await waitFor(() => /truncated frame: the connection ended 1 bytes into a frame of 50 bytes/.test(logText(a.logs)), 'a logs the truncation');
    expect(a.network.stats().badInputClosures).toBe(1);
    await stillServing(a, b);
  });

  it('well-formed messages from it are delivered; a message for an unknown actor is only counted', async () => {
    const [a, b] = await start();
    const client = await authenticated(cluster!.ports['a']!);
    client.socket.write(sealed(client.socket, frame([PROTOCOL_VERSION, 'msg', 'probe', 'nobody', { type: 'hello' }])));
    client.socket.write(sealed(client.socket, frame([PROTOCOL_VERSION, 'msg', 'probe', 'from-b', { type: 'expect', total: 0 }])));
    await waitFor(() => a.network.stats().dropsUndeliverable === 1, 'the unknown actor counted');
    await nextMessage<SinkReport>(a, 'sinkReport'); // the sink did get x's expect and answered at once
    expect(a.network.stats().badInputClosures).toBe(0);
    await stillServing(a, b);
  });
});
