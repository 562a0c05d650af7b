/**
 * Chaos on real processes: three `chorus node` processes on loopback, every node-to-node direction
 * through a fault-injecting relay (relay.ts), clients running a register workload through the nodes'
 * client ports (register.ts), and a schedule drawn from one seed (faults.ts) that partitions nodes
 * (resets and silent blackholes), cuts single directions, delays links, pauses a node (SIGSTOP), kills
 * one node, two (a majority) or all three with SIGKILL and restarts them, and on some kills cuts the
 * power: the killed nodes' files lose what no fsync had made durable (power-cut.ts; the node processes
 * run with the preload power-cut-ledger.mjs, which records what was synced, and makes their disks slow:
 * each background fsync starts 40-120 ms late). Then everything heals and the checks run:
 *   - the register history is linearizable (the simulator's checker, simulate/checkers);
 *   - no acknowledged write is lost (the final values, read after healing, against the history);
 *   - every node reports the same content hash;
 *   - the cluster commits again after healing, and elected another leader while one was paused (liveness).
 * A failure prints the seed and the command that runs the same schedule again (timing on real
 * processes still varies), and keeps the history as JSON lines beside the nodes' files.
 * CHAOS_POWER_CUTS=off runs the same schedule with kills that keep the page cache (plain SIGKILL).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { HistoryRecorder } from '../../simulate/history.js';
import { Rng } from '../../simulate/rng.js';
import { checkLinearizable, checkLostWrites } from '../../simulate/checkers/index.js';
import type { FinalValue } from '../../simulate/checkers/index.js';
import { LocalCluster, freePorts } from '../../src/cli/local-cluster.js';
import type { Client, ClientOptions } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import { Relay } from './relay.js';
import { RegisterWorkload } from './register.js';
import { runFaults } from './faults.js';
import { powerCutEnv, powerCutExecArgv } from './power-cut.js';

const seed = Number(process.env['CHAOS_SEED'] ?? (process.env['CI'] !== undefined ? 20261121 : Math.floor(Math.random() * 2 ** 31)));
const faultsMs = Number(process.env['CHAOS_FAULTS_MS'] ?? 30_000);
const powerCuts = process.env['CHAOS_POWER_CUTS'] !== 'off';
const size = 3;
const keys = 4;
const settleMsMax = 60_000;
/** Each node's disk is this slow (power-cut-ledger.mjs): the window in which an early acknowledgement shows. */
const fsyncDelayMsMin = 40;
const fsyncDelayMsMax = 120;

const dir = mkdtempSync(join(tmpdir(), 'chorus-chaos-'));
let cluster: LocalCluster | undefined;
const relays: Relay[][] = [];
let failed = true;

afterAll(async () => {
  await cluster?.killAll();
  await Promise.all(relays.flat().map((r) => r.close()));
  if (failed) process.stdout.write(`chaos: files and history kept in ${dir}\nreplay the schedule: CHAOS_SEED=${seed} npx vitest run test/chaos\n`);
  else rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` gives a value (bounded by settleMsMax: a hung cluster fails the test, it is not measured). */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + settleMsMax;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`chaos (seed ${seed}): timed out waiting for ${what}`);
    await sleep(100);
  }
}

it(`keeps a register linearizable, loses no acknowledged write and converges, under partitions, cuts, delays, pauses, SIGKILL and power cuts (seed ${seed})`, async () => {
  const rng = new Rng(seed);
  const secret = randomBytes(24).toString('base64');
  const clientOptions: ClientOptions = { clusterName: 'chaos', clientKey: clientKeyFor(secret), requestTimeoutMs: 6_000 };
  const relayPorts = await freePorts(size * size);
  const ledger = (i: number) => join(dir, `ledger${i + 1}.jsonl`);
  // Slow disks: each background fsync starts later (from its own stream, so the schedule stays as it was).
  const diskRng = new Rng(seed + 3);
  const fsyncDelaysMs = Array.from({ length: size }, () => Math.round(diskRng.between(fsyncDelayMsMin, fsyncDelayMsMax)));
  const relayAddr = (from: number, to: number) => `127.0.0.1:${relayPorts[from * size + to]}`;
  cluster = await LocalCluster.create({
    size, dir, clusterName: 'chaos', secret, toml: 'tickMs = 20\nwriteTimeoutMs = 3000\n',
    dial: (from, to) => relayAddr(from, to),
    nodeExecArgv: () => powerCutExecArgv(),
    nodeEnv: (i) => powerCutEnv(ledger(i), join(dir, `data${i + 1}`), fsyncDelaysMs[i]),
  });
  const c = cluster;
  for (let from = 0; from < size; from++) {
    relays[from] = [];
    for (let to = 0; to < size; to++) {
      if (from === to) continue;
      const [host, port] = c.addrs[to]!.split(':') as [string, string];
      const relay = new Relay({ host, port: Number(port) });
      await relay.listen(relayPorts[from * size + to]!);
      relays[from]![to] = relay;
    }
  }
  await Promise.all([0, 1, 2].map((i) => c.start(i, settleMsMax)));
  const probes: Client[] = await Promise.all(c.clientAddrs.map((addr) => connect(addr, clientOptions)));
  await until('a leader every node knows', async () => {
    const infos = await Promise.all(probes.map((p) => p.info()));
    return infos.every((i) => i.leader !== undefined && i.leader === infos[0]!.leader) ? true : undefined;
  });
  await Promise.all(probes.map((p) => p.close()));

  const history = new HistoryRecorder();
  const startedMs = performance.now();
  const workload = new RegisterWorkload({ processes: 6, keys, clientAddr: (p) => c.clientAddrs[p % size]!, client: clientOptions, thinkMs: 10 }, history, new Rng(seed + 1), startedMs);
  workload.start();
  const { timeline, unreplaced } = await runFaults({
    cluster: c, relays, rng, cutRng: new Rng(seed + 2), workload, powerCuts, ledger, client: clientOptions, startedMs, faultsMs, readyMsMax: settleMsMax,
  });
  const healedAt = performance.now() - startedMs;
  timeline.push(`${Math.round(healedAt)} ms: healed everything`);
  await sleep(5_000); // the workload goes on against the healed cluster
  await workload.stop();
  writeFileSync(join(dir, 'history.jsonl'), history.toJsonLines());
  writeFileSync(join(dir, 'timeline.txt'), `${timeline.join('\n')}\n`);

  const finals = await converged(c, clientOptions);
  const okAfterHeal = history.events.filter((e) => e.type === 'ok' && e.f !== 'read' && e.time > healedAt).length;
  const summary = `seed ${seed}: fsync delays ${fsyncDelaysMs.join('/')} ms, ${history.events.length} events, outcomes ${JSON.stringify(workload.outcomes)}, sequence ${JSON.stringify(workload.sequence)}\n${timeline.join('\n')}`;
  expect(okAfterHeal, `no write committed after healing\n${summary}`).toBeGreaterThan(0);
  expect(unreplaced, `a paused leader was not replaced while paused\n${summary}`).toEqual([]);
  const linear = checkLinearizable(history.events);
  expect(linear.ok, `not linearizable: ${'message' in linear ? linear.message : 'reason' in linear ? `undecided (${linear.reason})` : ''}\n${summary}`).toBe(true);
  const lost = checkLostWrites(history.events, finals.values);
  expect(lost.ok, `acknowledged writes lost: ${'message' in lost ? lost.message : ''}\n${summary}`).toBe(true);
  expect(new Set(finals.hashes).size, `content hashes differ: ${finals.hashes.join(' ')}\n${summary}`).toBe(1);
  expect(workload.readsGoneBack, `a node's local reads went back\n${summary}`).toEqual([]);
  expect(workload.sequence.steps, `the sequence was never counted up\n${summary}`).toBeGreaterThan(0);
  process.stdout.write(`chaos ${summary}\nlinearizable (${linear.ok === true ? linear.statesExplored : 0} states explored), no acknowledged write lost, equal content hashes ${finals.hashes[0]!.slice(0, 12)}\n`);
  failed = false;
}, 300_000);

/** After healing: waits until every node holds the same data, then reads each key's final value. */
async function converged(c: LocalCluster, options: ClientOptions): Promise<{ hashes: string[]; values: Map<string, FinalValue> }> {
  const clients = await Promise.all(c.clientAddrs.map((addr) => until(`a client connection to ${addr}`, () => connect(addr, options))));
  try {
    const hashes = await until('equal content hashes on every node', async () => {
      const all = await Promise.all(clients.map((cl) => cl.contentHash()));
      return new Set(all.map((h) => h.hash)).size === 1 ? all.map((h) => h.hash) : undefined;
    });
    // Right after healing a leader may still be settling: a read it cannot confirm yet is asked again.
    const read = await until('a confirmed linearizable read of every key', () => clients[0]!.read(Array.from({ length: keys }, (_, k) => ({ op: 'get' as const, table: 'kv', key: k })), { consistency: 'linearizable' }));
    const values = new Map<string, FinalValue>(read.results.map((row, k) => {
      const v = (row as { v?: string } | null)?.v;
      return [String(k), v === undefined ? null : Number(v)];
    }));
    return { hashes, values };
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
  }
}
