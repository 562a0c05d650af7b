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
