/**
 * The `chorus` command line as a user runs it (the compiled bin; `npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../dist/src/cli/chorus.js', import.meta.url));
/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const chorus = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 150_000 });

describe('chorus', () => {
  it('prints its usage with --help', () => {
    const run = chorus('--help');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^chorus — chorusdb's command line/);
    expect(run.stdout).toContain('chorus demo');
  });

  it('refuses an unknown command with exit code 2 and the usage', () => {
    const run = chorus('frobnicate');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"');
    expect(run.stderr).toContain('Usage:');
  });

  it('runs simulated seeds, checks them, and ends with a JSON summary line', () => {
    const run = chorus('sim', '--seed', '3', '--seeds', '2', '--time', '2s', '--check-determinism');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.slice(0, 2).map((l) => l.replace(/\(.*\)/, ''))).toEqual(['seed 3: ok ', 'seed 4: ok ']);
    const summary = JSON.parse(lines.at(-1)!) as { simSeconds: number };
    expect(summary).toMatchObject({ seeds: 2, failures: 0, failedSeeds: [] });
    // Each seed: 2 s of faults, 1.5 s of liveness, the liveness probe (at most 1 s, a few ms when healthy), 1.5 s of drain.
    expect(summary.simSeconds).toBeGreaterThanOrEqual(10);
    expect(summary.simSeconds).toBeLessThan(10.5);
  });

  it('refuses a bad sim option naming it', () => {
    const run = chorus('sim', '--nodes', '12');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--nodes must be an integer in [1, 9]');
  });

  it('runs the demo (npm start): three node processes commit, one is killed, the other two keep committing, it restarts and catches up, none is left', () => {
    const run = chorus('demo');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    const pids = [...out.matchAll(/n[123] \(127\.0\.0\.1:\d+\) pid (\d+)/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(3);
    expect(out).toMatch(/leader 127\.0\.0\.1:\d+, term \d+; qrank 1 each/);
    expect(out).toMatch(/16 writers through each node's client port for 2 s: [1-9][\d,]* commits, [\d,]+\/s, commit p50 [\d.]+ ms, p99 [\d.]+ ms/);
    const away = /2\. killed (n[123]) \(127\.0\.0\.1:\d+\), a follower, with SIGKILL \(SIGKILL\)/.exec(out)?.[1];
    expect(away).toBeDefined();
    expect(out).toMatch(/saw it go: 127\.0\.0\.1:\d+ has quorum: yes, 127\.0\.0\.1:\d+ has quorum: yes/);
    expect(out).toMatch(/they kept writing for 2 s: [1-9][\d,]* commits/);
    const restarted = new RegExp(`3\\. restarted ${away} \\(pid (\\d+)\\) from its data directory`).exec(out);
    expect(restarted).not.toBeNull();
    expect(out).toMatch(/it caught up (from the log|by a state transfer) from index [\d,]+ \(where it was killed\) to [\d,]+: synced \d+ ms after the restart began/);
    const hashes = /content hashes once writes stopped: n1 ([0-9a-f]+), n2 ([0-9a-f]+), n3 ([0-9a-f]+) \(equal\)/.exec(out);
    expect(hashes?.[1]).toBe(hashes?.[2]);
    expect(hashes?.[1]).toBe(hashes?.[3]);
    expect(out).toContain('the other two kept their quorum');
    expect(out).toContain('every node holds the same data: yes');
    expect(out).toContain('stopped the three processes with SIGTERM (exit codes 0, 0, 0)');
    const removed = /and removed (\S+chorus-demo-\S+)/.exec(out)?.[1];
    expect(existsSync(removed!)).toBe(false);
    // None of the four node processes it started is left.
    for (const pid of [...pids, Number(restarted![1])]) expect(alive(pid)).toBe(false);
  }, 180_000);

  it('runs the in-process demo: three nodes commit, one stops, the other two keep committing, it comes back and catches up', () => {
    const run = chorus('demo', '--in-process');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/1\. opened n1, n2, n3 .* leader (n[123]), term \d+/);
    expect(out).toMatch(/16 writers on each of the 3 nodes for 2 s: [\d,]+ commits, [\d,]+\/s, commit p50 [\d.]+ ms, p99 [\d.]+ ms/);
    const away = /2\. stopped (n[123]) \(a follower\)/.exec(out)?.[1];
    expect(away).toBeDefined();
    expect(out).toContain(`saw ${away} go (detached)`);
    expect(out).toMatch(/kept writing for 2 s: [1-9][\d,]* commits/);
    expect(out).toContain('quorumLost events: 0');
    expect(out).toMatch(new RegExp(`3\\. reopened ${away} from its data directory: its journal brought it back to log index [\\d,]+, [1-9][\\d,]* entries behind`));
    expect(out).toMatch(/it caught up (from the log|by a state transfer) to index [\d,]+: synced \d+ ms after reopening/);
    const hashes = /content hashes once writes stopped: n1 ([0-9a-f]+), n2 ([0-9a-f]+), n3 ([0-9a-f]+) \(equal\)/.exec(out);
    expect(hashes?.[1]).toBe(hashes?.[2]);
    expect(hashes?.[1]).toBe(hashes?.[3]);
    expect(out).toContain('every node holds the same data: yes');
    const removed = /stopped every node \(no worker thread left\) and removed (\S+chorus-demo-\S+)/.exec(out)?.[1];
    expect(removed).toBeDefined();
    expect(existsSync(removed!)).toBe(false);
  }, 180_000);

  it('still tours the actor runtime with demo --runtime: threads, the mailbox bound, failure handling and a replayed seed', () => {
    const run = chorus('demo', '--runtime');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('5 actors, one worker thread each');
    expect(run.stdout).toMatch(/20000 rounds, 0 out of order/);
    expect(run.stdout).toMatch(/1024 accepted, 8976 refused with MAILBOX_FULL/);
    expect(run.stdout).toContain('"boom: faulty: demonstration"');
    expect(run.stdout).toContain('stopped: 0 worker threads left');
    expect(run.stdout).toMatch(/trace ([0-9a-f]{16}), replayed: \1 \(identical\)/);
  });
});
