/**
 * `chorus demo` (what `npm start` runs): a 3-node cluster as three `chorus node` processes on loopback,
 * driven through chorusdb/client from this process. It runs a write workload through every node,
 * kills one follower with SIGKILL and shows the other two keep their quorum and keep committing,
 * restarts it and shows it catching up (its `synced` log line, then equal content hashes), prints a
 * summary, stops the processes with SIGTERM and removes their files. Any process still running when
 * it ends (an error, Ctrl-C) is killed: none is left behind.
 *
 * Exit status 0 only if the cluster behaved: the two kept their quorum, the third synced, all three
 * ended with the same content hash, and every process stopped cleanly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Client } from '../client/index.js';
import { connect } from '../client/index.js';
import { clientKeyFor } from '../transport/tcp/keys.js';
import type { WorkloadTarget } from './workload.js';
import { demoTable, describeRun, formatCount, runWorkloadFor, startWorkload } from './workload.js';
import type { Print } from './demo-shared.js';
import { demoPhaseMs, demoSettleMsMax, demoTickMs, demoWindow, demoWritersPerNode, demoKeys, summarize, waitFor } from './demo-shared.js';
import { LocalCluster } from './local-cluster.js';

const clusterName = 'demo';

function target(name: string, client: Client): WorkloadTarget {
  return { name, put: (k, v) => client.write([{ op: 'upsert', table: demoTable, row: { k, v } }], { retries: 3 }) };
}

export async function runProcessDemo(print: Print): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-demo-'));
  const secret = randomBytes(24).toString('base64');
  const { length, bsize, timeoutMs } = demoWindow;
  const cluster = await LocalCluster.create({
    size: 3, dir, clusterName, secret,
    toml: `tickMs = ${demoTickMs}\n\n[window]\nlength = ${length}\nbsize = ${bsize}\ntimeoutMs = ${timeoutMs}\n`,
  });
  const stopOnSignal = () => void cluster.killAll().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  print('chorusdb cluster demo: three `chorus node` processes on loopback, written to through chorusdb/client');
  print(`(files and data in ${dir})\n`);
  const clients: (Client | undefined)[] = [];
  let status = 1;
  try {
    status = await tour(cluster, clients, secret, print);
    await Promise.all(clients.map((c) => c?.close()));
    const codes = await Promise.all([0, 1, 2].map((i) => cluster.stop(i, 'SIGTERM')));
    print(`\nstopped the three processes with SIGTERM (exit codes ${codes.join(', ')}) and removed ${dir}`);
    if (codes.some((code) => code !== 0)) status = 1;
  } finally {
    process.off('SIGINT', stopOnSignal);
    await Promise.all(clients.map((c) => c?.close()));
    await cluster.killAll();
    rmSync(dir, { recursive: true, force: true });
  }
  return status;
}

async function tour(cluster: LocalCluster, clients: (Client | undefined)[], secret: string, print: Print): Promise<number> {
  const name = (i: number) => `n${i + 1} (${cluster.addrs[i]})`;
  // Applications get the client key (what `chorus client-key --config FILE` prints), never the secret.
  const clientKey = clientKeyFor(secret);
  const open = (i: number) => connect(cluster.clientAddrs[i]!, { clusterName, clientKey });
  await Promise.all([0, 1, 2].map((i) => cluster.start(i, demoSettleMsMax)));
  for (let i = 0; i < 3; i++) clients[i] = await open(i);
  const live = () => clients.flatMap((c, i) => (c === undefined ? [] : [{ i, c }]));
  const leader = await waitFor(async () => {
    const infos = await Promise.all(live().map(({ c }) => c.info()));
    const found = infos.find((info) => info.role === 'leader');
    return found !== undefined && infos.every((info) => info.leader === found.nodeId) ? found : undefined;
  }, demoSettleMsMax);
  if (leader === undefined) return fail(print, 'no leader was elected');
  print(`1. started ${[0, 1, 2].map((i) => `${name(i)} pid ${cluster.processes[i]!.pid}`).join(', ')}`);
  print(`   leader ${leader.nodeId}, term ${leader.term}; qrank 1 each: any two are a quorum`);
  const options = { writersPerTarget: demoWritersPerNode, keys: demoKeys };
  const phase1 = await runWorkloadFor(live().map(({ i, c }) => target(`n${i + 1}`, c)), options, demoPhaseMs);
  print(`   ${demoWritersPerNode} writers through each node's client port for ${demoPhaseMs / 1000} s: ${describeRun(phase1)}`);

  const roles = await Promise.all(live().map(async ({ i, c }) => ({ i, info: await c.info() })));
  const { i: awayAt, info: awayInfo } = roles.find((n) => n.info.role !== 'leader')!;
  await clients[awayAt]!.close();
  clients[awayAt] = undefined;
  const killed = await cluster.stop(awayAt, 'SIGKILL');
  print(`\n2. killed ${name(awayAt)}, a follower, with SIGKILL (${killed})`);
  const stayed = live();
  const lost = await waitFor(async () => {
    const infos = await Promise.all(stayed.map(({ c }) => c.info()));
    return infos.every((info) => !info.activeNodes.includes(cluster.addrs[awayAt]!)) ? infos : undefined;
  }, demoSettleMsMax);
  print(`   ${stayed.map(({ i }) => `n${i + 1}`).join(' and ')} saw it go: ${lost === undefined ? 'not yet' : lost.map((info) => `${info.nodeId} has quorum: ${info.hasQuorum ? 'yes' : 'NO'}`).join(', ')}`);
  const phase2 = await runWorkloadFor(stayed.map(({ i, c }) => target(`n${i + 1}`, c)), options, demoPhaseMs);
  const quorum = await Promise.all(stayed.map(async ({ c }) => (await c.info()).hasQuorum));
  print(`   they kept writing for ${demoPhaseMs / 1000} s: ${describeRun(phase2)}`);

  const back = await rejoin(cluster, awayAt, awayInfo.appliedIndex, stayed.map(({ i, c }) => target(`n${i + 1}`, c)), options, print);
  clients[awayAt] = await open(awayAt);
  const hashes = await settledHashes(live().map(({ c }) => c));
  const equal = new Set(hashes.map((h) => h.hash)).size === 1;
  print(`   content hashes once writes stopped: ${hashes.map((h, i) => `n${i + 1} ${h.hash.slice(0, 12)}`).join(', ')} (${equal ? 'equal' : 'DIFFERENT'})`);
  const kept = quorum.every(Boolean) && lost?.every((info) => info.hasQuorum) === true;
  print(`\n${summarize({ runs: [phase1, phase2, back.run], awayNode: `n${awayAt + 1}`, downRun: phase2, missed: back.missed, syncMs: back.syncMs, synced: back.synced, equal, quorumLost: kept ? 0 : 1 })}`);
  return kept && back.synced && equal ? 0 : 1;
}

/** Restarts node `i` while the others keep writing; waits for its `synced` line. */
async function rejoin(cluster: LocalCluster, i: number, appliedBefore: number, writers: readonly WorkloadTarget[], options: { writersPerTarget: number; keys: number }, print: Print) {
  const running = startWorkload(writers, options);
  const began = performance.now();
  const p = await cluster.start(i, demoSettleMsMax);
  const synced = await p.line((l) => l.msg.startsWith('synced'), 'synced', demoSettleMsMax).catch(() => undefined);
  const syncMs = performance.now() - began;
  running.stop();
  const run = await running.done;
  const index = Number(synced?.['index'] ?? 0);
  const missed = Math.max(0, index - appliedBefore);
  print(`\n3. restarted n${i + 1} (pid ${p.pid}) from its data directory, while the others kept writing (${describeRun(run)})`);
  print(synced === undefined
    ? `   it did NOT log synced within ${demoSettleMsMax / 1000} s`
    : `   it caught up ${synced['via'] === 'log' ? 'from the log' : 'by a state transfer'} from index ${formatCount(appliedBefore)} (where it was killed) to ${formatCount(index)}: synced ${Math.round(syncMs)} ms after the restart began`);
  return { run, synced: synced !== undefined, syncMs, missed };
}

/** Every node's content hash, as soon as they are all equal (or as they are after demoSettleMsMax). */
async function settledHashes(clients: readonly Client[]) {
  const hashes = () => Promise.all(clients.map((c) => c.contentHash()));
  return (await waitFor(async () => {
    const h = await hashes();
    return new Set(h.map((x) => x.hash)).size === 1 ? h : undefined;
  }, demoSettleMsMax)) ?? hashes();
}

function fail(print: Print, why: string): number {
  print(`demo failed: ${why}`);
  return 1;
}
