/**
 * The chaos test's power cut, checked on its own: the preload's ledger (power-cut-ledger.mjs) holds what
 * each fsync made durable before the caller hears of it, follows a file renamed over another, and owns
 * up to writes it does not follow; a cut keeps the synced bytes exactly and only drops or zeroes what
 * came after; and a real node, its power cut right after it acknowledged writes, comes back with every
 * one of them (on the inline host and on the thread host, whose actors' workers run the preload too).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../simulate/rng.js';
import { LocalCluster } from '../../src/cli/local-cluster.js';
import type { Client, ClientOptions } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import { cutPower, powerCutEnv, powerCutExecArgv, readLedger } from './power-cut.js';
import type { TailKept } from './power-cut.js';

const dirs: string[] = [];
const clusters: LocalCluster[] = [];
afterAll(async () => {
  await Promise.all(clusters.map((c) => c.killAll()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-power-cut-'));
  dirs.push(dir);
  return dir;
}

/** Runs an ES module script in a node process with the preload; returns its stdout. */
function withPreload(script: string, ledger: string, root: string, fsyncDelayMs = 0): string {
  return execFileSync(process.execPath, [...powerCutExecArgv(), '--input-type=module', '-e', script], { env: { ...process.env, ...powerCutEnv(ledger, root, fsyncDelayMs) }, encoding: 'utf8', timeout: 20_000 });
}

describe('the ledger (power-cut-ledger.mjs)', () => {
  it('holds each fsync before its caller returns, sync or async, with the size the file had when it was called', () => {
    const dir = tempDir();
    const root = join(dir, 'data');
    mkdirSync(root);
    const ledger = join(dir, 'ledger.jsonl');
    const file = join(root, 'a.journal');
    const out = withPreload(`
      import { openSync, writeSync, fsync, fsyncSync, readFileSync } from 'node:fs';
      const lines = () => readFileSync(${JSON.stringify(ledger)}, 'utf8').trim().split('\\n').length;
      const fd = openSync(${JSON.stringify(file)}, 'a');
      writeSync(fd, Buffer.alloc(100, 1));
      fsyncSync(fd);
      const afterSync = lines();
      writeSync(fd, Buffer.alloc(50, 2));
      fsync(fd, (error) => {
        const afterAsync = lines();
        writeSync(fd, Buffer.alloc(25, 3)); // never synced
        process.stdout.write(JSON.stringify({ afterSync, duringAsync, afterAsync }));
      });
      const duringAsync = lines();
      writeSync(fd, Buffer.alloc(10, 4)); // written while the fsync runs: it may not cover these
    `, ledger, root, 20);
    // A line at creation (cut to 0), one per fsync, each there when the caller went on and not before.
    expect(JSON.parse(out)).toEqual({ afterSync: 2, duringAsync: 2, afterAsync: 3 });
    const read = readLedger(ledger);
    expect(read.synced.get(statSync(file).ino)).toBe(150);
    expect(statSync(file).size).toBe(185);
  });

  it('follows a file renamed over another, a truncation, and names what it does not follow', () => {
    const dir = tempDir();
    const root = join(dir, 'data');
    mkdirSync(root);
    const ledger = join(dir, 'ledger.jsonl');
    const file = join(root, 'a.journal');
    withPreload(`
      import { openSync, writeSync, fsyncSync, closeSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
      let fd = openSync(${JSON.stringify(file)}, 'a');
      writeSync(fd, Buffer.alloc(300, 1));
      fsyncSync(fd);
      const tmp = openSync(${JSON.stringify(`${file}.tmp`)}, 'w');
      writeSync(tmp, Buffer.alloc(80, 2));
      fsyncSync(tmp);
      closeSync(tmp);
      renameSync(${JSON.stringify(`${file}.tmp`)}, ${JSON.stringify(file)});
      writeFileSync(${JSON.stringify(join(dir, 'outside.txt'))}, 'not under the root');
    `, ledger, root);
    expect(readLedger(ledger).synced.get(statSync(file).ino)).toBe(80);
    expect(readLedger(ledger).unfollowed).toEqual([]);
    withPreload(`
      import { truncateSync, writeFileSync } from 'node:fs';
      truncateSync(${JSON.stringify(file)}, 20);
      writeFileSync(${JSON.stringify(join(root, 'other'))}, 'written whole, never fsynced');
    `, ledger, root);
    const read = readLedger(ledger);
    expect(read.synced.get(statSync(file).ino)).toBe(20);
    expect(read.unfollowed).toEqual([`writeFileSync ${join(root, 'other')}`]);
    expect(() => cutPower(root, ledger, new Rng(1))).toThrow(/does not follow: writeFileSync/);
  });

  it('counts the name of a new file durable only once its directory is fsynced', () => {
    const dir = tempDir();
    const root = join(dir, 'data');
    mkdirSync(root);
    const ledger = join(dir, 'ledger.jsonl');
    withPreload(`
      import { openSync, writeSync, fsyncSync, closeSync } from 'node:fs';
      for (const name of ['named', 'nameless']) {
        const fd = openSync(${JSON.stringify(root)} + '/' + name, 'a');
        writeSync(fd, Buffer.alloc(64, 1));
        fsyncSync(fd);
        closeSync(fd);
        if (name === 'named') {
          const dirFd = openSync(${JSON.stringify(root)}, 'r');
          fsyncSync(dirFd);
          closeSync(dirFd);
        }
      }
    `, ledger, root);
    const cuts = cutPower(root, ledger, new Rng(1));
    expect(cuts.map((c) => [c.file, c.kept])).toEqual([['nameless', 'gone']]);
    expect(readdirSync(root)).toEqual(['named']);
    expect(statSync(join(root, 'named')).size).toBe(64);
  });
});

describe('cutPower', () => {
  it('keeps the synced bytes exactly and drops or zeroes only what came after, in each of its ways', () => {
    const dir = tempDir();
    const seen = new Set<TailKept | 'gone'>();
    for (let seed = 0; seed < 60; seed++) {
      const root = join(dir, `data${seed}`);
      mkdirSync(root);
      const file = join(root, 'x.journal');
      const content = randomBytes(20_000);
      writeFileSync(file, content);
      const syncedBytes = 5_000 + seed * 97;
      const ledger = join(dir, `ledger${seed}.jsonl`);
      writeFileSync(ledger, `${JSON.stringify({ ino: statSync(file).ino, synced: syncedBytes })}\n`);
      const [cut] = cutPower(root, ledger, new Rng(seed));
      const after = readFileSync(file);
      expect(cut!.syncedBytes).toBe(syncedBytes);
      expect(after.length).toBe(cut!.bytesAfter);
      expect(after.length).toBeGreaterThanOrEqual(syncedBytes);
      expect(after.subarray(0, syncedBytes).equals(content.subarray(0, syncedBytes))).toBe(true);
      let zeroed = 0;
      let changed = 0; // neither what was written nor zero
      for (let at = syncedBytes; at < after.length; at++) {
        if (after[at] === content[at]) continue;
        if (after[at] === 0) zeroed++;
        else changed++;
      }
      expect(changed, `seed ${seed}`).toBe(0);
      if (cut!.kept === 'none') expect(after.length).toBe(syncedBytes);
      if (cut!.kept !== 'pages') expect(zeroed).toBe(0);
      if (zeroed > 0) seen.add('pages');
      else seen.add(cut!.kept === 'pages' ? 'prefix' : cut!.kept);
    }
    expect([...seen].sort()).toEqual(['none', 'pages', 'prefix']);
  });
});

/** The values of rows `keys` (linearizable: every entry the node recovered is applied first). */
async function readBack(client: Client, keys: readonly number[]): Promise<(string | undefined)[]> {
  if (keys.length === 0) return [];
  const read = await client.read(keys.map((k) => ({ op: 'get' as const, table: 'kv', key: k })), { consistency: 'linearizable' });
  return read.results.map((row) => (row as { v?: string } | null)?.v);
}

const writesPerRound = 30;
const rounds = 2;
/** A slow disk (power-cut-ledger.mjs): an acknowledgement sent before its fsync returned would be out well before it. */
const fsyncDelayMs = 10;

describe.each(['inline', 'thread'] as const)('a node on the %s host', (host) => {
  it('comes back from a power cut right after acknowledged writes with every one of them', async () => {
    const dir = tempDir();
    const secret = randomBytes(24).toString('base64');
    const ledger = join(dir, 'ledger1.jsonl');
    const cluster = await LocalCluster.create({
      size: 1, dir, clusterName: 'cut', secret, toml: `host = "${host}"\n`,
      nodeExecArgv: () => powerCutExecArgv(), nodeEnv: () => powerCutEnv(ledger, join(dir, 'data1'), fsyncDelayMs),
    });
    clusters.push(cluster);
    const options: ClientOptions = { clusterName: 'cut', clientKey: clientKeyFor(secret), requestTimeoutMs: 10_000 };
    const acknowledged: number[] = [];
    for (let round = 0; round < rounds; round++) {
      await cluster.start(0, 30_000);
      const client = await connect(cluster.clientAddrs[0]!, options);
      const read = await readBack(client, acknowledged);
      expect(read, `round ${round}: acknowledged rows after the power cut`).toEqual(acknowledged.map(String));
      // Writes in flight together (group commit); the power goes at the first answer of the last one.
      const base = round * writesPerRound;
      const done = Array.from({ length: writesPerRound }, (_, k) => client.write([{ op: 'upsert', table: 'kv', row: { k: base + k, v: String(base + k) } }]).then(() => base + k));
      acknowledged.push(...(await Promise.all(done.slice(0, -1))));
      acknowledged.push(await done[writesPerRound - 1]!);
      await cluster.stop(0, 'SIGKILL');
      await client.close().catch(() => undefined);
      cutPower(cluster.dataDir(0), ledger, new Rng(round), 'none');
    }
    // The journal was followed: without its fsyncs in the ledger the cut would have emptied it.
    expect(readLedger(ledger).fsyncs).toBeGreaterThan(rounds);
    await cluster.start(0, 30_000);
    const client = await connect(cluster.clientAddrs[0]!, options);
    expect(await readBack(client, acknowledged)).toEqual(acknowledged.map(String));
    await client.close();
    await cluster.killAll();
  }, 120_000);
});
