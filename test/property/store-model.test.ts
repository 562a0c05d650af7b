/**
 * Model-based: random sequences of transactions, stale change-sets (after key reads, primary-key and
 * secondary-index scans), scans, checkpoints, snapshot round
 * trips and crashes (simulated disk, sync policy always) agree with a deliberately simple model — a
 * plain Map of rows checked by brute force.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { Rng } from '../../simulate/rng.js';
import { SimDisk } from '../../simulate/sim-disk.js';
import { DurableStore } from '../../src/store/durable.js';
import type { ChorusError } from '../../src/runtime/errors.js';
import type { ChangeSet } from '../../src/store/changeset.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import type { WriteTx } from '../../src/store/write-tx.js';

const schema: SchemaDef = {
  tables: [{
    name: 'kv',
    fields: [{ name: 'id', type: 'int32' }, { name: 'email', type: 'string' }, { name: 'n', type: 'int32', default: 0 }],
    primaryKey: ['id'],
    indexes: [{ name: 'byEmail', fields: ['email'], unique: true }],
  }],
};

interface Row { id: number; email: string; n: number }
type Op =
  | { kind: 'insert' | 'upsert'; id: number; email: string; n: number }
  | { kind: 'update'; id: number; n: number }
  | { kind: 'delete'; id: number };
type Step =
  | { kind: 'tx'; ops: Op[] }
  | { kind: 'stale'; read: number; write: number; between: number }
  | { kind: 'staleIndex'; lo: string; hi: string; write: number; between: number; email: string }
  | { kind: 'scan'; lower: number; upper: number; reverse: boolean; limit: number }
  | { kind: 'checkpoint' | 'crash' | 'roundtrip' };

const id = fc.integer({ min: 0, max: 12 });
const email = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('insert' as const, 'upsert' as const), id, email, n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('update' as const), id, n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), id }),
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('tx' as const), ops: fc.array(op, { minLength: 1, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('stale' as const), read: id, write: id, between: id }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('staleIndex' as const), lo: email, hi: email, write: id, between: id, email }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('scan' as const), lower: id, upper: id, reverse: fc.boolean(), limit: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('checkpoint' as const, 'crash' as const, 'roundtrip' as const) }) },
);

/** The model: apply ops to a copy; return the new map, or the error code the store must give. */
function model(rows: ReadonlyMap<number, Row>, ops: readonly Op[]): Map<number, Row> | string {
  const next = new Map(rows);
  for (const o of ops) {
    const current = next.get(o.id);
    let row: Row | undefined;
    if (o.kind === 'delete') {
      next.delete(o.id);
      continue;
    }
    if (o.kind === 'update') {
      if (current === undefined) return 'NOT_FOUND';
      row = { ...current, n: o.n };
    } else {
      if (o.kind === 'insert' && current !== undefined) return 'UNIQUE';
      row = { id: o.id, email: o.email, n: o.n };
    }
    for (const other of next.values()) if (other.id !== o.id && other.email === row.email) return 'UNIQUE';
    next.set(o.id, row);
  }
  return next;
}

function run(tx: WriteTx, ops: readonly Op[]): void {
  for (const o of ops) {
    if (o.kind === 'insert') tx.insert('kv', { id: o.id, email: o.email, n: o.n });
    else if (o.kind === 'upsert') tx.upsert('kv', { id: o.id, email: o.email, n: o.n });
    else if (o.kind === 'update') tx.update('kv', { id: o.id, n: o.n });
    else tx.delete('kv', o.id);
  }
}

const contents = (store: Store): Row[] => store.read((tx) => tx.scan('kv') as unknown as Row[]).map((r) => ({ ...r }));
const sorted = (rows: ReadonlyMap<number, Row>): Row[] => [...rows.values()].sort((a, b) => a.id - b.id);

test('the store agrees with the model through transactions, conflicts, scans, checkpoints and crashes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 30 }), async (steps, seed) => {
      const rng = new Rng(seed);
      const disk = new SimDisk({ random: () => rng.next() });
      let durable = await DurableStore.open({ disk, schema, checkpointBytes: 0 });
      let rows = new Map<number, Row>();
      for (const s of steps) {
        if (s.kind === 'tx') {
          const expected = model(rows, s.ops);
          const outcome = await durable.commit((tx) => run(tx, s.ops)).then(() => 'ok', (e: ChorusError) => e.code);
          expect(outcome).toBe(typeof expected === 'string' ? expected : 'ok');
          if (typeof expected !== 'string') rows = expected;
        } else if (s.kind === 'stale') {
          // A transaction reads `read` and writes `write`; another writes `between` first.
          const stale = durable.store.write((tx) => {
            tx.get('kv', s.read);
            tx.upsert('kv', { id: s.write, email: `s${s.write}`, n: 1 });
          });
          const mid = model(rows, [{ kind: 'upsert', id: s.between, email: `m${s.between}`, n: 2 }]);
          const midOutcome = await durable.commit((tx) => void tx.upsert('kv', { id: s.between, email: `m${s.between}`, n: 2 })).then(() => 'ok', (e: ChorusError) => e.code);
          expect(midOutcome).toBe(typeof mid === 'string' ? mid : 'ok');
          if (typeof mid !== 'string') rows = mid;
          const conflicts = typeof mid !== 'string' && (s.between === s.read || s.between === s.write);
          const after = conflicts ? 'CONFLICT' : model(rows, [{ kind: 'upsert', id: s.write, email: `s${s.write}`, n: 1 }]);
          const outcome = await durable.apply(stale).then(() => 'ok', (e: ChorusError) => e.code);
          expect(outcome).toBe(typeof after === 'string' ? after : 'ok');
          if (typeof after !== 'string') rows = after;
        } else if (s.kind === 'staleIndex') {
          // A transaction scans byEmail over [lo, hi] and writes `write`; another upserts `between` with `email` first.
          const [lo, hi] = s.lo <= s.hi ? [s.lo, s.hi] : [s.hi, s.lo];
          const inRange = (e: string | undefined): boolean => e !== undefined && e >= lo && (e <= hi || e.startsWith(hi));
          const stale = durable.store.write((tx) => {
            tx.scan('kv', { index: 'byEmail', lower: lo, upper: hi });
            tx.upsert('kv', { id: s.write, email: `s${s.write}`, n: 1 });
          });
          const wasInRange = inRange(rows.get(s.between)?.email);
          const mid = model(rows, [{ kind: 'upsert', id: s.between, email: s.email, n: 2 }]);
          const midOutcome = await durable.commit((tx) => void tx.upsert('kv', { id: s.between, email: s.email, n: 2 })).then(() => 'ok', (e: ChorusError) => e.code);
          expect(midOutcome).toBe(typeof mid === 'string' ? mid : 'ok');
          if (typeof mid !== 'string') rows = mid;
          // Read rows that changed, a row now inside the scanned range, or the written key: a conflict.
          const conflicts = typeof mid !== 'string' && (s.between === s.write || wasInRange || inRange(s.email));
          const after = conflicts ? 'CONFLICT' : model(rows, [{ kind: 'upsert', id: s.write, email: `s${s.write}`, n: 1 }]);
          const outcome = await durable.apply(stale).then(() => 'ok', (e: ChorusError) => e.code);
          expect(outcome).toBe(typeof after === 'string' ? after : 'ok');
          if (typeof after !== 'string') rows = after;
        } else if (s.kind === 'scan') {
          const [lo, hi] = s.lower <= s.upper ? [s.lower, s.upper] : [s.upper, s.lower];
          let expected = sorted(rows).filter((r) => r.id >= lo && r.id <= hi);
          if (s.reverse) expected = expected.reverse();
          const got = durable.store.read((tx) => tx.scan('kv', { lower: lo, upper: hi, reverse: s.reverse, limit: s.limit }).map((r) => r['id']));
          expect(got).toEqual(expected.slice(0, s.limit).map((r) => r.id));
          const byEmail = durable.store.read((tx) => tx.scan('kv', { index: 'byEmail' }).map((r) => r['email']));
          expect(byEmail).toEqual(sorted(rows).map((r) => r.email).sort());
        } else if (s.kind === 'checkpoint') {
          await durable.checkpoint();
        } else if (s.kind === 'roundtrip') {
          const copy = Store.open(schema);
          await copy.restore(durable.store.snapshot());
          expect(copy.contentHash()).toBe(durable.store.contentHash());
        } else {
          const hash = durable.store.contentHash();
          disk.crash();
          durable = await DurableStore.open({ disk, schema, checkpointBytes: 0 });
          expect(durable.store.contentHash()).toBe(hash); // sync always: everything acknowledged is back
        }
        expect(contents(durable.store)).toEqual(sorted(rows));
      }
    }),
    { numRuns: 300 },
  );
}, 60_000);

test('replicas applying the same change-sets in the same order stay byte-identical', () => {
  fc.assert(
    fc.property(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 30 }), fc.array(fc.nat(3), { maxLength: 30 }), (txs, lags) => {
      const origin = Store.open(schema);
      const replicas = [Store.open(schema), Store.open(schema)];
      const sets: ChangeSet[] = [];
      // Only some change-sets are applied at the origin, so later ones run on stale snapshots and some conflict.
      for (let i = 0; i < txs.length; i++) {
        const ops = txs[i]!;
        try {
          sets.push(origin.write((tx) => run(tx, ops)));
        } catch {
          continue;
        }
        if ((lags[i] ?? 0) === 0) {
          try {
            origin.apply(sets[sets.length - 1]!);
          } catch { /* conflicts and unique errors are outcomes too */ }
        }
      }
      const outcomes = replicas.map((replica) => sets.map((cs) => {
        try {
          return replica.apply(structuredClone(cs)).version;
        } catch (e) {
          return (e as ChorusError).code;
        }
      }));
      expect(outcomes[1]).toEqual(outcomes[0]);
      expect(replicas[1]!.contentHash()).toBe(replicas[0]!.contentHash());
    }),
    { numRuns: 150 },
  );
});
