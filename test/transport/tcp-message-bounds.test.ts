/**
 * Cluster messages within `tcp.frameBytesMax`: what a user would notice when writes are large next to
 * the frame bound. A node that comes back behind many large writes still catches up (its entries come in
 * appends of at most raftAppendBytesMax bytes, each within a frame, instead of one append too large to
 * send, resent for ever); a write too large for any message is refused at once with OVERLOADED; and a
 * syncMsgSize no message could carry is refused at open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { SECRET, agreedLeader, freePorts, logText, waitFor } from './tcp-harness.js';

const schema: SchemaDef = { tables: [{ name: 'doc', fields: [{ name: 'k', type: 'int32' }, { name: 'body', type: 'string' }], primaryKey: ['k'] }] };
const frameBytesMax = 64 * 1024;
let open: ClusterNode[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function cluster(logs: LogRecord[]) {
  const addrs = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-tcp-bounds-'));
  dirs.push(dataDir);
  const params = (nodeId: number) => ({
    nodeId, schema, nodes: addrs.map((addr) => ({ addr })), dataDir, nwType: 'tcp' as const,
    tcp: { clusterName: 'tcp-bounds-test', secret: SECRET, connectIntervalMs: 50, frameBytesMax, log: (r: LogRecord) => void logs.push(r) },
  });
  const reopen = async (nodeId: number) => {
    const n = await openNode(params(nodeId));
    open.push(n);
    return n;
  };
  const nodes = await Promise.all(addrs.map((_, i) => reopen(i)));
  return { nodes, leader: await agreedLeader(nodes), reopen };
}

describe('cluster messages within tcp.frameBytesMax', () => {
  it('catches up a node that comes back behind many writes that together pass the frame bound', async () => {
    const logs: LogRecord[] = [];
    const { nodes, leader, reopen } = await cluster(logs);
    const awayAt = nodes.findIndex((n) => n !== leader);
    await nodes[awayAt]!.stop({ scope: 'local' });
    open = open.filter((n) => n !== nodes[awayAt]);
    const body = 'x'.repeat(12 * 1024);
    for (let k = 0; k < 24; k++) await leader.write((tx) => void tx.upsert('doc', { k, body })); // ~300 KB: more than 4 frames
    const back = await reopen(awayAt);
    await waitFor(() => back.read((tx) => tx.get('doc', 23)) !== undefined, 'the node back to have the last write', 30_000);
    expect(back.contentHash()).toBe(leader.contentHash());
    expect(logText(logs)).not.toMatch(/exceeds frameBytesMax/);
  });

  it('refuses at once, with OVERLOADED, a write too large for one message', async () => {
    const { leader } = await cluster([]);
    const error = await leader.write((tx) => void tx.upsert('doc', { k: 1, body: 'x'.repeat(frameBytesMax) })).then(() => undefined, (e: { code?: string; message?: string }) => e);
    expect(error?.code).toBe('OVERLOADED');
    expect(error?.message).toMatch(/does not fit/);
    await leader.write((tx) => void tx.upsert('doc', { k: 2, body: 'x'.repeat(frameBytesMax / 2) })); // half a frame still goes
  });

  it('keeps out a node with another frameBytesMax, naming both values; the other two commit', async () => {
    const addrs = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
    const logs: LogRecord[] = [];
    const nodes = await Promise.all(addrs.map(async (_, nodeId) => {
      const n = await openNode({
        nodeId, schema, nodes: addrs.map((addr) => ({ addr })), nwType: 'tcp', writeTimeoutMs: 2_000,
        tcp: { clusterName: 'tcp-bounds-test', secret: SECRET, connectIntervalMs: 50, frameBytesMax: nodeId === 2 ? frameBytesMax : 2 * frameBytesMax, log: (r: LogRecord) => void logs.push(r) },
      });
      open.push(n);
      return n;
    }));
    await waitFor(() => logText(logs).includes(`has tcp.frameBytesMax ${frameBytesMax}, this node ${2 * frameBytesMax}: every node of a cluster must have the same`), 'a node refusing the odd one out');
    let leader: ClusterNode | undefined;
    await waitFor(() => (leader = nodes.slice(0, 2).find((n) => n.info().role === 'leader')) !== undefined, 'a leader among the two that agree', 30_000);
    await leader!.write((tx) => void tx.upsert('doc', { k: 1, body: 'x'.repeat(frameBytesMax) })); // fine by their bound, too large for node 2's
    expect(nodes[2]!.info().activeNodes).toEqual([addrs[2]]);
    expect(nodes[2]!.read((tx) => tx.get('doc', 1))).toBeUndefined();
  });

  it('refuses at open a syncMsgSize that no message could carry, naming both parameters', async () => {
    const nodes = [{ addr: '127.0.0.1:1' }, { addr: '127.0.0.1:2' }];
    await expect(openNode({ nodeId: 0, schema, nodes, nwType: 'tcp', syncMsgSize: frameBytesMax, tcp: { clusterName: 'c', secret: SECRET, frameBytesMax } }))
      .rejects.toThrow(/syncMsgSize \(65536\) must leave room for a message's envelope in tcp\.frameBytesMax \(65536\): at most 64512/);
  });
});
