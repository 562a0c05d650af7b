/**
 * A simulated node's writes go through the node's own write bookkeeping and quorum gate
 * (src/node/write-core.ts, src/node/quorum-gate.ts, run per node by simulate/node-app.ts), on virtual
 * time: what a client of the simulated cluster hears is what ClusterNode's rules make of it.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { Outcome } from '../../simulate/cluster.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const nodes = [{ addr: 'n0' }, { addr: 'n1' }, { addr: 'n2' }];
const put = (k: string, v: number) => (tx: { upsert(t: string, r: Record<string, unknown>): unknown }) => void tx.upsert('reg', { k, v });
const value = (c: SimCluster, node: string, k: string) => c.stores.get(node)!.read((tx) => tx.get('reg', k)?.['v']);

describe('writes in the simulated cluster', () => {
  it('a write forwarded to a leader cut off right then goes again through the next leader, and is acknowledged once', () => {
    const c = new SimCluster({ seed: 1, schema, nodes });
    c.sim.runFor(1_000);
    const leader = c.leader()!;
    const [writer, other] = c.nodes.filter((n) => n !== leader) as [string, string];
    expect(c.raftStates.get(writer)?.leader).toBe(leader);
    c.sim.network.partition([[leader], [writer, other]]); // the first copy, forwarded to the leader, is dropped
    const outcomes: Outcome[] = [];
    c.transact(writer, put('a', 7), (o) => outcomes.push(o));
    c.sim.runFor(2_000);
    expect(c.leader()).not.toBe(leader);
    // Without the resend the write would end `info` (no answer within writeTimeoutMs: lost with the leader).
    expect(outcomes).toEqual([{ kind: 'ok', value: undefined }]);
    expect([value(c, writer, 'a'), value(c, other, 'a')]).toEqual([7, 7]);
  });

  it('a write made before the first leader waits for it at the gate instead of failing', () => {
    const c = new SimCluster({ seed: 2, schema, nodes });
    c.sim.runUntil(() => c.isReady('n0'), 1_000);
    expect(c.raftStates.get('n0')?.leader).toBeUndefined(); // recovered (an empty journal), no leader yet
    const outcomes: Outcome[] = [];
    c.transact('n0', put('a', 1), (o) => outcomes.push(o));
    c.sim.runFor(1_000);
    expect(outcomes).toEqual([{ kind: 'ok', value: undefined }]);
  });

  it('a node that crashes with a write sent leaves its outcome unknown (info); one still waiting at its gate failed (nothing was sent)', () => {
    const c = new SimCluster({ seed: 3, schema, nodes });
    c.sim.runUntil(() => c.isReady('n0'), 1_000);
    expect(c.raftStates.get('n0')?.leader).toBeUndefined();
    const waiting: Outcome[] = [];
    c.transact('n0', put('b', 1), (o) => waiting.push(o)); // at the gate: no leader yet
    c.crash('n0');
    expect(waiting).toEqual([]); // it settles when it leaves the gate
    c.sim.runFor(1_000);
    expect(waiting).toEqual([{ kind: 'fail', code: 'STOPPED' }]);
    c.restart('n0');
    c.sim.runFor(1_000);
    const writer = c.nodes.find((n) => n !== c.leader() && c.isReady(n))!;
    const sent: Outcome[] = [];
    c.transact(writer, put('a', 1), (o) => sent.push(o));
    c.crash(writer);
    expect(sent).toEqual([{ kind: 'info' }]);
  });

  it('writes lost on the way to the leader time out and give their clusterSendBuf back: the node writes again once healed', () => {
    const c = new SimCluster({ seed: 1, schema, nodes, clusterSendBuf: 600, writeTimeoutMs: 300 });
    c.sim.runFor(1_000);
    const leader = c.leader()!;
    const writer = c.nodes.find((n) => n !== leader)!;
    // The writer still hears its leader (so no election, and no resend through a new one), but what it
    // forwards is lost: each write times out (info), holding its bytes at the committer meanwhile.
    c.sim.network.cutOneWay(writer, leader);
    const lost: Outcome[] = [];
    for (let i = 0; i < 20; i++) c.transact(writer, put(`lost${i}`, i), (o) => lost.push(o));
    c.sim.runFor(1_000);
    expect(new Set(lost.map((o) => (o.kind === 'fail' ? o.code : o.kind)))).toEqual(new Set(['info', 'OVERLOADED']));
    c.sim.network.heal();
    c.sim.runFor(500);
    expect(c.leader()).toBe(leader);
    const after: Outcome[] = [];
    c.transact(writer, put('after', 1), (o) => after.push(o));
    c.sim.runFor(500);
    // Without letting go of the timed-out writes, the idle node refused this one OVERLOADED for good.
    expect(after).toEqual([{ kind: 'ok', value: undefined }]);
  });
});
