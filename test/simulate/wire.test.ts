/**
 * The simulated wire (simulate/wire.ts): on the seeds that draw it, messages between nodes cross the TCP
 * transport's msgpack codec and guards, and the receiver gets the decoded copy.
 */
import { describe, expect, it } from 'vitest';
import { SimWire } from '../../simulate/wire.js';
import { clusterFor } from '../../simulate/workload.js';
import type { WorkloadOptions } from '../../simulate/workload.js';
import type { Message } from '../../src/runtime/actor.js';

const watcher = (node: string) => ({ node, actor: 'watcher' });
const schema = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' as const }], primaryKey: ['k'] }] };

describe('the simulated wire', () => {
  it('hands the receiver a copy as a TCP peer reads it: equal, not the same object, undefined fields gone', () => {
    const wire = new SimWire();
    const status = { role: 'follower', leader: undefined, term: 3, commit: 7, applied: 7, lastIndex: 9 };
    const sent = { type: 'heartbeat', status } as Message;
    const got = wire.carry(watcher('n0'), watcher('n1'), sent) as Message & { status: Record<string, unknown> };
    expect(got).toEqual({ type: 'heartbeat', status: { role: 'follower', term: 3, commit: 7, applied: 7, lastIndex: 9 } });
    expect(got).not.toBe(sent);
    expect(got.status).not.toBe(status);
    expect('leader' in got.status).toBe(false); // msgpack has no undefined: the key is left out, as on TCP
    expect(wire.stats().frames).toBe(1);
  });

  it('fails the send, naming the message, when the TCP transport would not deliver it', () => {
    const wire = new SimWire();
    // Only namesake replicators and watchers talk across nodes; the peer-message guard refuses the rest.
    expect(() => wire.carry({ node: 'n0', actor: 'committer' }, { node: 'n1', actor: 'committer' }, { type: 'commit' })).toThrow(
      'simulated wire: "commit" from n0/committer to n1/committer is refused by the peer-message guard',
    );
    // A field guard: a heartbeat's term must be a count.
    expect(() => wire.carry(watcher('n0'), watcher('n1'), { type: 'heartbeat', status: { role: 'leader', term: -1, commit: 0, applied: 0, lastIndex: 0 } } as Message)).toThrow('status.term must be a non-negative integer');
    // msgpack cannot carry a bigint past 64 bits.
    expect(() => wire.carry(watcher('n0'), watcher('n1'), { type: 'heartbeat', stopAt: 2n ** 70n } as Message)).toThrow(/cannot be sent: not encodable as msgpack/);
  });

  it('is drawn by about a third of the seeds, and carries every message between nodes of a cluster that commits', () => {
    const drawn = Array.from({ length: 30 }, (_, i) => clusterFor({ seed: i + 1, ranks: [1, 1, 1], faults: [], safetyMs: 100 }, schema).sim.network.wire !== undefined);
    expect(drawn.filter(Boolean).length).toBeGreaterThanOrEqual(5);
    expect(drawn.filter(Boolean).length).toBeLessThanOrEqual(15);
    const options: WorkloadOptions = { seed: 1, ranks: [1, 1, 1], faults: [], safetyMs: 100, wire: true };
    const cluster = clusterFor(options, schema);
    expect(clusterFor({ ...options, wire: false }, schema).sim.network.wire).toBeUndefined();
    cluster.sim.runFor(300);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) cluster.transact('n1', (tx) => void tx.upsert('reg', { k: `k${i}` }), (o) => outcomes.push(o.kind));
    cluster.sim.runFor(300);
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    const { sent, lost, cut, overCapacity } = cluster.sim.network.stats();
    // Every packet the network carried, but those a full mailbox at the receiver dropped before they reached the wire.
    const carried = sent - lost - cut - overCapacity;
    expect(cluster.sim.network.wire!.stats().frames).toBeLessThanOrEqual(carried);
    expect(cluster.sim.network.wire!.stats().frames).toBeGreaterThan(0.95 * carried);
    expect(cluster.stores.get('n2')!.read((tx) => tx.scan('reg').length)).toBe(5);
  });
});
