/**
 * The HTML report of a run (simulate/report.ts) as a person opens it: one page with nothing fetched,
 * a timeline row per node with the roles Raft went through, the faults that struck, commit latency.
 */
import { describe, expect, it } from 'vitest';
import { runRegisterWorkload } from '../../simulate/workload.js';
import type { TimedFault } from '../../simulate/workload.js';
import { RunTimeline } from '../../simulate/timeline.js';
import { renderReport } from '../../simulate/report.js';

const faults: TimedFault[] = [
  { atMs: 400, fault: { kind: 'partition', mask: 0b001 } },
  { atMs: 900, fault: { kind: 'heal' } },
  { atMs: 1_000, fault: { kind: 'crash', node: 1, forMs: 300 } },
  { atMs: 1_200, fault: { kind: 'clock', node: 2, offsetMs: 250, rate: 1.05 } },
  { atMs: 1_400, fault: { kind: 'bridge', mask: 0b001, bridge: 1 } },
  { atMs: 1_700, fault: { kind: 'ring', order: [2, 0, 1] } },
];

function report(problems?: string[]) {
  const timeline = new RunTimeline();
  const result = runRegisterWorkload({ seed: 9, ranks: [1, 1, 1], faults, safetyMs: 2_000, timeline });
  const html = renderReport({
    title: 'run', seed: 9, workload: 'register', nodes: ['n0', 'n1', 'n2'], problems: problems ?? result.problems,
    replay: 'npx chorus sim --seed 9 --nodes 3 --time 2000ms --workload register', timeline, history: result.history,
  });
  return { html, timeline, result };
}

describe('the HTML report', () => {
  it('is one self-contained page: inline SVG, no script, nothing fetched', () => {
    const { html } = report();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:/);
  });

  it('draws each node with the roles and terms it went through, its crash, and the faults', () => {
    const { html, timeline } = report();
    for (const node of ['n0', 'n1', 'n2']) expect(html).toContain(`>${node}</text>`);
    expect(timeline.roles.some((r) => r.role === 'leader')).toBe(true);
    expect(html).toMatch(/<title>n\d leader, term \d+/);
    expect(html).toMatch(/<title>n1 down 1\.00 s–1\.30 s<\/title>/);
    expect(html).toContain('partition n0 | n1 n2');
    expect(html).toContain('clock of n2: +250 ms, rate 1.0500');
    // Each partition shape is a band of its own, from its time until the next one (which heals first).
    expect(html).toContain('<title>400 ms–900 ms: partition n0 | n1 n2</title>');
    expect(html).toContain('<title>1.40 s–1.70 s: bridge n0 | n1 | n2 (n1 sees both sides)</title>');
    expect(html).toContain('<title>1.70 s–2.00 s: majorities ring n2 – n0 – n1 (each node sees its neighbours)</title>');
    expect(html).toContain('liveness phase');
  });

  it('shows a node detached and one left down through the liveness phase, and names the arbiter', () => {
    const timeline = new RunTimeline();
    const result = runRegisterWorkload({ seed: 10, ranks: [1, 1, 1, 1, 1], arbiters: [4], livenessDown: [3, 4], safetyMs: 2_000, timeline,
      faults: [{ atMs: 300, fault: { kind: 'detach', node: 1, forMs: 800 } }, { atMs: 500, fault: { kind: 'stall', node: 2, forMs: 200 } }] });
    const html = renderReport({
      title: 'run', seed: 10, workload: 'register', nodes: ['n0', 'n1', 'n2', 'n3', 'n4'], arbiters: ['n4'], problems: result.problems,
      replay: 'replay', timeline, history: result.history,
    });
    expect(result.problems).toEqual([]);
    expect(html).toMatch(/<title>n1 detached 3\d\d ms–1\.1\d s<\/title>/);
    // n3 may not stay down (n1, detached, may not be a member at the end: n0 n2 would be 2 of 4); the arbiter n4 may.
    expect(html).toMatch(/<title>n4 down 2\.00 s–5\.0\d s<\/title>/); // the end: liveness, the liveness probe (ms), the drain
    expect(html).not.toMatch(/<title>n3 down/);
    expect(html).toContain('stall n2 (every path to and from it clogged) for 200 ms');
    expect(html).toContain('>n4 (arb.)</text>');
  });

  it('is recorded without changing the run: the same history with a timeline as without', () => {
    const { result } = report();
    expect(runRegisterWorkload({ seed: 9, ranks: [1, 1, 1], faults, safetyMs: 2_000 }).history).toEqual(result.history);
  });

  it('charts commit latency and says whether the checks passed, with the replay command', () => {
    const ok = report();
    expect(ok.html).toMatch(/\d+ operations · median [\d.]+ ms · p99 [\d.]+ ms/);
    expect(ok.html).toContain('all checks passed');
    expect(ok.html).toContain('npx chorus sim --seed 9 --nodes 3 --time 2000ms --workload register');
    const failed = report(['not linearizable: <key a>']);
    expect(failed.html).toContain('FAILED (1 problem)');
    expect(failed.html).toContain('not linearizable: &lt;key a&gt;');
  });
});
