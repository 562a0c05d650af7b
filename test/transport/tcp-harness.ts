/**
 * Shared pieces of the TCP transport tests: small actors that talk across nodes, a cluster of real
 * inline hosts joined by TcpNetworks on loopback, and waiting helpers (deadline-bounded, never timed
 * assertions).
 */
import { createServer, type Socket } from 'node:net';
import type { Address, LogRecord, Message } from '../../src/runtime/actor.js';
import { defineActor } from '../../src/runtime/actor.js';
import { assertNever } from '../../src/runtime/assert.js';
import type { NodeHost } from '../../src/runtime/host.js';
import { startInlineNode } from '../../src/runtime/inline-host.js';
import { sink } from '../../src/actors/examples/stream.js';
import type { Ack, Item } from '../../src/actors/examples/stream.js';
import { TcpNetwork } from '../../src/transport/tcp/index.js';
import type { TcpNetworkConfig } from '../../src/transport/tcp/index.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { FrameCodec, FrameReader } from '../../src/transport/tcp/framing.js';
import type { DialerHandshake } from '../../src/transport/tcp/handshake.js';
import { RunSealer } from '../../src/transport/tcp/frame-mac.js';
import { frameToWire, parseFrame, type WireFrame } from '../../src/transport/tcp/protocol.js';

export const SECRET = 'correct horse battery staple 42';

/** Streams `count` items to a sink on another node, at most `windowItems` unacknowledged. */
export interface RemoteStream {
  readonly type: 'remoteStream';
  readonly to: Address;
  readonly count: number;
  readonly windowItems: number;
}

export const remoteStreamer = defineActor<RemoteStream | Ack, Record<string, never>>({
  kind: 'test/remote-streamer',
  module: import.meta.url,
  create(ctx) {
    let to: Address | undefined;
    let next = 1;
    let last = 0;
    let acked = 0;
    let windowItems = 1;
    const pump = () => {
      while (to !== undefined && next <= last && next - acked <= windowItems) {
        ctx.send(to, { type: 'item', seq: next } satisfies Item);
        next++;
      }
    };
    return {
      receive(message) {
        switch (message.type) {
          case 'remoteStream':
            to = message.to;
            last += message.count;
            windowItems = message.windowItems;
            pump();
            break;
          case 'ack':
            acked = Math.max(acked, message.upTo);
            pump();
            break;
          default:
            assertNever(message, 'remote streamer message');
        }
      },
    };
  },
});

export interface Echo {
  readonly type: 'echo';
  readonly value: unknown;
}

/** Sends every message straight back to its sender, as `{ type: 'echoed', value }`. */
export const echo = defineActor<Echo, Record<string, never>>({
  kind: 'test/echo',
  module: import.meta.url,
  create(ctx) {
    return {
      receive(message, from) {
        ctx.send(from, { type: 'echoed', value: message.value });
      },
    };
  },
});

/** Ports that were free a moment ago (the tests need every peer's port before any network starts). */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface TestMember {
  readonly id: string;
  readonly network: TcpNetwork;
  readonly host: NodeHost;
  readonly logs: LogRecord[];
  readonly inbox: Message[];
  stop(): Promise<void>;
}

/**
 * Starts one node: a TcpNetwork listening on `port` and an inline host with, per other node, a sink
 * (`from-<id>`) and a remote streamer (`to-<id>`), and an echo actor.
 */
export async function startMember(id: string, port: number, peers: Record<string, string>, extra: Partial<TcpNetworkConfig> = {}, logs: LogRecord[] = []): Promise<TestMember> {
  const log = (record: LogRecord) => logs.push(record);
  const network = new TcpNetwork({ self: id, listen: `127.0.0.1:${port}`, peers, clusterName: 'test-cluster', secret: SECRET, connectIntervalMs: 50, connectTimeoutMs: 2000, log, ...extra });
  await network.listen();
  const perPeer = Object.keys(peers).flatMap((peer) => [
    { name: `from-${peer}`, kind: sink, params: { ackEvery: 50 } },
    { name: `to-${peer}`, kind: remoteStreamer, params: {} },
  ]);
  const host = await startInlineNode(
    { node: id, actors: [...perPeer, { name: 'echo', kind: echo, params: {} }] },
    { outbound: network.outbound(id), log },
  );
  network.attach(host);
  const inbox: Message[] = [];
  host.on('appMessage', (message) => inbox.push(message));
  return {
    id, network, host, logs, inbox,
    async stop() {
      network.detach(id);
      await network.close();
      await host.stop();
    },
  };
}

/**
 * Starts `ids.length` nodes on loopback, each listing all others (and the `absent` ones, which get a
 * port but no node: a test may start one there itself), and waits until every link between them is up.
 */
export async function startCluster(
  ids: readonly string[],
  extra: Partial<TcpNetworkConfig> | ((id: string) => Partial<TcpNetworkConfig>) = {},
  absent: readonly string[] = [],
): Promise<{ members: TestMember[]; ports: Record<string, number>; stop(): Promise<void> }> {
  const all = [...ids, ...absent];
  const portList = await freePorts(all.length);
  const ports = Object.fromEntries(all.map((id, i) => [id, portList[i]!]));
  const peersOf = (id: string) => Object.fromEntries(all.filter((p) => p !== id).map((p) => [p, `127.0.0.1:${ports[p]}`]));
  const members = await Promise.all(ids.map((id) => startMember(id, ports[id]!, peersOf(id), typeof extra === 'function' ? extra(id) : extra)));
  const up = (m: TestMember) => ids.every((p) => p === m.id || (m.network.stats().peers[p]?.outbound === 'connected' && m.network.stats().peers[p]?.inbound === 'connected'));
  await waitFor(() => members.every(up), 'every link up');
  return { members, ports, stop: async () => void (await Promise.all(members.map((m) => m.stop()))) };
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs` (a bound, not a measurement). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits for an application message of `type` on `member` and removes it from the inbox. */
export async function nextMessage<T extends Message>(member: TestMember, type: string, timeoutMs?: number): Promise<T> {
  await waitFor(() => member.inbox.some((m) => m.type === type), `${member.id}: a ${type} message`, timeoutMs);
  const at = member.inbox.findIndex((m) => m.type === type);
  return member.inbox.splice(at, 1)[0] as T;
}


/** Every log line as text, for searching. */
export const logText = (logs: readonly LogRecord[]): string =>
  logs.map((r) => `${r.level} ${r.node}/${r.actor}: ${r.msg}${r.fields === undefined ? '' : ` ${JSON.stringify(r.fields)}`}`).join('\n');

/** Resolves with the leader once every given node names the same one. */
export async function agreedLeader(nodes: readonly ClusterNode[]): Promise<ClusterNode> {
  let leader: ClusterNode | undefined;
  await waitFor(() => {
    leader = nodes.find((n) => n.info().role === 'leader');
    return leader !== undefined && nodes.every((n) => n.info().leader === leader!.nodeId);
  }, 'a leader every node knows', 30_000);
  return leader!;
}

/** What tags the frames a socket sends once `handshakeOver` got it admitted (plain TCP). */
const sealers = new WeakMap<Socket, RunSealer>();

/**
 * `frames` (length prefixes included) as an admitted dialer sends them on `socket`: one run (more if
 * they pass its bounds), closed by its tag record, the next in that socket's sequence. Frames without
 * one are never read by the node.
 */
export function sealed(socket: Socket, ...frames: Uint8Array[]): Uint8Array {
  const sealer = sealers.get(socket);
  if (sealer === undefined) throw new Error('sealed: this socket was not admitted by handshakeOver');
  const out = frames.flatMap((frame) => [sealer.add(frame), frame].filter((bytes) => bytes !== undefined));
  return Buffer.concat([...out, sealer.end()!]);
}

/**
 * Runs a dialer's `handshake` over a connected raw `socket`, as a hand-made peer or client would: resolves
 * with 'admitted', the handshake's refusal, 'bad frame' or 'closed'. It stops listening once it ends, so
 * the caller may pause the socket or read it its own way from then on; frames it sends from then on go
 * through `sealed` (the node checks every frame's tag).
 */
export function handshakeOver(socket: Socket, handshake: DialerHandshake, frameBytesMax: number): Promise<string> {
  const codec = new FrameCodec(frameBytesMax);
  const reader = new FrameReader(frameBytesMax);
  const send = (frames: readonly WireFrame[]) => {
    for (const f of frames) {
      const encoded = codec.encode(frameToWire(f), frameBytesMax);
      if (!encoded.ok) throw new Error(encoded.reason);
      socket.write(encoded.payload);
    }
  };
  return new Promise<string>((resolve) => {
    const end = (outcome: string) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onClose = () => end('closed');
    const onData = (chunk: Buffer) => {
      for (const result of reader.push(chunk)) {
        const decoded = result.ok ? codec.decode(result.payload) : undefined;
        const parsed = decoded?.ok === true ? parseFrame(decoded.value) : undefined;
        if (parsed === undefined || parsed.type === 'rejected') return end('bad frame');
        const step = handshake.step(parsed);
        send(step.send);
        if (step.outcome?.ok === true && step.outcome.session !== undefined) sealers.set(socket, new RunSealer(step.outcome.session.send));
        if (step.outcome !== undefined) return end(step.outcome.ok ? 'admitted' : step.outcome.reason);
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    send(handshake.start().send);
  });
}
