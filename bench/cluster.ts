/**
 * `npm run bench -- cluster [inline|thread]`: a 3-node cluster in one process (nwType 'local'), writers
 * in a closed loop on the leader's node, single-row upserts of 100-byte records. Measured: commits per
 * second with 1 and 64 concurrent writers, window off and on, and commit latency at one writer.
 * A commit is counted when the write's promise resolves: committed by a quorum and applied locally.
 * Measured twice: with the Raft log in memory, and with a dataDir (journals fsynced in the background,
 * several writes per fsync; acknowledgements and votes wait for the fsync that covers them).
 */
import { openNode } from '../src/node/cluster-node.js';
import type { ClusterNode } from '../src/node/cluster-node.js';
import { InProcessNetwork } from '../src/transport/in-process.js';
import type { Window } from '../src/actors/window-flusher.js';
import type { SchemaDef } from '../src/store/schema.js';
import type { BenchResult } from './report.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const schema: SchemaDef = { tables: [{ name: 'rec', fields: [{ name: 'id', type: 'int32' }, { name: 'body', type: 'string' }], primaryKey: ['id'] }] };
const body = 'x'.repeat(96); // with the 4-byte id: a 100-byte record
const runMs = 3_000;

async function startCluster(host: 'inline' | 'thread', window?: Window, dataDir?: string) {
  const network = new InProcessNetwork();
  const addrs = ['b1', 'b2', 'b3'];
  const nodes = await Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, host, network, ...(window ? { window } : {}), ...(dataDir ? { dataDir } : {}) })));
  for (let i = 0; i < 500; i++) {
    const leader = nodes.find((n) => n.info().role === 'leader');
    if (leader && nodes.every((n) => n.info().leader === leader.nodeId)) return { nodes, leader };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('bench: no leader elected');
}

/** Closed-loop writers for `runMs`; returns commits per second and per-commit latencies (ms). */
async function drive(node: ClusterNode, writers: number): Promise<{ perSec: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  let commits = 0;
  const deadline = performance.now() + runMs;
  const writer = async () => {
    while (performance.now() < deadline) {
      const id = next++ % 1_000_000;
      const began = performance.now();
      await node.write((tx) => void tx.upsert('rec', { id, body }), { retries: 3 });
      latencies.push(performance.now() - began);
      commits++;
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  return { perSec: commits / ((performance.now() - began) / 1000), latencies };
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

async function measure(host: 'inline' | 'thread', writers: number, window?: Window, durable = false) {
  const dataDir = durable ? mkdtempSync(join(tmpdir(), 'chorus-bench-')) : undefined;
  const { nodes, leader } = await startCluster(host, window, dataDir);
  await drive(leader, writers); // warm-up run
  const result = await drive(leader, writers);
  await Promise.all(nodes.map((n) => n.stop()));
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  return result;
}

export async function runClusterBench(host: 'inline' | 'thread' = 'inline'): Promise<BenchResult> {
  const window: Window = { length: 64, bsize: 256 * 1024, timeoutMs: 1 };
  const w1 = await measure(host, 1);
  const w64 = await measure(host, 64);
  const w64Window = await measure(host, 64, window);
  const durableW1 = await measure(host, 1, undefined, true);
  const durableW64Window = await measure(host, 64, window, true);
  const round = (x: number) => Math.round(x);
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  return {
    rows: [
      { name: `${host}: 1 writer`, value: round(w1.perSec), unit: 'commits/s' },
      { name: `${host}: 64 writers, no window`, value: round(w64.perSec), unit: 'commits/s' },
      { name: `${host}: 64 writers, window length 64`, value: round(w64Window.perSec), unit: 'commits/s', target: '>= 50000' },
      { name: `${host}: commit p50, 1 writer`, value: ms(quantile(w1.latencies, 0.5)), unit: 'ms', target: '<= 0.5' },
      { name: `${host}: commit p99, 1 writer`, value: ms(quantile(w1.latencies, 0.99)), unit: 'ms' },
      { name: `${host}: commit p99, 64 writers, window`, value: ms(quantile(w64Window.latencies, 0.99)), unit: 'ms' },
      { name: `${host}, journal fsync: 1 writer`, value: round(durableW1.perSec), unit: 'commits/s' },
      { name: `${host}, journal fsync: commit p50, 1 writer`, value: ms(quantile(durableW1.latencies, 0.5)), unit: 'ms' },
      { name: `${host}, journal fsync: 64 writers, window`, value: round(durableW64Window.perSec), unit: 'commits/s' },
    ],
    summary: {
      suite: 'cluster', host, nodes: 3, recordBytes: 100, window,
      commitsPerSecW1: round(w1.perSec), commitsPerSecW64: round(w64.perSec), commitsPerSecW64Window: round(w64Window.perSec),
      commitP50MsW1: ms(quantile(w1.latencies, 0.5)), commitP99MsW1: ms(quantile(w1.latencies, 0.99)),
      commitP99MsW64Window: ms(quantile(w64Window.latencies, 0.99)),
      durability: 'the figures above: Raft log in memory (no dataDir); below: with dataDir (journal fsynced before any acknowledgement or vote that depends on it)',
      durableCommitsPerSecW1: round(durableW1.perSec), durableCommitP50MsW1: ms(quantile(durableW1.latencies, 0.5)),
      durableCommitsPerSecW64Window: round(durableW64Window.perSec),
    },
  };
}
