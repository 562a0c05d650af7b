/**
 * What every workload run guarantees beyond its checkers (simulate/workload.ts): an actor that throws —
 * a programmer error the simulator turns into a crash of its node — fails the run instead of passing
 * for one more crash fault; and two nodes committing different entries at one log index fail it too.
 * Lost writes are judged over every live data node, so that one node behind is not taken for a loss.
 */
import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../simulate/history.js';
import { clusterFor, lostWritesProblems, resultOf, runRegisterWorkload } from '../../simulate/workload.js';
import { checkLostWrites } from '../../simulate/checkers/lost-writes.js';
import type { WorkloadOptions } from '../../simulate/workload.js';

const schema = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' as const }], primaryKey: ['k'] }] };

describe('a workload run', () => {
  it('fails when an actor throws, naming the actor and the error', () => {
    const options: WorkloadOptions = { seed: 5, ranks: [1, 1, 1], faults: [], safetyMs: 100 };
    const cluster = clusterFor(options, schema);
    cluster.sim.runFor(50);
    expect(resultOf(options, cluster, new HistoryRecorder(), [], 0).problems).toEqual([]);
    cluster.sim.send({ node: 'n1', actor: 'replicator' }, { type: 'noSuchMessage' });
    cluster.sim.runFor(50);
    const { problems } = resultOf(options, cluster, new HistoryRecorder(), ['a checker problem'], 0);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^actor n1\/replicator failed at [\d.]+ ms: AssertionError: unexpected replicator message/);
    expect(problems[1]).toBe('a checker problem');
  });

  it('watches every entry each node commits, and fails when two nodes commit different ones at an index', () => {
    const options: WorkloadOptions = { seed: 6, ranks: [1, 1, 1], faults: [], safetyMs: 100 };
    const cluster = clusterFor(options, schema);
    cluster.sim.runFor(300);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) cluster.transact('n0', (tx) => void tx.upsert('reg', { k: `k${i}` }), (o) => outcomes.push(o.kind));
    cluster.sim.runFor(300);
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    // Each node committed the leader's first entry and the five commands, and all agree.
    expect(cluster.commits.observed).toBeGreaterThanOrEqual(3 * 6);
    expect(resultOf(options, cluster, new HistoryRecorder(), [], 0).problems).toEqual([]);
    // A replicator that handed on another entry at index 2 (as a Raft bug could) fails the run.
    cluster.sim.send({ node: 'n2', actor: 'committer' }, { type: 'committed', entries: [{ index: 2, term: 99, data: { kind: 'noop' } }] });
    cluster.sim.runFor(10);
    const { problems } = resultOf(options, cluster, new HistoryRecorder(), [], 0);
    expect(problems).toHaveLength(2);
    expect(problems).toContainEqual(expect.stringMatching(/^nodes committed different entries at the same log index: n2 committed an entry of term 99 \(noop\) at index 2, where n\d had committed an entry of term \d+$/));
    // The node's apply step refuses it too (index 2 again, its tables further on), and the node fails.
    expect(problems).toContainEqual(expect.stringMatching(/^actor n2\/committer failed .*handed committed entries from log index 2 with its tables at \d+: entries handed on twice/));
  });

  it('crashes nodes inside a journal sync: records they were writing are lost or torn, and every checker still holds', () => {
    let tears = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const faults = Array.from({ length: 8 }, (_, i) => ({ atMs: 150 * (i + 1), fault: { kind: 'crash' as const, node: i, forMs: 60, midWrite: true } }));
      const result = runRegisterWorkload({ seed, ranks: [1, 1, 1], faults, safetyMs: 1_300 });
      expect(result.problems).toEqual([]);
      tears += result.journalTears;
    }
    expect(tears).toBeGreaterThan(0);
  });

  it('calls acknowledged appends lost only when no live data node holds them; a node without them is behind', () => {
    const history = new HistoryRecorder();
    for (const element of [1, 2]) history.ok(history.invoke({ process: 0, f: 'append', key: 'a', value: element, time: element }), element + 0.5);
    const verdict = (items: number[]) => checkLostWrites(history.events, new Map([['a', items]]));
    const behind = lostWritesProblems([{ node: 'n0', verdict: verdict([1]) }, { node: 'n2', verdict: verdict([1, 2]) }], 'appends');
    expect(behind).toHaveLength(1);
    expect(behind[0]).toMatch(/^n0 is behind: 1 acknowledged appends that n2 holds are missing there/);
    const lost = lostWritesProblems([{ node: 'n0', verdict: verdict([1]) }, { node: 'n2', verdict: verdict([2]) }], 'appends');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^acknowledged appends lost \(missing on every live data node; as n0 sees it\)/);
    expect(lostWritesProblems([{ node: 'n0', verdict: verdict([1, 2]) }], 'appends')).toEqual([]);
  });
});
