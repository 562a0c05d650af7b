/**
 * Arbiters, detach / attach, linearizable reads and a minority left down, as the simulated cluster
 * (simulate/cluster.ts) and the workload phases (simulate/workload.ts) drive them: what a user of
 * ClusterNode would see, on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { Outcome } from '../../simulate/cluster.js';
import { runRegisterWorkload } from '../../simulate/workload.js';
import { drawShape, nodesLeftDown } from '../../simulate/shape.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };

function cluster(seed: number, arbiter: boolean): { c: SimCluster; outcomes: Record<string, Outcome> } {
  const c = new SimCluster({ seed, schema, nodes: [{ addr: 'n0' }, { addr: 'n1' }, { addr: 'n2', ...(arbiter ? { arbiter: true } : {}) }] });
  c.sim.runFor(500);
  return { c, outcomes: {} };
}
const value = (c: SimCluster, node: string, k: string) => c.stores.get(node)!.read((tx) => tx.get('reg', k)?.['v']);
const put = (k: string, v: number) => (tx: { upsert(t: string, r: Record<string, unknown>): unknown }) => void tx.upsert('reg', { k, v });

describe('a simulated cluster with an arbiter', () => {
  it('refuses reads and writes on the arbiter with ARBITER, and keeps committing with either data node down', () => {
    const { c, outcomes } = cluster(3, true);
    expect(c.dataNodes).toEqual(['n0', 'n1']);
    expect(c.stores.has('n2')).toBe(false);
    c.transact('n2', put('a', 1), (o) => (outcomes['write'] = o));
    c.readLinearizable('n2', () => 1, (o) => (outcomes['read'] = o));
    expect(outcomes).toEqual({ write: { kind: 'fail', code: 'ARBITER' }, read: { kind: 'fail', code: 'ARBITER' } });
    for (const [down, up] of [['n0', 'n1'], ['n1', 'n0']] as const) {
      c.crash(down);
      c.sim.runFor(1_000);
      c.transact(up, put('a', down === 'n0' ? 1 : 2), (o) => (outcomes[down] = o));
      c.sim.runFor(500);
      expect(outcomes[down]).toEqual({ kind: 'ok', value: undefined });
      c.restart(down);
      c.sim.runFor(1_000);
    }
    expect(value(c, 'n0', 'a')).toBe(2);
    expect(value(c, 'n1', 'a')).toBe(2);
  });
});

describe('an arbiter leading with the up-to-date data node down', () => {
  it('catches the lagging data node up from its log: it compacted nothing that node lacked', () => {
    // The sweep's seed 41013 (list-append, 3 nodes, n1 left down) stalled here until n1 came back.
    const c = new SimCluster({ seed: 9, schema, transLogLength: 32, nodes: [{ addr: 'n0' }, { addr: 'n1' }, { addr: 'n2', arbiter: true }] });
    c.sim.runFor(500);
    c.sim.network.partition([['n1'], ['n0', 'n2']]);
    c.sim.runFor(1_000); // a leader on the majority's side, if n1 led
    const outcomes: string[] = [];
    const write = (i: number): void => c.transact('n0', put('a', i), (o) => {
      outcomes.push(o.kind);
      if (i < 200) write(i + 1);
    });
    write(1);
    c.sim.runFor(3_000);
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]); // n0 and the arbiter: 6 times transLogLength
    c.crash('n0');
    c.sim.network.heal();
    c.sim.runFor(3_000);
    expect(value(c, 'n1', 'a')).toBe(200);
    const after: Record<string, Outcome> = {};
    c.transact('n1', put('a', 201), (o) => (after['write'] = o));
    c.sim.runFor(1_000);
    expect(after['write']).toEqual({ kind: 'ok', value: undefined });
  });
});

describe('detach and attach in the simulator', () => {
  it('a detached node is standalone; attach discards what it wrote and catches it up', () => {
    const { c, outcomes } = cluster(4, false);
    c.transact('n0', put('a', 1), (o) => (outcomes['before'] = o));
    c.sim.runFor(300);
    c.detach('n2');
    expect(c.membership('n2')).toBe('detaching');
    c.sim.runFor(300);
    expect(c.membership('n2')).toBe('detached');
    c.transact('n2', put('a', -1), (o) => (outcomes['standalone'] = o)); // applies at once, on n2 only
    expect(outcomes['standalone']).toEqual({ kind: 'ok', value: undefined });
    c.transact('n0', put('b', 2), (o) => (outcomes['cluster'] = o)); // n0 and n1 are 2 of the 2 members left
    c.sim.runFor(300);
    expect(outcomes['cluster']).toEqual({ kind: 'ok', value: undefined });
    expect([value(c, 'n2', 'a'), value(c, 'n2', 'b'), value(c, 'n0', 'a')]).toEqual([-1, undefined, 1]);
    c.attach('n2');
    c.sim.runFor(500);
    expect(c.membership('n2')).toBe('attached');
    expect([value(c, 'n2', 'a'), value(c, 'n2', 'b')]).toEqual([1, 2]);
    expect(new Set(c.dataNodes.map((n) => c.stores.get(n)!.contentHash())).size).toBe(1);
    expect(c.membershipChanges.filter((m) => m.node === 'n2').map((m) => m.state)).toEqual(['attached', 'detached', 'attached']);
  });

  it('a detach that no leader confirms is called off: the node stays a member', () => {
    const { c } = cluster(5, false);
    c.sim.network.partition([['n2'], ['n0', 'n1']]);
    c.sim.runFor(50);
    c.detach('n2');
    c.sim.runFor(1_000);
    c.sim.network.heal();
    c.sim.runFor(1_000);
    expect(c.membership('n2')).toBe('attached');
    expect(c.membershipChanges.filter((m) => m.node === 'n2' && m.state === 'detached')).toEqual([]);
  });

  it('a detach called off while its request is still on the way stays called off: the node keeps taking the cluster’s writes', () => {
    // Found behind the list-append swarm's seed 5 (3 nodes, 3 s, on c16cb42): the detach timed out and was
    // called off; the node, a member in its own log and having heard from its leader, reported itself back
    // at once; the request it had sent reached the leader just after, which took it out. Nothing asked it
    // back in: the tables of a node 'attached' as far as the application knew stopped at that point.
    const { c, outcomes } = cluster(7, false);
    const leader = c.leader()!;
    const node = c.nodes.find((n) => n !== leader)!;
    c.sim.network.clog(node, leader, c.sim.nowMs + 700); // the requests arrive after the call-off (500 ms)
    c.detach(node);
    c.sim.runFor(2_000);
    expect(c.membership(node)).toBe('attached');
    const writer = c.nodes.find((n) => n !== node)!;
    c.transact(writer, put('a', 1), (o) => (outcomes['write'] = o));
    c.sim.runFor(1_000);
    expect(outcomes['write']).toEqual({ kind: 'ok', value: undefined });
    expect(value(c, node, 'a')).toBe(1);
  });

  it('… and when the node never hears that it was taken out (cut off from the leader meanwhile), it still gets back in', () => {
    // The leader sends nothing to a node outside its membership, and the node's log still names it a
    // member: only asking tells it (a member without a leader for an election timeout asks).
    const { c, outcomes } = cluster(8, false);
    const leader = c.leader()!;
    const node = c.nodes.find((n) => n !== leader)!;
    c.sim.network.clog(node, leader, c.sim.nowMs + 700);
    c.detach(node);
    c.sim.runFor(600); // called off at 500 ms, reported back at once
    expect(c.membership(node)).toBe('attached');
    c.sim.network.cutOneWay(leader, node); // the requests land at 700 ms; the node hears nothing of the change
    c.sim.runFor(400);
    c.sim.network.heal();
    c.sim.runFor(2_000);
    const writer = c.nodes.find((n) => n !== node)!;
    c.transact(writer, put('a', 1), (o) => (outcomes['write'] = o));
    c.sim.runFor(1_000);
    expect(outcomes['write']).toEqual({ kind: 'ok', value: undefined });
    expect(value(c, node, 'a')).toBe(1);
  });

  it('… and when the leader that took it out dies right after, the node asks the others, not that leader, and gets back in', () => {
    // Out of the membership a node gets no appends and does not campaign, so it keeps naming the old
    // leader: asking only it would ask a dead node forever. The crash time is swept because only a
    // narrow window (720 ms on this seed) puts the crash after the leader told it and before it asked.
    const stuck: string[] = [];
    for (let crashAt = 700; crashAt <= 1100; crashAt += 10) {
      const c = new SimCluster({ seed: 7, schema, nodes: ['n0', 'n1', 'n2', 'n3', 'n4'].map((addr) => ({ addr })) });
      c.sim.runFor(500);
      const leader = c.leader()!;
      const node = c.nodes.find((n) => n !== leader)!;
      c.sim.network.clog(node, leader, c.sim.nowMs + 700);
      c.detach(node);
      c.sim.runFor(crashAt);
      c.keepDown(leader);
      c.sim.runFor(6_000);
      const outcomes: Record<string, Outcome> = {};
      const writer = c.nodes.find((n) => n !== node && n !== leader)!;
      c.transact(writer, put('a', 1), (o) => (outcomes['other'] = o));
      c.transact(node, put('b', 1), (o) => (outcomes['own'] = o));
      c.sim.runFor(3_000);
      if (value(c, node, 'a') !== 1 || outcomes['own']?.kind !== 'ok') stuck.push(`crash at ${crashAt} ms: ${c.membership(node)}, a=${String(value(c, node, 'a'))}, its own write ${JSON.stringify(outcomes['own'])}`);
    }
    expect(stuck).toEqual([]);
  });
});

describe('linearizable reads in the simulator', () => {
  it('see every write acknowledged before them, and never answer from a side without a quorum', () => {
    const { c, outcomes } = cluster(6, false);
    c.transact('n0', put('a', 7), (o) => (outcomes['write'] = o));
    c.sim.runFor(200);
    expect(outcomes['write']?.kind).toBe('ok');
    c.readLinearizable('n2', (tx) => tx.get('reg', 'a')?.['v'], (o) => (outcomes['read'] = o));
    c.sim.runFor(200);
    expect(outcomes['read']).toEqual({ kind: 'ok', value: 7 });
    c.sim.network.partition([['n2'], ['n0', 'n1']]);
    c.sim.runFor(20);
    c.transact('n0', put('a', 8), () => undefined);
    c.readLinearizable('n2', (tx) => tx.get('reg', 'a')?.['v'], (o) => (outcomes['cutOff'] = o));
    c.sim.runFor(1_000);
    expect(outcomes['cutOff']?.kind).not.toBe('ok');
  });
});

describe('the liveness phase with a minority left down', () => {
  it('leaves down only what keeps the data nodes up a quorum of every membership the run may end in', () => {
    expect(nodesLeftDown([1, 1, 1, 1, 1], [], [0, 1, 2], [])).toEqual([0, 1]);
    expect(nodesLeftDown([1, 2, 1, 1, 1], [], [1, 0], [])).toEqual([1]); // qrank 2 down: the other 4 of 6 hold
    // n3 may be detached at the end: {n2, n3, n4} up would be 2 of the 4 members without it.
    expect(nodesLeftDown([1, 1, 1, 1, 1], [], [0, 1], [{ atMs: 0, fault: { kind: 'detach', node: 3, forMs: 10 } }])).toEqual([0]);
    // With an arbiter, the data nodes left up must be a quorum by themselves (an arbiter sends no images).
    expect(nodesLeftDown([1, 1, 1], [2], [0, 2], [])).toEqual([2]);
    expect(nodesLeftDown([1, 1, 1, 1, 1], [4], [0, 1, 4], [])).toEqual([0, 4]);
    const shapes = Array.from({ length: 200 }, (_, seed) => drawShape(seed, 5));
    expect(shapes.some((s) => s.arbiters.length === 1) && shapes.some((s) => s.arbiters.length === 0)).toBe(true);
    expect(shapes.some((s) => s.livenessDown.length === 2) && shapes.some((s) => s.livenessDown.length === 0)).toBe(true);
  });

  it('converges with two of five nodes down, one of them an arbiter, and every checker holds', () => {
    const result = runRegisterWorkload({ seed: 11, ranks: [1, 1, 1, 1, 1], arbiters: [4], livenessDown: [4, 0], safetyMs: 1_500,
      faults: [{ atMs: 300, fault: { kind: 'crash', node: 1, forMs: 400 } }, { atMs: 700, fault: { kind: 'partition', mask: 0b00011 } }] });
    expect(result.problems).toEqual([]);
    expect(result.okOps).toBeGreaterThan(100);
  });

  it('converges with a node detached until the liveness phase and one node left down', () => {
    const result = runRegisterWorkload({ seed: 12, ranks: [1, 1, 1, 1, 1], livenessDown: [4], safetyMs: 1_500,
      faults: [{ atMs: 300, fault: { kind: 'detach', node: 2, forMs: 5_000 } }, { atMs: 500, fault: { kind: 'crash', node: 0, forMs: 300 } }] });
    expect(result.problems).toEqual([]);
  });
});
