/**
 * The cluster-wide stop() over TCP: the barrier travels in the quorum watchers' heartbeats, and each
 * node's last heartbeat must leave before its connections close. Three nodes on loopback write, then
 * all call stop() at once: every call resolves, and every node holds every acknowledged write.
 */
import { afterEach, expect, it } from 'vitest';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { SECRET, freePorts, waitFor } from './tcp-harness.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }],
};
let open: ClusterNode[] = [];

afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

it('stop() over TCP returns on every node once all have called it, with every acknowledged write everywhere', async () => {
  const addrs = (await freePorts(3)).map((port) => `127.0.0.1:${port}`);
  const tcp = { clusterName: 'tcp-stop-test', secret: SECRET, connectIntervalMs: 50, connectTimeoutMs: 5_000, log: () => undefined };
  open = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, nwType: 'tcp', tcp })));
  await waitFor(() => open.every((n) => n.info().leader !== undefined && n.info().leader === open[0]!.info().leader), 'a leader every node knows', 30_000);
  const writes = open.flatMap((node, i) => Array.from({ length: 30 }, (_, j) => node.write((tx) => void tx.upsert('kv', { k: `n${i}-${j}`, v: j }))));
  const stops = open.map((n) => n.stop()); // while the writes are in flight
  const settled = await Promise.allSettled(writes);
  const acknowledged = settled.filter((r) => r.status === "fulfilled").length;
  await Promise.all(stops);
  expect(acknowledged).toBe(90);
  expect(open.map((n) => n.read((tx) => tx.count('kv')))).toEqual([90, 90, 90]);
  expect(new Set(open.map((n) => n.contentHash())).size).toBe(1);
});
