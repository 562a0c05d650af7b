/**
 * `chorus node`, `chorus arbiter` and `chorus status` as a user runs them: separate processes on
 * loopback, configured by TOML files, watched through their JSON logs and their admin ports, stopped
 * by signals.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../transport/tcp-harness.js';
import { bin, clusterFiles, clusterSecret, killAll, startProcess } from './processes.js';
import { connect } from '../../src/client/index.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import type { ClusterFiles } from './processes.js';

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function files(count: number, options?: Parameters<typeof clusterFiles>[2]): Promise<ClusterFiles> {
  const ports = await freePorts(count * 2);
  const made = clusterFiles(ports.slice(0, count), ports.slice(count), options);
  dirs.push(made.dir);
  return made;
}

const chorus = (args: readonly string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });

/** Runs a command without blocking this event loop (the node processes' output keeps flowing). */
const chorusAsync = (args: readonly string[]) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.once('close', (status) => resolve({ status, stdout, stderr }));
});

interface Status {
  readonly leader?: string;
  readonly hasQuorum: boolean;
  readonly peers: readonly { readonly nodeId: string; readonly connected: boolean }[];
}

async function status(admin: string): Promise<Status> {
  return (await fetch(`http://${admin}/status`)).json() as Promise<Status>;
}

/** Polls a node's /status until `ok` holds (bounded: fails the test after 60 s, never a measurement). */
async function statusWhen(admin: string, ok: (s: Status) => boolean, what: string): Promise<Status> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    const seen = await status(admin);
    if (ok(seen)) return seen;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(seen)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('chorus node: configuration errors name the file or variable and the key', () => {
  it('refuses unknown keys, wrong types, bad ranges and bad environment overrides, with exit status 2', async () => {
    const { files: [file] } = await files(3);
    let edits = 0;
    const edit = (extra: string) => {
      const changed = join(dirs[0]!, `changed${edits++}.toml`);
      writeFileSync(changed, readFileSync(file!, 'utf8').replace('[tcp]\n', `[tcp]\n${extra}\n`));
      return changed;
    };
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['node', '--config', edit('conectTimeoutMs = 5')], {}, /changed\d+\.toml: unknown key tcp\.conectTimeoutMs \(did you mean tcp\.connectTimeoutMs\?\)/],
      [['node', '--config', edit('connectTimeoutMs = "soon"')], {}, /changed\d+\.toml: tcp\.connectTimeoutMs must be an integer, got "soon"/],
      [['node', '--config', edit('connectTimeoutMs = 0')], {}, /changed\d+\.toml: tcp\.connectTimeoutMs must be an integer in \[1, 600000\], got 0/],
      [['node', '--config', edit('socketDomain = "ipx"')], {}, /tcp\.socketDomain must be one of "ipv4", "ipv6", got "ipx"/],
      [['node', '--config', file!], { CHORUS_TCP_CONNECT_TIMEOUT_MS: 'soon' }, /CHORUS_TCP_CONNECT_TIMEOUT_MS must be an integer, got "soon"/],
      [['node', '--config', file!], { CHORUS_NODE_ID: '7' }, /nodeId must be an index into nodes \(0 to 2\), got 7/],
      [['node', '--config', edit('secret = "too short"')], {}, /give tcp\.secret or tcp\.secretFile, not both/],
      [['node', '--config', join(dirs[0]!, 'missing.toml')], {}, /missing\.toml: cannot read \(ENOENT\)/],
      [['node', '--config', edit('[oops')], {}, /changed\d+\.toml: not valid TOML at line \d+, column \d+/],
      [['node'], {}, /--config FILE\.toml is required/],
      [['arbiter', '--config', file!], {}, /nodes\[0\] \(this node\) is not an arbiter: set arbiter = true on it/],
    ];
    for (const [args, env, expected] of cases) {
      const run = chorus(args, env);
      expect(run.stderr, args.join(' ')).toMatch(expected);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).not.toContain('sixteen bytes'); // the secret (from secret.txt) never shows
    }
  });

  it('refuses a dataDir that holds another node\'s journal (its nodeId changed?), with exit status 1, before opening anything', async () => {
    const { dir, files: [file], addrs } = await files(3);
    mkdirSync(join(dir, 'data0'));
    writeFileSync(join(dir, 'data0', `${addrs[0]}.replicator.journal`), ''); // node 0 ran here
    const run = chorus(['node', '--config', file!], { CHORUS_NODE_ID: '1' });
    expect(run.status).toBe(1);
    expect(run.stdout + run.stderr).toContain(`holds the journal of node \\"${addrs[0]}\\", and this node is \\"${addrs[1]}\\": is nodeId right?`);
  });

  it('chorus status says when nothing answers at the admin address', async () => {
    const [port] = await freePorts(1);
    const run = chorus(['status', '--node', `127.0.0.1:${port}`]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no answer from the admin port at 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    expect(chorus(['status']).status).toBe(2);
  });
});

describe('chorus node and chorus arbiter as processes', () => {
  it('run two data nodes and an arbiter: they elect, report status and metrics, keep quorum without one data node, and stop on signals', async () => {
    const cluster = await files(3, { arbiters: [2] });
    const refused = chorus(['node', '--config', cluster.files[2]!]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/nodes\[2\] \(this node\) is an arbiter: run it with chorus arbiter/);

    const nodes = [
      startProcess(['node', '--config', cluster.files[0]!], { CHORUS_MODE_MASK_DEBUG_OUTPUT: 'true', CHORUS_CLIENT_REVOKED: 'gone, retired' }),
      startProcess(['node', '--config', cluster.files[1]!]),
      startProcess(['arbiter', '--config', cluster.files[2]!]),
    ];
    const ready = await Promise.all(nodes.map((p, i) => p.line((l) => /ready$/.test(l.msg), `node ${i} ready`)));
    expect(ready.map((l) => [l.node, l.msg, l['admin']])).toEqual([
      [cluster.addrs[0], 'node ready', cluster.admins[0]], [cluster.addrs[1], 'node ready', cluster.admins[1]], [cluster.addrs[2], 'arbiter ready', cluster.admins[2]],
    ]);
    await statusWhen(cluster.admins[0]!, (s) => s.leader !== undefined && s.peers.every((p) => p.connected), 'a leader, and every peer connected');

    const table = await chorusAsync(['status', '--node', cluster.admins[0]!]);
    expect(table.status).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^cluster as ${cluster.addrs[0]} sees it: leader 127\\.0\\.0\\.1:\\d+, term \\d+, quorum yes, 3 of 3 nodes connected$`));
    expect(lines[1]).toMatch(/^node\s+role\s+connection\s+qrank\s+term\s+commit\s+applied\s+lag$/);
    expect(lines[2]).toMatch(new RegExp(`^${cluster.addrs[0]} \\*\\s+(leader|follower)\\s+self\\s+1\\s+\\d+\\s+\\d+\\s+\\d+\\s+0$`));
    expect(lines[3]).toMatch(new RegExp(`^${cluster.addrs[1]}\\s+(leader|follower)\\s+connected\\s+1\\s+\\d+`));
    expect(lines[4]).toMatch(new RegExp(`^${cluster.addrs[2]}\\s+\\w+ \\(arbiter\\)\\s+connected\\s+1\\s+\\d+`));

    // The client port: a write through node 0, read back linearizably through node 1.
    // The client key as an operator gets it: chorus client-key prints it, and never the secret.
    const key = await chorusAsync(['client-key', '--config', cluster.files[0]!]);
    expect(key).toMatchObject({ status: 0, stdout: `${clientKeyFor(clusterSecret)}\n` });
    expect(key.stdout + key.stderr).not.toContain(clusterSecret);
    const [c0, c1] = await Promise.all([0, 1].map((i) => connect(ready[i]!['client'] as string, { clusterName: 'cli-test', clientKey: key.stdout.trim() })));
    await c0!.write([{ op: 'upsert', table: 'kv', row: { k: 1, v: 'from a client' } }]);
    expect((await c1!.read([{ op: 'get', table: 'kv', key: 1 }], { consistency: 'linearizable' })).results).toEqual([{ k: 1, v: 'from a client' }]);
    await Promise.all([c0!.close(), c1!.close()]);
    // A named client key (chorus client-key --name): admitted with its name, refused where client.revoked
    // names it (node 0, from the environment) and still admitted elsewhere.
    const named = await chorusAsync(['client-key', '--config', cluster.files[0]!, '--name', 'gone']);
    expect(named).toMatchObject({ status: 0, stdout: `${clientKeyFor(clusterSecret, 'gone')}\n` });
    const asGone = (i: number) => connect(ready[i]!['client'] as string, { clusterName: 'cli-test', clientName: 'gone', clientKey: named.stdout.trim() });
    await expect(asGone(0)).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(/client not admitted/) });
    await (await asGone(1)).close();
    expect((await chorusAsync(['client-key', '--config', cluster.files[0]!, '--name', 'a b'])).status).toBe(2);

    const metrics = await (await fetch(`http://${cluster.admins[0]}/metrics`)).text();
    expect(metrics).toContain('# TYPE chorus_commits_total counter');
    expect(metrics).toMatch(/^chorus_commits_total\{origin="local"\} [1-9]\d*$/m);
    expect(metrics).toContain('chorus_client_writes_total{outcome="ok"} 1');
    expect(Number(/^process_cpu_seconds_total ([\d.e-]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0); // the node process's own CPU time, Prometheus' standard name
    expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(10 * 1024 * 1024);
    expect(metrics).toContain('chorus_has_quorum 1');
    expect(metrics).toContain(`chorus_peer_connected{peer="${cluster.addrs[2]}"} 1`);
    expect(metrics).toMatch(/^chorus_bytes_sent_total [1-9]\d*$/m);
    expect(metrics).toMatch(/^chorus_leader_changes_total [1-9]\d*$/m);
    expect(metrics).toMatch(new RegExp(`^chorus_peer_lag_entries\\{peer="${cluster.addrs[1]!.replace(/\./g, '\\.')}"\\} \\d+$`, 'm'));
    // modeMask.debugOutput (from the environment) logs every cluster message on node 0 only.
    await nodes[0]!.line((l) => l.msg === 'cluster message sent' && typeof l['type'] === 'string', 'a logged cluster message');
    await nodes[0]!.line((l) => l.msg === 'cluster message received' && typeof l['type'] === 'string', 'a logged received message');
    expect(nodes[1]!.lines.some((l) => l.msg.startsWith('cluster message'))).toBe(false);

    nodes[1]!.signal('SIGTERM');
    expect(await nodes[1]!.exit()).toBe(0);
    expect(nodes[1]!.lines.at(-1)?.msg).toBe('stopped');
    await nodes[0]!.line((l) => l.msg === `disconnected from ${cluster.addrs[1]}`, 'node 0 sees node 1 go');
    expect((await status(cluster.admins[0]!)).hasQuorum).toBe(true); // a data node and the arbiter: 2 of 3

    nodes[0]!.signal('SIGINT');
    nodes[2]!.signal('SIGTERM');
    expect(await Promise.all([nodes[0]!.exit(), nodes[2]!.exit()])).toEqual([0, 0]);
    for (const p of nodes) expect(p.stderr).toBe('');
    for (const p of nodes) expect(JSON.stringify(p.lines)).not.toContain('sixteen bytes');
  }, 180_000);

  it('a node that fails while running (it cannot apply a committed write) logs why and exits with status 1, for its service manager to see', async () => {
    const cluster = await files(2);
    // Node 1's table has another type for v: it cannot apply node 0's writes, and would diverge if it skipped them.
    writeFileSync(cluster.files[1]!, readFileSync(cluster.files[1]!, 'utf8').replace('{ name = "v", type = "string" }', '{ name = "v", type = "int32" }'));
    const nodes = [startProcess(['node', '--config', cluster.files[0]!]), startProcess(['node', '--config', cluster.files[1]!])];
    const ready = await Promise.all(nodes.map((p, i) => p.line((l) => /ready$/.test(l.msg), `node ${i} ready`)));
    await statusWhen(cluster.admins[0]!, (s) => s.leader !== undefined && s.peers.every((p) => p.connected), 'a leader, and the peer connected');
    const client = await connect(ready[0]!['client'] as string, { clusterName: 'cli-test', clientKey: clientKeyFor(clusterSecret) });
    // When node 1 leads, it commits the write, fails applying it, and may stop before node 0 hears of the
    // commit: node 0, alone, cannot tell whether the write happened (TIMEOUT). Either way node 1 must exit.
    await client.write([{ op: 'upsert', table: 'kv', row: { k: 1, v: 'a string' } }]).catch((error: { code?: string }) => {
      if (error.code !== 'TIMEOUT') throw error;
    });
    await client.close();
    // Bounded: a process that stays up in a failed state fails the test here.
    const exit = await Promise.race([nodes[1]!.exit(), new Promise<string>((resolve) => setTimeout(() => resolve('still running after 30 s'), 30_000))]);
    expect(exit).toBe(1);
    const fatal = nodes[1]!.lines.find((l) => l.level === 60);
    expect(fatal?.msg).toMatch(/^node failed: node 127\.0\.0\.1:\d+ stopped: it cannot apply a committed write from 127\.0\.0\.1:\d+ .*; stopping, exit status 1$/);
    expect(fatal?.['code']).toBe('INCOMPATIBLE_SCHEMA');
    expect(nodes[1]!.lines.at(-1)?.msg).toBe('stopped');
    expect(nodes[0]!.running).toBe(true);
  }, 120_000);
});
