/**
 * TcpNetwork between real inline hosts on loopback: what a user of a cluster notices — messages
 * arrive, in order, intact; a restarted peer is reached again; strangers are refused; the secret never
 * shows in a log line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SinkReport } from '../../src/actors/examples/stream.js';
import { TcpNetwork, TransportListenError } from '../../src/transport/tcp/index.js';
import type { RemoteStream, TestMember } from './tcp-harness.js';
import { SECRET, freePorts, logText, nextMessage, startCluster, startMember, waitFor } from './tcp-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Streams `count` items from `from` to a fresh sink on `to` and returns what that sink saw. */
async function stream(from: TestMember, to: TestMember, count: number): Promise<SinkReport> {
  const sinkName = `from-${from.id}`;
  to.host.send({ node: to.id, actor: sinkName }, { type: 'expect', total: count });
  from.host.send({ node: from.id, actor: `to-${to.id}` }, { type: 'remoteStream', to: { node: to.id, actor: sinkName }, count, windowItems: 400 } satisfies RemoteStream);
  return nextMessage<SinkReport>(to, 'sinkReport', 30_000);
}

describe('TcpNetwork: messages between nodes', () => {
  it('two nodes exchange thousands of messages each way, in order, none lost', async () => {
    const cluster = await startCluster(['a', 'b']);
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    const [ab, ba] = await Promise.all([stream(a, b, 5000), stream(b, a, 5000)]);
    expect(ab).toMatchObject({ received: 5000, outOfOrder: 0 });
    expect(ba).toMatchObject({ received: 5000, outOfOrder: 0 });
    const stats = a.network.stats();
    expect(stats.framesSent).toBeGreaterThanOrEqual(5000);
    expect(stats.bytesReceived).toBeGreaterThan(0);
    expect(stats.dropsQueueFull + stats.dropsUndeliverable + stats.dropsUnencodable).toBe(0);
    expect(stats.peers['b']).toMatchObject({ outbound: 'connected', inbound: 'connected' });
  });

  it('three nodes each stream to both others at once, every link in order', async () => {
    const cluster = await startCluster(['a', 'b', 'c']);
    cleanups.push(cluster.stop);
    const [a, b, c] = cluster.members as [TestMember, TestMember, TestMember];
    // Six streams at once, one sink per sender on each receiver: each sink counts its own link's order.
    const pairs: [TestMember, TestMember][] = [[a, b], [a, c], [b, a], [b, c], [c, a], [c, b]];
    const reports = await Promise.all(pairs.map(([from, to]) => stream(from, to, 2000)));
    expect(reports).toEqual(pairs.map(() => expect.objectContaining({ received: 2000, outOfOrder: 0 })));
  });

  it('values survive the wire: bigint, large integers, bytes, nested objects, strings', async () => {
    const cluster = await startCluster(['a', 'b']);
    cleanups.push(cluster.stop);
    const [a] = cluster.members as [TestMember, TestMember];
    const value = {
      big: 2n ** 62n, negative: -(2n ** 40n), timestampMs: 1_763_000_000_000, float: 0.1, neg: -7,
      bytes: new Uint8Array([0, 1, 254, 255]), text: 'héllo ✓', nested: { list: [1, 'two', [3]], empty: {} }, nil: null,
    };
    a.host.send({ node: 'b', actor: 'echo' }, { type: 'echo', value });
    const echoed = await nextMessage<{ type: 'echoed'; value: unknown }>(a, 'echoed');
    expect(echoed.value).toEqual(value);
  });

  it('messages sent in one turn arrive intact, whatever their sizes: small ones copied together, large ones each on their own', async () => {
    const cluster = await startCluster(['a', 'b']);
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    // Distinct contents, below and above the sizes at which a connection copies a frame on its own
    // (8 KiB) and the codec's encoding stops being a cached view (4 KiB): every one must arrive as sent.
    const values = [10, 5_000, 20_000, 30, 9_000, 40_000, 20_000, 100].map((size, i) => String.fromCharCode(97 + i).repeat(size));
    for (const value of values) a.host.send({ node: 'b', actor: 'echo' }, { type: 'echo', value });
    await waitFor(() => a.inbox.filter((m) => m.type === 'echoed').length >= values.length, 'every echo back');
    expect(a.inbox.filter((m) => m.type === 'echoed').map((m) => (m as { value?: unknown }).value)).toEqual(values);
    expect(a.network.stats().badInputClosures + b.network.stats().badInputClosures).toBe(0);
  });

  it('a peer that restarts on the same port is reached again, with disconnect and connect events', async () => {
    const cluster = await startCluster(['a', 'b']);
    const [a, b] = cluster.members as [TestMember, TestMember];
    cleanups.push(() => a.stop());
    const events: string[] = [];
    a.network.on('connect', (peer, direction) => events.push(`connect ${peer} ${direction}`));
    a.network.on('disconnect', (peer, direction) => events.push(`disconnect ${peer} ${direction}`));
    await b.stop();
    await waitFor(() => a.network.stats().peers['b']?.outbound === 'backoff', 'a sees b down');
    // While b is down, a's messages to it are dropped and counted, never queued without bound.
    a.host.send({ node: 'b', actor: 'echo' }, { type: 'echo', value: 'lost' });
    expect(a.network.stats().dropsDisconnected).toBeGreaterThanOrEqual(1);
    const b2 = await startMember('b', cluster.ports['b']!, { a: `127.0.0.1:${cluster.ports['a']}` });
    cleanups.push(() => b2.stop());
    await waitFor(() => a.network.stats().peers['b']?.outbound === 'connected' && a.network.stats().peers['b']?.inbound === 'connected', 'a reconnected to b');
    const report = await stream(a, b2, 1000);
    expect(report).toMatchObject({ received: 1000, outOfOrder: 0 });
    expect(events).toEqual(expect.arrayContaining(['disconnect b outbound', 'disconnect b inbound', 'connect b outbound', 'connect b inbound']));
  });
});

describe('TcpNetwork: who may join', () => {
  /** Node x (configured on a, but not started by startCluster) with its own idea of the secret or cluster. */
  async function stranger(extra: { secret?: string; clusterName?: string }, target: number, port: number, logs: LogRecord[]): Promise<TcpNetwork> {
    const network = new TcpNetwork({
      self: 'x', listen: `127.0.0.1:${port}`, peers: { a: `127.0.0.1:${target}` }, clusterName: extra.clusterName ?? 'test-cluster',
      secret: extra.secret ?? SECRET, connectIntervalMs: 50, log: (r) => logs.push(r),
    });
    await network.listen();
    cleanups.push(() => network.close());
    return network;
  }

  it.each([
    // The acceptor proves itself first, so a dialer with the wrong secret is the first to notice.
    ['a wrong secret', { secret: 'not the cluster secret at all' }, /does not know the cluster secret/, /could not connect to node "a": handshake failed: the peer does not know the cluster secret/],
    ['a wrong cluster name', { clusterName: 'other-cluster' }, /is in cluster "other-cluster", not "test-cluster"/, /refused by the peer: cluster name mismatch/],
  ])('refuses a node with %s, logs why on both sides, and keeps serving its peers', async (_what, extra, acceptorReason, dialerReason) => {
    const cluster = await startCluster(['a', 'c'], {}, ['x']);
    cleanups.push(cluster.stop);
    const [a, c] = cluster.members as [TestMember, TestMember];
    const strangerLogs: LogRecord[] = [];
    const x = await stranger(extra, cluster.ports['a']!, cluster.ports['x']!, strangerLogs);
    await waitFor(() => acceptorReason.test(logText(a.logs)), `a logs ${acceptorReason}`);
    await waitFor(() => dialerReason.test(logText(strangerLogs)), `x logs ${dialerReason}`);
    expect(x.stats().peers['a']?.outbound).not.toBe('connected');
    // x counts its failed handshakes too, and a never admits it in either direction.
    expect(x.stats().handshakeFailures).toBeGreaterThanOrEqual(1);
    expect(a.network.stats().peers['x']).toMatchObject({ inbound: 'disconnected' });
    expect(a.network.stats().peers['c']).toMatchObject({ outbound: 'connected', inbound: 'connected' });
    expect(await stream(a, c, 500)).toMatchObject({ received: 500, outOfOrder: 0 });
  });

  it('the secret appears in no log line, whatever happened', async () => {
    const cluster = await startCluster(['a', 'b'], {}, ['x']);
    const [a, b] = cluster.members as [TestMember, TestMember];
    const strangerLogs: LogRecord[] = [];
    await stranger({ secret: 'a different secret, also long' }, cluster.ports['a']!, cluster.ports['x']!, strangerLogs);
    await waitFor(() => a.network.stats().handshakeFailures >= 1, 'a refused the stranger');
    await stream(a, b, 100);
    await b.stop();
    await waitFor(() => a.network.stats().peers['b']?.outbound === 'backoff', 'a sees b down');
    await a.stop();
    const everything = logText([...a.logs, ...b.logs, ...strangerLogs]);
    expect(everything.length).toBeGreaterThan(0);
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('a different secret');
    expect(everything).not.toContain(Buffer.from(SECRET).toString('hex'));
    expect(everything).not.toContain(Buffer.from(SECRET).toString('base64'));
  });
});

describe('TcpNetwork: listening', () => {
  it('reports the port it bound when asked for port 0', async () => {
    const network = new TcpNetwork({ self: 'a', listen: '127.0.0.1:0', peers: {}, clusterName: 'c', secret: SECRET, log: () => undefined });
    cleanups.push(() => network.close());
    const bound = await network.listen();
    expect(bound.host).toBe('127.0.0.1');
    expect(bound.port).toBeGreaterThan(0);
    expect(network.address()).toEqual(bound);
  });

  it('says which address is taken when another node listens there', async () => {
    const first = new TcpNetwork({ self: 'a', listen: '127.0.0.1:0', peers: {}, clusterName: 'c', secret: SECRET, log: () => undefined });
    cleanups.push(() => first.close());
    const { port } = await first.listen();
    const second = new TcpNetwork({ self: 'b', listen: `127.0.0.1:${port}`, peers: {}, clusterName: 'c', secret: SECRET, log: () => undefined });
    const error = await second.listen().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportListenError);
    expect(error).toMatchObject({ code: 'LISTEN_FAILED', errno: 'EADDRINUSE' });
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('works over IPv6 loopback, or says clearly that IPv6 is missing', async () => {
    const make = (self: string, listen: string, peers: Record<string, string>) =>
      new TcpNetwork({ self, listen, peers, clusterName: 'c', secret: SECRET, socketDomain: 'ipv6', connectIntervalMs: 50, log: () => undefined });
    const ports = await freePorts(2, '::1').catch(() => undefined);
    if (ports === undefined) {
      // This machine has no IPv6 loopback: the error must say so, naming the address.
      await expect(make('a', '[::1]:0', {}).listen()).rejects.toThrow(/\[::1\]:0.*IPv6/);
      return;
    }
    const [pa, pb] = ports as [number, number];
    const a = make('a', `[::1]:${pa}`, { b: `[::1]:${pb}` });
    const b = make('b', `[::1]:${pb}`, { a: `[::1]:${pa}` });
    cleanups.push(() => a.close(), () => b.close());
    expect(await a.listen()).toEqual({ host: '::1', port: pa });
    await b.listen();
    await waitFor(() => [a, b].every((n) => Object.values(n.stats().peers).every((p) => p.outbound === 'connected' && p.inbound === 'connected')), 'a and b connected over ::1');
    expect(a.stats().handshakeFailures + b.stats().handshakeFailures).toBe(0);
  });
});
