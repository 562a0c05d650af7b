/**
 * Bounded memory toward a slow peer: when a peer stops reading, messages to it queue only up to
 * outgoingBytesMax, then drop and are counted; the sender's other links are unaffected.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameCodec, FrameReader } from '../../src/transport/tcp/framing.js';
import { AcceptorHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { peerKey } from '../../src/transport/tcp/keys.js';
import { frameToWire, parseFrame } from '../../src/transport/tcp/protocol.js';
import type { TestMember } from './tcp-harness.js';
import { tcpFrameBytesMaxDefault } from '../../src/limits.js';
import { SECRET, startCluster, waitFor } from './tcp-harness.js';

const codec = new FrameCodec(1 << 20);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Node x as a stalled peer: it admits its dialers (it knows the secret) and then never reads again, so
 * everything sent to it piles up in the sender.
 */
function stalledPeer(port: number): Promise<{ server: Server; admitted: () => number }> {
  let admitted = 0;
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const handshake = new AcceptorHandshake(
      { self: 'x', cluster: 'test-cluster', prover: makeProver(peerKey(new TextEncoder().encode(SECRET))), nonce: new Uint8Array(randomBytes(32)), frameBytesMax: tcpFrameBytesMaxDefault, credential: 'cluster secret' },
      () => true,
    );
    const reader = new FrameReader(4096);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const result of reader.push(chunk)) {
        const decoded = result.ok ? codec.decode(result.payload) : undefined;
        const frame = decoded?.ok ? parseFrame(decoded.value) : undefined;
        if (frame === undefined || frame.type === 'rejected') return void socket.destroy();
        const step = handshake.step(frame);
        for (const out of step.send) {
          const encoded = codec.encode(frameToWire(out), 4096);
          if (encoded.ok) socket.write(encoded.payload);
        }
        if (step.outcome?.ok === true) {
          admitted++;
          socket.pause(); // and never read again
          return;
        }
      }
    });
  });
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, admitted: () => admitted })));
}

describe('TcpNetwork bounds', () => {
  it('a peer that stops reading costs at most outgoingBytesMax; the excess drops and is counted', async () => {
    const outgoingBytesMax = 256 * 1024;
    const cluster = await startCluster(['a', 'b'], { outgoingBytesMax }, ['x']);
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    const x = await stalledPeer(cluster.ports['x']!);
    await waitFor(() => a.network.stats().peers['x']?.outbound === 'connected' && x.admitted() >= 1, 'a connected to the stalled x');
    const payload = new Uint8Array(16 * 1024).fill(1);
    const count = 2000; // 32 MiB: far more than the kernel's socket buffers and the bound together
    for (let i = 0; i < count; i++) a.host.send({ node: 'x', actor: 'sink' }, { type: 'blob', payload });
    const stats = a.network.stats();
    expect(stats.dropsQueueFull).toBeGreaterThan(0);
    expect(stats.peers['x']!.queuedBytes).toBeLessThanOrEqual(outgoingBytesMax);
    // The link to b is untouched: messages still go through.
    a.host.send({ node: 'b', actor: 'echo' }, { type: 'echo', value: 'still here' });
    await waitFor(() => a.inbox.some((m) => m.type === 'echoed'), 'the echo from b');
    expect(b.network.stats().badInputClosures).toBe(0);
  });

  it('small messages, copied together before they reach the socket, count toward outgoingBytesMax as soon as they are sent', async () => {
    const outgoingBytesMax = 256 * 1024;
    const cluster = await startCluster(['a'], { outgoingBytesMax }, ['x']);
    cleanups.push(cluster.stop);
    const [a] = cluster.members as [TestMember];
    const x = await stalledPeer(cluster.ports['x']!);
    await waitFor(() => a.network.stats().peers['x']?.outbound === 'connected' && x.admitted() >= 1, 'a connected to the stalled x');
    const payload = new Uint8Array(1024).fill(1);
    const sentBefore = a.network.stats().bytesSent;
    // 32 MiB in one turn: nothing reaches the kernel before it ends, so every byte taken is still queued.
    for (let i = 0; i < 32 * 1024; i++) a.host.send({ node: 'x', actor: 'sink' }, { type: 'blob', payload });
    const stats = a.network.stats();
    expect(stats.dropsQueueFull).toBeGreaterThan(0);
    expect(stats.bytesSent - sentBefore).toBeGreaterThan(outgoingBytesMax / 2);
    expect(stats.bytesSent - sentBefore).toBeLessThanOrEqual(outgoingBytesMax);
  });
});
