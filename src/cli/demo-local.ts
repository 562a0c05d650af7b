/**
 * `chorus demo --in-process`: a 3-node cluster in this one process (nwType 'local', actors on worker
 * threads, each node durable in a temporary data directory). It runs a write workload on every node,
 * stops one node and shows the other two keep their quorum and keep committing, reopens it from its
 * data directory and shows it catching up (the `synced` event, then equal content hashes), prints a
 * summary, stops everything and removes the directory.
 *
 * Exit status 0 only if the cluster behaved: no quorum lost by the two that stayed, the reopened node
 * synced, and every node ended with the same content hash. Failed writes are counted and shown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openNode } from '../node/cluster-node.js';
import type { ClusterNode } from '../node/cluster-node.js';
import { InProcessNetwork } from '../transport/in-process.js';
import type { WorkloadResult, WorkloadTarget } from './workload.js';
import { demoSchema, demoTable, describeRun, formatCount, runWorkloadFor, startWorkload } from './workload.js';
import type { Print } from './demo-shared.js';
import { demoPhaseMs, demoSettleMsMax, demoTickMs, demoWindow, demoWritersPerNode, demoKeys, summarize, waitFor } from './demo-shared.js';

const addrs = ['n1', 'n2', 'n3'] as const;

function target(node: ClusterNode): WorkloadTarget {
  return { name: node.nodeId, put: (k, v) => node.write((tx) => void tx.upsert(demoTable, { k, v }), { retries: 3 }) };
}

export async function runLocalDemo(print: Print): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-demo-'));
  const network = new InProcessNetwork();
  const open = (nodeId: number) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema: demoSchema, network, host: 'thread', dataDir, window: demoWindow, tickMs: demoTickMs });
  print('chorusdb cluster demo: three nodes in this process, each with its actors on worker threads');
  print(`(nwType 'local', host 'thread', data in ${dataDir})\n`);
  const nodes: (ClusterNode | undefined)[] = await Promise.all(addrs.map((_, i) => open(i)));
  try {
    return await tour(nodes, open, print);
  } finally {
    await Promise.all(nodes.map((node) => node?.stop({ scope: 'local' }))); // already stopped together, unless the tour failed
    rmSync(dataDir, { recursive: true, force: true });
    print(`\nstopped every node (no worker thread left) and removed ${dataDir}`);
  }
}

async function tour(nodes: (ClusterNode | undefined)[], open: (nodeId: number) => Promise<ClusterNode>, print: Print): Promise<number> {
  const all = () => nodes.filter((n): n is ClusterNode => n !== undefined);
  const leader = await waitFor(() => {
    const found = all().find((n) => n.info().role === 'leader');
    return found !== undefined && all().every((n) => n.info().leader === found.nodeId) ? found : undefined;
  }, demoSettleMsMax);
  if (leader === undefined) return fail(print, 'no leader was elected');
  print(`1. opened ${addrs.join(', ')} (qrank 1 each: any two are a quorum); leader ${leader.nodeId}, term ${leader.info().term}`);
  const options = { writersPerTarget: demoWritersPerNode, keys: demoKeys };
  const phase1 = await runWorkloadFor(all().map(target), options, demoPhaseMs);
  print(`   ${demoWritersPerNode} writers on each of the 3 nodes for ${demoPhaseMs / 1000} s: ${describeRun(phase1)}`);

  const awayAt = nodes.findIndex((n) => n !== undefined && n.info().role !== 'leader');
  const away = nodes[awayAt]!;
  const quorumLost: string[] = [];
  const disconnects: string[] = [];
  for (const node of all()) {
    if (node === away) continue;
    node.on('quorumLost', (why) => quorumLost.push(`${node.nodeId}: ${why}`));
    node.on('disconnect', (peer) => disconnects.push(`${node.nodeId} saw ${peer.nodeId} go (${peer.reason})`));
  }
  await away.stop({ scope: 'local' });
  nodes[awayAt] = undefined;
  const stayed = all();
  print(`\n2. stopped ${away.nodeId} (a follower); ${disconnects.join('; ') || 'no disconnect seen yet'}`);
  const phase2 = await runWorkloadFor(stayed.map(target), options, demoPhaseMs);
  const quorums = stayed.map((n) => `${n.nodeId} ${n.info().hasQuorum ? 'has' : 'LOST'} quorum`).join(', ');
  print(`   ${stayed.map((n) => n.nodeId).join(' and ')} kept writing for ${demoPhaseMs / 1000} s: ${describeRun(phase2)}`);
  print(`   ${quorums} (2 of 3 qrank); quorumLost events: ${quorumLost.length}`);

  const { phase3, synced, syncMs, missed } = await rejoin(nodes, awayAt, open, stayed, options, print);
  const hashes = await settledHashes(all());
  const equal = new Set(hashes.values()).size === 1;
  print(`   content hashes once writes stopped: ${[...hashes].map(([id, h]) => `${id} ${h.slice(0, 12)}`).join(', ')} (${equal ? 'equal' : 'DIFFERENT'})`);
  // Counted before the cluster stops: the nodes still stopping see the first ones go, and lose their quorum.
  const quorumLosses = quorumLost.length;
  const stopBegan = performance.now();
  await Promise.all(all().map((n) => n.stop())); // cluster-wide: each returns once all three called it
  print(`\n4. stopped the cluster: each node called stop(), and each returned once all three had and held the same data (${formatMs(performance.now() - stopBegan)})`);
  const runs = [phase1, phase2, phase3];
  print(`\n${summarize({ runs, awayNode: away.nodeId, downRun: phase2, missed, syncMs, synced: synced !== undefined, equal, quorumLost: quorumLosses })}`);
  // Failed writes are reported, not fatal: a TIMEOUT is an honest answer under load. What must hold is
  // that the two kept their quorum, the third caught up, and all three hold the same data.
  return quorumLosses === 0 && synced !== undefined && equal ? 0 : 1;
}

async function rejoin(nodes: (ClusterNode | undefined)[], awayAt: number, open: (nodeId: number) => Promise<ClusterNode>, stayed: readonly ClusterNode[], options: { writersPerTarget: number; keys: number }, print: Print) {
  const running = startWorkload(stayed.map(target), options);
  const began = performance.now();
  const back = await open(awayAt);
  nodes[awayAt] = back;
  const reopenedAt = back.info().appliedIndex;
  const missed = Math.max(0, Math.max(...stayed.map((n) => n.info().commitIndex)) - reopenedAt);
  const synced = await new Promise<{ index: number; via: string } | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), demoSettleMsMax);
    back.on('synced', (info) => {
      clearTimeout(timer);
      resolve(info);
    });
  });
  const syncMs = performance.now() - began;
  running.stop();
  const phase3: WorkloadResult = await running.done;
  print(`\n3. reopened ${back.nodeId} from its data directory: its journal brought it back to log index ${formatCount(reopenedAt)}, ${formatCount(missed)} entries behind the others`);
  print(synced === undefined
    ? `   it did NOT report synced within ${demoSettleMsMax / 1000} s`
    : `   while the others kept writing (${describeRun(phase3)}), it caught up ${synced.via === 'log' ? 'from the log' : 'by a state transfer'} to index ${formatCount(synced.index)}: synced ${formatMs(syncMs)} after reopening`);
  return { phase3, synced, syncMs, missed };
}

const formatMs = (ms: number) => `${Math.round(ms)} ms`;

/** Once writes stopped: every node's content hash, as soon as they are all equal (or as they are after demoSettleMsMax). */
async function settledHashes(nodes: readonly ClusterNode[]): Promise<Map<string, string>> {
  const hashes = () => new Map(nodes.map((n) => [n.nodeId, n.contentHash()]));
  return (await waitFor(() => { const h = hashes(); return new Set(h.values()).size === 1 ? h : undefined; }, demoSettleMsMax)) ?? hashes();
}

function fail(print: Print, why: string): number {
  print(`demo failed: ${why}`);
  return 1;
}
