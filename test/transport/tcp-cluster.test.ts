/**
 * `openNode` with `nwType: 'tcp'`: whole cluster nodes joined by TcpNetworks on loopback, in one
 * process (the separate-process cluster is tested through the command line). What a user would notice:
 * writes from every node commit and read back everywhere, peers connect, traffic is counted, a node
 * stopped and reopened from its data directory catches up, and a node with the wrong secret is kept out.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect as connectTcp } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode, PeerInfo } from '../../src/node/cluster-node.js';
import type { NodeParams } from '../../src/node/params.js';
import type { TcpNodeParams } from '../../src/node/tcp.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { SECRET, agreedLeader, freePorts, logText, waitFor } from './tcp-harness.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function addresses(count: number): Promise<string[]> {
  return (await freePorts(count)).map((port) => `127.0.0.1:${port}`);
}

function tcp(logs: LogRecord[], extra: Partial<TcpNodeParams> = {}): TcpNodeParams {
  return { clusterName: 'tcp-cluster-test', secret: SECRET, connectIntervalMs: 50, connectTimeoutMs: 5_000, log: (r) => void logs.push(r), ...extra };
}

async function node(params: Omit<NodeParams, 'schema' | 'nwType'>): Promise<ClusterNode> {
  const opened = await openNode({ schema, nwType: 'tcp', ...params });
  open.push(opened);
  return opened;
}

const get = (n: ClusterNode, k: string) => n.read((tx) => tx.get('kv', k)?.['v']);
const converged = (nodes: readonly ClusterNode[]) => waitFor(() => new Set(nodes.map((n) => n.contentHash())).size === 1, 'equal content hashes', 30_000);

describe.each(['inline', 'thread'] as const)('openNode over TCP on the %s host', (host) => {
  it('commits writes from every node, reads them everywhere, connects every peer and counts the bytes', async () => {
    const addrs = await addresses(3);
    const logs: LogRecord[] = [];
    const connects: string[] = [];
    const nodes = await Promise.all(addrs.map(async (_, nodeId) => {
      const n = await node({ nodeId, nodes: addrs.map((addr) => ({ addr })), host, tcp: tcp(logs) });
      n.on('connect', (peer: PeerInfo) => connects.push(`${n.nodeId}>${peer.nodeId}`));
      return n;
    }));
    await agreedLeader(nodes);
    await Promise.all(nodes.map((n, i) => n.write((tx) => void tx.upsert('kv', { k: `key${i}`, v: i }))));
    await converged(nodes);
    for (const n of nodes) expect([0, 1, 2].map((i) => get(n, `key${i}`))).toEqual([0, 1, 2]);
    await waitFor(() => nodes.every((n) => n.info().activeNodes.length === 3), 'every node sees the other two');
    for (const n of nodes) {
      const info = n.info();
      expect(info.hasQuorum).toBe(true);
      expect(info.bytesSent).toBeGreaterThan(0);
      expect(info.bytesReceived).toBeGreaterThan(0);
      expect(info.peers.every((p) => p.connected)).toBe(true);
    }
    expect(connects.length).toBeGreaterThanOrEqual(6);
    expect(logText(logs)).not.toContain(SECRET);
  });

  it('catches up a node that was stopped and reopened from its data directory, while the others committed', async () => {
    const addrs = await addresses(3);
    const dataDir = mkdtempSync(join(tmpdir(), 'chorus-tcp-'));
    dirs.push(dataDir);
    const logs: LogRecord[] = [];
    const params = (nodeId: number) => ({ nodeId, nodes: addrs.map((addr) => ({ addr })), host, dataDir, tcp: tcp(logs) });
    const nodes = await Promise.all(addrs.map((_, i) => node(params(i))));
    const leader = await agreedLeader(nodes);
    for (let i = 0; i < 10; i++) await leader.write((tx) => void tx.upsert('kv', { k: `before${i}`, v: i }));
    await converged(nodes);
    const awayAt = nodes.findIndex((n) => n !== leader);
    const others = nodes.filter((_, i) => i !== awayAt);
    const disconnected = new Promise<PeerInfo>((resolve) => leader.on('disconnect', resolve));
    await nodes[awayAt]!.stop({ scope: 'local' });
    const gone = await disconnected;
    expect(gone.nodeId).toBe(addrs[awayAt]);
    expect(gone.reason).toMatch(/connection .*closed/); // the transport reported the link down: no wait for silence
    for (let i = 0; i < 20; i++) await others[i % 2]!.write((tx) => void tx.upsert('kv', { k: `while${i}`, v: i }));
    expect(others.every((n) => n.info().hasQuorum)).toBe(true);

    const back = await node(params(awayAt));
    expect(get(back, 'before9')).toBe(9); // from its own journal, before it heard from anyone
    const synced = await new Promise<{ via: string }>((resolve) => back.on('synced', resolve));
    expect(synced.via).toBe('log');
    const all = [...others, back];
    await converged(all);
    expect(get(back, 'while19')).toBe(19);
  });
});

describe('openNode over TCP: authentication and parameters', () => {
  it('keeps out a node with the wrong secret: it never connects and cannot commit, the other two commit', async () => {
    const addrs = await addresses(3);
    const logs: LogRecord[] = [];
    const nodes = addrs.map((addr) => ({ addr }));
    // The good nodes log through openNode's own `log` (actors and transport alike), the intruder through tcp.log.
    const { log: _, ...tcpWithoutLog } = tcp([]);
    const good = await Promise.all([0, 1].map((nodeId) => node({ nodeId, nodes, log: (r) => void logs.push(r), tcp: tcpWithoutLog })));
    const intruderLogs: LogRecord[] = [];
    const intruder = await node({ nodeId: 2, nodes, writeTimeoutMs: 2_000, tcp: tcp(intruderLogs, { secret: 'not the secret, but long enough' }) });
    const connects: PeerInfo[] = [];
    intruder.on('connect', (peer) => connects.push(peer));

    await agreedLeader(good);
    await good[0]!.write((tx) => void tx.upsert('kv', { k: 'in', v: 1 }));
    await waitFor(() => logText(logs).includes('authentication failed'), 'a good node refusing the intruder');
    await waitFor(() => logText(intruderLogs).includes('authentication failed'), 'the intruder told it was refused');
    const refused = await intruder.write((tx) => void tx.upsert('kv', { k: 'out', v: 2 })).then(() => undefined, (e: { code?: string }) => e.code);
    expect(['NO_QUORUM', 'TIMEOUT']).toContain(refused);
    expect(connects).toEqual([]);
    expect(intruder.info().activeNodes).toEqual([addrs[2]]);
    expect(get(intruder, 'in')).toBeUndefined();
    for (const n of good) expect(n.info().activeNodes).not.toContain(addrs[2]);
    expect(logText(logs)).toMatch(/info 127\.0\.0\.1:\d+\/listener: peer link up/); // an actor's record, through the same log
    expect(logText([...logs, ...intruderLogs])).not.toMatch(/correct horse|not the secret/);
  });

  it('dials a peer where tcp.dial says (a proxy), keeping its addr as its id', async () => {
    const addrs = await addresses(3);
    // A forwarder standing for node 1, as a NAT or proxy would: node 0 reaches node 1 only through it.
    let forwarded = 0;
    const proxy = createServer((inbound) => {
      forwarded++;
      const [host, port] = addrs[1]!.split(':');
      const outbound = connectTcp(Number(port), host);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const via = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const logs: LogRecord[] = [];
      const nodes = await Promise.all(addrs.map((_, nodeId) => node({ nodeId, nodes: addrs.map((addr) => ({ addr })), tcp: tcp(logs, nodeId === 0 ? { dial: { [addrs[1]!]: via } } : {}) })));
      await agreedLeader(nodes);
      await waitFor(() => nodes[0]!.info().peers.find((p) => p.nodeId === addrs[1])?.connected === true, 'node 0 connected to node 1');
      expect(forwarded).toBeGreaterThan(0);
      await expect(openNode({ nodeId: 0, schema, nodes: addrs.map((addr) => ({ addr })), nwType: 'tcp', tcp: tcp([], { dial: { '127.0.0.1:1': via } }) })).rejects.toThrow(/tcp\.dial names "127\.0\.0\.1:1", which is not in nodes/);
    } finally {
      await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
      open = [];
      proxy.close();
    }
  });

  it('refuses bad TCP parameters at open, naming the key', async () => {
    const nodes = [{ addr: '127.0.0.1:1' }, { addr: '127.0.0.1:2' }];
    const base = { nodeId: 0, schema, nwType: 'tcp' as const };
    await expect(openNode({ ...base, nodes })).rejects.toThrow(/openNode: nwType 'tcp' needs tcp: \{ clusterName, secret/);
    await expect(openNode({ ...base, nodes, tcp: { clusterName: 'c', secret: 'short' } })).rejects.toThrow(/openNode: tcp\.secret must hold at least 16 bytes/);
    await expect(openNode({ ...base, nodes, tcp: { ...tcp([]), connectTimeoutMs: 0 } })).rejects.toThrow(/openNode: tcp\.connectTimeoutMs must be an integer/);
    await expect(openNode({ ...base, nodes, tcp: { ...tcp([]), conectTimeoutMs: 5 } as TcpNodeParams })).rejects.toThrow(/openNode: tcp\.conectTimeoutMs is not a TCP parameter/);
    await expect(openNode({ ...base, nodes: [{ addr: 'n1' }, { addr: '127.0.0.1:2' }], tcp: tcp([]) })).rejects.toThrow(/openNode: nodes\[0\]\.addr must be "host:port"/);
    await expect(openNode({ ...base, nodes, tcp: { ...tcp([]), sslParams: { certFile: '/nonexistent.pem', keyFile: '/nonexistent.key', verifyMode: 'none' } } })).rejects.toThrow(/sslParams\.certFile: cannot read/);
  });
});
