/**
 * What every workload run guarantees beyond its checkers (simulate/workload.ts): an actor that throws —
 * a programmer error the simulator turns into a crash of its node — fails the run instead of passing
 * for one more crash fault.
 */
import { describe, expect, it } from 'vitest';
import { HistoryRecorder } from '../../simulate/history.js';
import { clusterFor, resultOf } from '../../simulate/workload.js';
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
});
