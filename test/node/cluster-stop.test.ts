/**
 * stop() as an application sees it. Cluster-wide by default, as the seeds' stop ("returns after ALL
 * nodes call stop"): it returns on each node once every attached data node has called it, and then every
 * node holds every write acknowledged anywhere before its node called stop. TIMEOUT when a node never
 * calls it; `{ scope: 'local' }` and a detached node stop alone, at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { StopBarrier } from '../../src/node/stop-barrier.js';
import type { NodeParams } from '../../src/node/params.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { until } from './until.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

async function cluster(count: number, host: 'inline' | 'thread', extra: (i: number) => Partial<NodeParams> = () => ({})) {
  const network = new InProcessNetwork();
  const nodes = Array.from({ length: count }, (_, i) => ({ addr: `n${i + 1}`, ...(extra(i).nodes?.[i] ?? {}) }));
  open = await Promise.all(nodes.map((_, nodeId) => openNode({ nodeId, schema, host, network, ...extra(nodeId), nodes })));
  await until('a leader everyone knows', () => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader));
  return open;
}

const keys = (node: ClusterNode) => node.read((tx) => tx.count('kv'));
const settledOrNot = (promise: Promise<unknown>) => {
  const state = { settled: false };
  promise.then(() => (state.settled = true), () => (state.settled = true));
  return state;
};

describe.each(['inline', 'thread'] as const)('stop() on the %s host', (host) => {
  it('returns on each node only once every node has called it, and then every node holds every acknowledged write', async () => {
    const nodes = await cluster(3, host);
    // Each node writes a burst; a node calls stop while its own writes may still be in flight.
    const writes = nodes.map((node, i) => Array.from({ length: 40 }, (_, j) => node.write((tx) => void tx.upsert('kv', { k: `n${i}-${j}`, v: j }))));
    const first = nodes[0]!.stop();
    const firstState = settledOrNot(first);
    await expect(nodes[0]!.write((tx) => void tx.upsert('kv', { k: 'late', v: 0 }))).rejects.toMatchObject({ code: 'STOPPED' });
    const acknowledged = await Promise.allSettled(writes.flat());
    await new Promise((r) => setTimeout(r, 300));
    expect(firstState.settled).toBe(false); // the other two have not called stop: node 1 waits
    await Promise.all([first, nodes[1]!.stop(), nodes[2]!.stop()]);
    // Every write that was acknowledged, on whichever node, is on every node; local reads still work.
    const ok = acknowledged.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(120); // nothing was refused: every write was issued before its node called stop
    for (const node of nodes) expect(keys(node)).toBe(ok);
    expect(new Set(nodes.map((n) => n.contentHash())).size).toBe(1);
    expect(nodes.every((n) => n.info().pendingWrites === 0)).toBe(true);
  });

  it('rejects with TIMEOUT naming the node that never called stop, and stops anyway', async () => {
    const nodes = await cluster(3, host);
    await nodes[2]!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
    const outcomes = await Promise.allSettled(nodes.slice(0, 2).map((n) => n.stop({ timeoutMs: 400 })));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'TIMEOUT', message: expect.stringMatching(/: n3 had not called stop\. It stopped alone/) } });
    await expect(nodes[0]!.write((tx) => void tx.upsert('kv', { k: 'b', v: 1 }))).rejects.toMatchObject({ code: 'STOPPED' });
  });

  it("stops alone and at once with scope 'local', and a detached node is not waited for", async () => {
    const nodes = await cluster(4, host);
    await nodes[3]!.detach();
    await nodes[2]!.stop({ scope: 'local' }); // n1 and n2: 2 of the 3 members still
    await nodes[0]!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }));
    await nodes[3]!.stop(); // detached: a standalone database, no cluster to wait for
    const errors = await Promise.all([nodes[0]!.stop({ timeoutMs: 400 }), nodes[1]!.stop({ timeoutMs: 400 })].map((stop) => stop.then(() => undefined, (error: Error) => error.message)));
    for (const message of errors) expect(message).toMatch(/: n3 had not called stop\. /); // n3, stopped alone, is still a member; n4 is not
  });

  it("a cluster of one stops at once, also once its tables are at the leader's noop (no write ever made)", async () => {
    const [node] = await cluster(1, host);
    // The replicator has handed on the noop of the leader's term: the stop waits for the tables to be there.
    await until('the noop applied', () => node!.info().appliedIndex >= 1);
    await node!.stop({ timeoutMs: 20_000 });
    expect(node!.info().state).toBe('stopped');
  });

  it('refuses bad options, naming them', async () => {
    const [node] = await cluster(1, host);
    await expect(node!.stop({ scope: 'everywhere' as 'local' })).rejects.toThrow(/stop: scope must be 'cluster' or 'local'/);
    await expect(node!.stop({ timeoutMs: -1 })).rejects.toThrow(/stop: timeoutMs must be a positive integer/);
    await node!.stop(); // a cluster of one stops at once
    await expect(node!.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 }))).rejects.toMatchObject({ code: 'STOPPED' });
  });
});

describe('StopBarrier', () => {
  it("ends a cluster stop only once this node's tables hold the target (its applies may lag the watcher's done on the thread host)", async () => {
    let applied = 4;
    const barrier = new StopBarrier('n1', (index) => applied >= index);
    let outcome: string | undefined;
    void barrier.wait(Promise.resolve(), () => {}, 60_000).then((o) => (outcome = o));
    await new Promise((r) => setTimeout(r, 0));
    barrier.progressed({ type: 'stopProgress', notStopping: [], behind: [], target: 7, done: true });
    await new Promise((r) => setTimeout(r, 0));
    expect(outcome).toBeUndefined(); // the watcher is done, the tables are not
    barrier.applied((applied = 6));
    await new Promise((r) => setTimeout(r, 0));
    expect(outcome).toBeUndefined();
    barrier.applied((applied = 7));
    await new Promise((r) => setTimeout(r, 0));
    expect(outcome).toBe('done');
  });
});

describe('stop({ scope: "local" }) with calls waiting for a quorum', () => {
  it('fails a linearizable read and a write waiting at the gate with STOPPED at once, not when their wait would end', async () => {
    // Alone of three (its peers never come): no quorum is ever reported, so calls wait at the gate for
    // gateWaitMs, here 2 x 10 x 1 s = 20 s.
    const node = await openNode({ nodeId: 0, schema, host: 'inline', network: new InProcessNetwork(), tickMs: 1_000, nodes: [{ addr: 'n1' }, { addr: 'n2' }, { addr: 'n3' }] });
    open = [node];
    const settled = (p: Promise<unknown>) => p.then(() => 'resolved', (error: { code?: string }) => error.code);
    const read = settled(node.read((tx) => tx.get('kv', 'a'), { consistency: 'linearizable' }));
    const write = settled(node.write((tx) => void tx.upsert('kv', { k: 'a', v: 1 })));
    const startedMs = performance.now();
    await node.stop({ scope: 'local' });
    expect(await Promise.all([read, write])).toEqual(['STOPPED', 'STOPPED']);
    expect(performance.now() - startedMs).toBeLessThan(10_000); // far below the 20 s wait
  });
});
