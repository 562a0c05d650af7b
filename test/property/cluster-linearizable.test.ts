/**
 * The whole node (replicator, window flusher, committer, and the store certifying in log order) under
 * the simulator, with clients running a register workload (read, write, compare-and-set on a few keys)
 * while the network partitions, loses, duplicates, reorders and clogs, and nodes pause. Every operation
 * is recorded as Jepsen does (invoke, then ok / fail / info) and checked afterwards: the history is
 * linearizable, no acknowledged write is lost, and after healing every node holds the same data.
 *
 * Reads go through the log too (a read-only transaction whose read set is certified at its log
 * position), which is what makes them linearizable; a local read may be stale by design.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SchemaDef } from '../../src/store/schema.js';
import { SimCluster } from '../../simulate/cluster.js';
import type { Outcome } from '../../simulate/cluster.js';
import { HistoryRecorder } from '../../simulate/history.js';
import { checkLinearizable } from '../../simulate/checkers/linearizable.js';
import { checkLostWrites } from '../../simulate/checkers/lost-writes.js';

const schema: SchemaDef = { tables: [{ name: 'reg', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const keys = ['a', 'b', 'c'];
const processes = 6;
const safetyMs = 3_000;

type Fault =
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'rates'; readonly loss: number; readonly duplicate: number; readonly reorder: number }
  | { readonly kind: 'pause'; readonly node: number; readonly forMs: number };

const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }),
  fc.record({ kind: fc.constant('heal' as const) }),
  fc.record({ kind: fc.constant('rates' as const), loss: fc.double({ min: 0, max: 0.2, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }), reorder: fc.double({ min: 0, max: 0.3, noNaN: true }) }),
  fc.record({ kind: fc.constant('pause' as const), node: fc.nat(4), forMs: fc.integer({ min: 50, max: 600 }) }),
);

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  ranks: fc.oneof(fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 5, maxLength: 5 })),
  faults: fc.array(fc.record({ atMs: fc.integer({ min: 0, max: safetyMs }), fault }), { maxLength: 8 }),
});

function run(s: { seed: number; ranks: readonly number[]; faults: readonly { atMs: number; fault: Fault }[] }) {
  const cluster = new SimCluster({ seed: s.seed, nodes: s.ranks.map((qrank, i) => ({ addr: `n${i}`, qrank })), schema, writeTimeoutMs: 500 });
  const { sim } = cluster;
  const names = cluster.nodes;
  const at = (i: number) => names[i % names.length]!;
  for (const { atMs, fault: f } of s.faults) {
    sim.at(atMs, () => {
      if (f.kind === 'partition') {
        sim.network.heal();
        sim.network.partition([names.filter((_, i) => f.mask & (1 << i)), names.filter((_, i) => !(f.mask & (1 << i)))]);
      } else if (f.kind === 'heal') {
        sim.network.heal();
      } else if (f.kind === 'rates') {
        sim.network.setFaults({ lossRate: f.loss, duplicateRate: f.duplicate, reorderRate: f.reorder });
      } else {
        sim.pause(at(f.node));
        sim.at(f.forMs, () => sim.resume(at(f.node)));
      }
    });
  }

  const history = new HistoryRecorder();
  let nextValue = 1;
  let stopIssuing = false;
  const step = (process: number) => {
    if (stopIssuing) return;
    const node = at(process);
    const key = keys[sim.rng.int(keys.length)]!;
    const roll = sim.rng.next();
    const time = sim.nowMs;
    const finish = (handle: ReturnType<HistoryRecorder['invoke']>, outcome: Outcome, readValue?: () => number | null) => {
      if (outcome.kind === 'ok') history.ok(handle, sim.nowMs, readValue ? readValue() : undefined);
      else if (outcome.kind === 'fail') history.fail(handle, sim.nowMs);
      else history.info(handle, sim.nowMs);
      sim.at(sim.rng.between(0, 20), () => step(process));
    };
    if (roll < 0.4) {
      const handle = history.invoke({ process, f: 'read', key, value: null, time });
      cluster.transact(node, (tx) => (tx.get('reg', key)?.['v'] as number | undefined) ?? null, (outcome) =>
        finish(handle, outcome, () => (outcome.kind === 'ok' ? (outcome.value as number | null) : null)));
    } else if (roll < 0.8) {
      const value = nextValue++;
      const handle = history.invoke({ process, f: 'write', key, value, time });
      cluster.transact(node, (tx) => void tx.upsert('reg', { k: key, v: value }), (outcome) => finish(handle, outcome));
    } else {
      const expected = sim.rng.chance(0.5) ? null : sim.rng.int(nextValue) + 1;
      const value = nextValue++;
      const handle = history.invoke({ process, f: 'cas', key, value: [expected, value], time });
      cluster.transact(node, (tx) => {
        const current = (tx.get('reg', key)?.['v'] as number | undefined) ?? null;
        if (current !== expected) throw Object.assign(new Error('compare failed'), { code: 'CAS_MISMATCH' });
        tx.upsert('reg', { k: key, v: value });
      }, (outcome) => finish(handle, outcome));
    }
  };
  for (let p = 0; p < processes; p++) sim.at(p, () => step(p));

  sim.runFor(safetyMs); // safety phase: faults on
  sim.network.heal(); // liveness phase: faults off, paused nodes back
  sim.network.setFaults({ lossRate: 0, duplicateRate: 0, reorderRate: 0 });
  for (const node of names) sim.resume(node);
  sim.runFor(1_500);
  stopIssuing = true;
  sim.runFor(1_500); // every open operation times out or completes
  return { cluster, history };
}

describe('cluster register workload on the simulator', () => {
  it('is linearizable, loses no acknowledged write, and converges after healing', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { cluster, history } = run(s);
        const events = history.events;
        expect(history.openOperations).toBe(0);
        const oks = events.filter((e) => e.type === 'ok').length;
        expect(oks).toBeGreaterThan(20); // not vacuous: the cluster did work
        const verdict = checkLinearizable(events, { initialValue: null });
        expect(verdict.ok === true ? 'linearizable' : JSON.stringify(verdict).slice(0, 2000)).toBe('linearizable');
        const hashes = new Set([...cluster.stores.values()].map((store) => store.contentHash()));
        expect(hashes.size).toBe(1);
        const store = cluster.stores.get('n0')!;
        const finalState = new Map(keys.map((k) => [k, (store.read((tx) => tx.get('reg', k))?.['v'] as number | undefined) ?? null] as const));
        const lost = checkLostWrites(events, finalState, { initialValue: null });
        expect(lost.ok === true ? 'none lost' : JSON.stringify(lost).slice(0, 2000)).toBe('none lost');
      }),
      { numRuns: 25 },
    );
  });
});
