/**
 * `chorus sim` as a user runs it: narrowing faults, progress on stderr that never touches the JSON line
 * on stdout, the HTML report, and replay commands that reproduce a seed exactly.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSimArgs, replayCommand, runSim } from '../../src/cli/sim.js';
import { faultKinds } from '../../simulate/faults.js';

const bin = fileURLToPath(new URL('../../dist/src/cli/chorus.js', import.meta.url));
const chorus = (...args: string[]) => spawnSync(process.execPath, [bin, 'sim', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('chorus sim', () => {
  it('refuses an unknown fault kind, naming it and the valid ones', () => {
    const run = chorus('--faults', 'partition,meteor');
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown fault kind "meteor"');
    expect(run.stderr).toContain(`valid kinds: ${faultKinds.join(', ')}`);
    expect(run.stdout).toBe('');
  });

  it('shows plain progress lines on a non-terminal stderr and keeps the JSON summary the last stdout line', () => {
    const run = chorus('--seed', '1', '--seeds', '24', '--time', '300ms', '--faults', 'crash,partition');
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/^progress: \d+\/24 seeds, 0 failed/m);
    expect(run.stderr).toMatch(/progress: 24\/24 seeds, 0 failed/);
    expect(run.stdout).not.toContain('progress');
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ seeds: 24, failures: 0, failedSeeds: [], nodes: 3 });
    expect(summary['deliveriesPerSec']).toBeGreaterThan(0);
    // The speed figures, on wall time and on CPU time, and the load they were measured under.
    for (const field of ['simToWallRatio', 'simToCpuRatio', 'cpuSeconds', 'deliveriesPerCpuSec', 'okOpsPerSimSec']) expect(summary[field], field).toBeGreaterThan(0);
    expect(summary['simSeconds'] as number / (summary['wallSeconds'] as number)).toBeCloseTo(summary['simToWallRatio'] as number, 0);
  });

  it('writes a self-contained HTML report of the run', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'chorus-sim-')), 'run.html');
    const run = chorus('--seed', '4', '--nodes', '5', '--time', '1s', '--report', file);
    expect(run.status).toBe(0);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('seed <b>4</b>');
    expect(html).toContain('>n4</text>');
    expect(html).toContain('Commit latency');
    expect(html).toContain('npx chorus sim --seed 4 --nodes 5 --time 1000ms --workload register');
  });

  it('draws a progress bar redrawn in place when stderr is a terminal, and clears it before the summary', () => {
    const writes: string[] = [];
    const lines: string[] = [];
    const code = runSim(parseSimArgs(['--seed', '2', '--seeds', '3', '--time', '200ms']), (l) => lines.push(l), { isTTY: true, write: (t) => void writes.push(t) });
    expect(code).toBe(0);
    expect(writes.filter((w) => w.startsWith('\r\x1b[K['))).toHaveLength(3);
    expect(writes.at(-2)).toMatch(/\[#{30}\] 3\/3 seeds · 0 failed/);
    expect(writes.at(-1)).toBe('\r\x1b[K');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seeds: 3, failures: 0 });
  });

  it('prints replay commands that parse back to the same run of that one seed', () => {
    const args = parseSimArgs(['--seed', '10', '--seeds', '50', '--qranks', '1,2,1', '--time', '2s', '--workload', 'bank', '--faults', 'crash,drift', '--check-determinism']);
    const command = replayCommand(args, 37);
    expect(command).toBe('npx chorus sim --seed 37 --qranks 1,2,1 --time 2000ms --workload bank --faults crash,drift --check-determinism');
    expect(parseSimArgs(command.split(' ').slice(3))).toEqual({ ...args, seed: 37, seeds: 1 });
    expect(replayCommand(parseSimArgs(['--nodes', '5']), 3)).toBe('npx chorus sim --seed 3 --nodes 5 --time 10000ms --workload register');
    const shaped = parseSimArgs(['--nodes', '5', '--arbiters', '4', '--think-ms', '100']);
    expect(replayCommand(shaped, 3)).toBe('npx chorus sim --seed 3 --nodes 5 --arbiters 4 --time 10000ms --think-ms 100 --workload register');
    expect(parseSimArgs(replayCommand(shaped, 3).split(' ').slice(3))).toEqual({ ...shaped, seed: 3 });
    expect(replayCommand(parseSimArgs(['--arbiters', 'none']), 3)).toContain(' --arbiters none ');
  });

  it('refuses arbiters that name no node or leave no data node', () => {
    expect(() => parseSimArgs(['--nodes', '3', '--arbiters', '3'])).toThrow(/--arbiters names node numbers from 0 to 2/);
    expect(() => parseSimArgs(['--nodes', '2', '--arbiters', '0,1'])).toThrow(/at least one data node/);
  });
});
