/**
 * `npm run bench -- tcp`: three `chorus node` processes on loopback (TCP between them, inline host),
 * written to by closed-loop writers in this process through chorusdb/client, all on the leader's client
 * port. Single-row upserts of 100-byte records (a 4-byte key, a 96-character value) over 1,000 keys.
 * A commit is counted when the write's answer arrives: committed by a quorum and applied on the leader.
 *
 * Measured with the Raft journal on (each node has a dataDir; the journal is fsynced in the background,
 * several writes per fsync, and no acknowledgement or vote leaves before the fsync that covers it; a
 * leader's appends go out while its own runs), and, for comparison, with the log in memory. Each figure
 * is one run of runMs after a warm-up of warmMs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalCluster } from '../src/cli/local-cluster.js';
import { connect } from '../src/client/index.js';
import { clientKeyFor } from '../src/transport/tcp/keys.js';
import type { Client } from '../src/client/index.js';
import type { WorkloadResult } from '../src/cli/workload.js';
import { demoTable, runWorkloadFor } from '../src/cli/workload.js';
import type { Window } from '../src/actors/window-flusher.js';
import type { BenchResult } from './report.js';

const runMs = 3_000;
const warmMs = 1_000;
const window: Window = { length: 64, bsize: 256 * 1024, timeoutMs: 1 };

/**
 * A run, and the CPU it cost per commit: the three node processes' together (from their /metrics), the
 * leader's alone, the two followers' mean, and this client process's.
 */
type Run = WorkloadResult & { readonly nodeCpuUsPerCommit: number; readonly leaderCpuUsPerCommit: number; readonly followerCpuUsPerCommit: number; readonly clientCpuUsPerCommit: number };

interface Measured {
  readonly w1: Run;
  readonly w64: Run;
}

/** Starts a cluster, finds the leader's client port, runs `measure` against it, and stops everything. */
async function withCluster<T>(durable: boolean, windowOn: boolean, measure: (client: Client, admins: readonly string[], leader: number) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-bench-tcp-'));
  const secret = randomBytes(24).toString('base64');
  const toml = windowOn ? `[window]\nlength = ${window.length}\nbsize = ${window.bsize}\ntimeoutMs = ${window.timeoutMs}\n` : '';
  const cluster = await LocalCluster.create({ size: 3, dir, clusterName: 'bench', secret, durable, toml });
  const clients: Client[] = [];
  try {
    await Promise.all([0, 1, 2].map((i) => cluster.start(i, 30_000)));
    for (const addr of cluster.clientAddrs) clients.push(await connect(addr, { clusterName: 'bench', clientKey: clientKeyFor(secret) }));
    const deadline = performance.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.info()));
      const leader = infos.findIndex((info) => info.role === 'leader');
      if (leader >= 0 && infos.every((info) => info.leader === infos[leader]!.nodeId)) return await measure(clients[leader]!, cluster.adminAddrs, leader);
      if (performance.now() > deadline) throw new Error('bench tcp: no leader elected within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([0, 1, 2].map((i) => cluster.stop(i, 'SIGTERM')));
    await cluster.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each node process's CPU seconds so far (process_cpu_seconds_total on its admin port). */
async function nodesCpuSeconds(admins: readonly string[]): Promise<number[]> {
  const texts = await Promise.all(admins.map(async (admin) => (await fetch(`http://${admin}/metrics`)).text()));
  return texts.map((text) => Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? Number.NaN));
}

async function drive(client: Client, admins: readonly string[], leader: number, writers: number): Promise<Run> {
  const target = { name: 'bench', put: (k: number, v: string) => client.write([{ op: 'upsert', table: demoTable, row: { k, v } }]) };
  await runWorkloadFor([target], { writersPerTarget: writers, keys: 1_000 }, warmMs);
  const nodesBefore = await nodesCpuSeconds(admins);
  const clientBefore = process.cpuUsage();
  const result = await runWorkloadFor([target], { writersPerTarget: writers, keys: 1_000 }, runMs);
  const clientCpu = process.cpuUsage(clientBefore);
  const nodesCpu = (await nodesCpuSeconds(admins)).map((seconds, i) => seconds - nodesBefore[i]!);
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const failed = Object.values(result.failures).reduce((a, b) => a + b, 0);
  if (failed > 0) process.stderr.write(`bench tcp: ${failed} writes failed at ${writers} writers: ${JSON.stringify(result.failures)}\n`);
  const perCommit = (seconds: number) => (seconds * 1e6) / Math.max(1, result.commits);
  return Object.assign(result, {
    nodeCpuUsPerCommit: perCommit(sum(nodesCpu)), leaderCpuUsPerCommit: perCommit(nodesCpu[leader]!), followerCpuUsPerCommit: perCommit(sum(nodesCpu.filter((_, i) => i !== leader)) / 2),
    clientCpuUsPerCommit: perCommit((clientCpu.user + clientCpu.system) / 1e6),
  });
}

async function measure(durable: boolean): Promise<Measured & { readonly w64Window: Run }> {
  const { w1, w64 } = await withCluster(durable, false, async (client, admins, leader) => ({ w1: await drive(client, admins, leader, 1), w64: await drive(client, admins, leader, 64) }));
  const w64Window = await withCluster(durable, true, (client, admins, leader) => drive(client, admins, leader, 64));
  return { w1, w64, w64Window };
}

export async function runTcpBench(): Promise<BenchResult> {
  const durable = await measure(true);
  const memory = await measure(false);
  const round = (x: number) => Math.round(x);
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  const p = (r: WorkloadResult, q: number) => ms(r.latency.quantileMs(q));
  return {
    rows: [
      { name: 'journal fsync: 1 writer', value: round(durable.w1.perSec), unit: 'commits/s' },
      { name: 'journal fsync: 64 writers, no window', value: round(durable.w64.perSec), unit: 'commits/s' },
      { name: 'journal fsync: 64 writers, window length 64', value: round(durable.w64Window.perSec), unit: 'commits/s', target: '>= 30000' },
      { name: 'journal fsync: commit p50, 1 writer', value: p(durable.w1, 0.5), unit: 'ms', target: '<= 1' },
      { name: 'journal fsync: commit p99, 1 writer', value: p(durable.w1, 0.99), unit: 'ms' },
      { name: 'journal fsync: commit p99, 64 writers', value: p(durable.w64, 0.99), unit: 'ms' },
      { name: 'journal fsync: commit p99, 64 writers, window', value: p(durable.w64Window, 0.99), unit: 'ms' },
      { name: 'journal fsync: node CPU per commit, 64 writers, window', value: Math.round(durable.w64Window.nodeCpuUsPerCommit), unit: 'µs' },
      { name: 'journal fsync: leader CPU per commit, 64 writers, window', value: Math.round(durable.w64Window.leaderCpuUsPerCommit), unit: 'µs' },
      { name: 'journal fsync: follower CPU per commit (mean), 64 writers, window', value: Math.round(durable.w64Window.followerCpuUsPerCommit), unit: 'µs' },
      { name: 'journal fsync: client CPU per commit, 64 writers, window', value: Math.round(durable.w64Window.clientCpuUsPerCommit), unit: 'µs' },
      { name: 'log in memory: 1 writer', value: round(memory.w1.perSec), unit: 'commits/s' },
      { name: 'log in memory: 64 writers, no window', value: round(memory.w64.perSec), unit: 'commits/s' },
      { name: 'log in memory: 64 writers, window length 64', value: round(memory.w64Window.perSec), unit: 'commits/s' },
      { name: 'log in memory: commit p50, 1 writer', value: p(memory.w1, 0.5), unit: 'ms' },
    ],
    summary: {
      suite: 'tcp', nodes: 3, processes: true, host: 'inline', recordBytes: 100, window,
      translogSync: 'group commit in the background (acknowledgements and votes wait for their fsync; a leader sends appends during its own and counts itself once it is done; entries are applied only under a synced commit index)',
      commitsPerSecW1: round(durable.w1.perSec), commitsPerSecW64: round(durable.w64.perSec), commitsPerSecW64Window: round(durable.w64Window.perSec),
      commitP50MsW1: p(durable.w1, 0.5), commitP99MsW1: p(durable.w1, 0.99), commitP99MsW64: p(durable.w64, 0.99), commitP99MsW64Window: p(durable.w64Window, 0.99),
      memoryCommitsPerSecW1: round(memory.w1.perSec), memoryCommitsPerSecW64: round(memory.w64.perSec), memoryCommitsPerSecW64Window: round(memory.w64Window.perSec),
      memoryCommitP50MsW1: p(memory.w1, 0.5),
      // CPU per commit does not depend on how loaded the machine is, as the rates above do: the three node processes together, and the client.
      nodeCpuUsPerCommitW1: round(durable.w1.nodeCpuUsPerCommit), nodeCpuUsPerCommitW64: round(durable.w64.nodeCpuUsPerCommit), nodeCpuUsPerCommitW64Window: round(durable.w64Window.nodeCpuUsPerCommit),
      leaderCpuUsPerCommitW64Window: round(durable.w64Window.leaderCpuUsPerCommit), followerCpuUsPerCommitW64Window: round(durable.w64Window.followerCpuUsPerCommit),
      clientCpuUsPerCommitW64Window: round(durable.w64Window.clientCpuUsPerCommit), loadAverage1m: Math.round(loadavg()[0]! * 10) / 10,
    },
  };
}
