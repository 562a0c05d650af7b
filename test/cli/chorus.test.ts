/**
 * The `chorus` command line as a user runs it (the compiled bin; `npm test` builds first).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../dist/src/cli/chorus.js', import.meta.url));
const chorus = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

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
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seeds: 2, failures: 0, failedSeeds: [], simSeconds: 10 });
  });

  it('refuses a bad sim option naming it', () => {
    const run = chorus('sim', '--nodes', '12');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--nodes must be an integer in [1, 9]');
  });

  it('runs the demo (npm start): threads, the mailbox bound, failure handling and a replayed seed', () => {
    const run = chorus('demo');
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
