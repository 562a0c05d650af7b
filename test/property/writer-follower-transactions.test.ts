/**
 * Differential over multi-operation transactions with stale snapshots: store W applies its own change-set
 * objects (the node that made the writes), F the decoded bytes (another node), R is restored from W's
 * image at a random point and applies the bytes from then on (a node caught up by state transfer). All
 * three must decide every change-set alike (applied, CONFLICT, UNIQUE, VALIDATION) and hold the same
 * state. Written by a review that found, with it: a get of a key its field cannot hold (1.5, 2^31)
 * recorded as a read the other nodes refused; an index scan cut short on a NaN recording a bound the
 * others refused; infinite float64 keys breaking the tree's order (and images that would not restore).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { decodeChangeSet, encodeChangeSet } from '../../src/store/changeset.js';
import type { ChangeSet } from '../../src/store/changeset.js';
import type { WriteTx } from '../../src/store/write-tx.js';

const schema: SchemaDef = {
  tables: [
    { name: 'a', fields: [{ name: 'id', type: 'int32' }, { name: 'u', type: 'string', optional: true }, { name: 'f', type: 'float64' }, { name: 'd', type: 'int32', default: 7 }],
      primaryKey: ['id'], indexes: [{ name: 'byU', fields: ['u'], unique: true }, { name: 'byF', fields: ['f', 'd'] }] },
    { name: 'c', fields: [{ name: 'k', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'v', type: 'float64[]', optional: true }], primaryKey: ['k', 'n'] },
    { name: 'fk', fields: [{ name: 'x', type: 'float64' }, { name: 'tag', type: 'string' }], primaryKey: ['x'] },
    { name: 'sk', fields: [{ name: 's', type: 'string' }], primaryKey: ['s'] },
  ],
};
const id = fc.integer({ min: -3, max: 5 });
const fval = fc.constantFrom(0, -0, 1.5, -1, NaN, Infinity, -Infinity, 2 ** 60);
const u = fc.option(fc.constantFrom('x', 'y', 'z', '', '\u0000', 'x\uffff'), { nil: null });
const k = fc.constantFrom('p', 'q', 'p\u0000');
const n = fc.bigInt({ min: -2n, max: 2n });
const op = fc.oneof(
  fc.record({ o: fc.constant('insA'), id, u, f: fval, d: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }),
  fc.record({ o: fc.constant('upsA'), id, u, f: fval }),
  fc.record({ o: fc.constant('updA'), id, u: fc.option(u, { nil: undefined }), f: fc.option(fval, { nil: undefined }) }),
  fc.record({ o: fc.constant('delA'), id }),
  fc.record({ o: fc.constant('getA'), id: fc.oneof(id, fc.constantFrom(1.5, 2 ** 31, -(2 ** 31) - 1, Infinity, -0)) }),
  fc.record({ o: fc.constant('getC'), k: fc.oneof(k, fc.constantFrom('\ud800', 'a\udc00')), n }),
  fc.record({ o: fc.constant('upsF'), x: fval, tag: fc.constantFrom('s', 't') }),
  fc.record({ o: fc.constant('getF'), x: fval }),
  fc.record({ o: fc.constant('scanF'), reverse: fc.boolean(), limit: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }), lower: fc.option(fval, { nil: undefined }) }),
  fc.record({ o: fc.constant('scanA'), index: fc.constantFrom(undefined, 'byU', 'byF'), reverse: fc.boolean(), limit: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), lower: fc.option(fc.constantFrom(0, 1.5, -1), { nil: undefined }) }),
  fc.record({ o: fc.constant('countA'), lower: fc.option(id, { nil: undefined }) }),
  fc.record({ o: fc.constant('upsC'), k, n, v: fc.option(fc.array(fval, { maxLength: 2 }), { nil: null }) }),
  fc.record({ o: fc.constant('delC'), k, n }),
  fc.record({ o: fc.constant('scanC'), lower: fc.option(k, { nil: undefined }), reverse: fc.boolean(), limit: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }) }),
);
type Op = Record<string, unknown> & { o: string };
function run(tx: WriteTx, ops: Op[]): void {
  for (const p of ops) {
    try {
      switch (p.o) {
        case 'insA': tx.insert('a', { id: p['id'], u: p['u'], f: p['f'], ...(p['d'] === undefined ? {} : { d: p['d'] }) }); break;
        case 'upsA': tx.upsert('a', { id: p['id'], u: p['u'], f: p['f'] }); break;
        case 'updA': tx.update('a', { id: p['id'], ...(p['u'] === undefined ? {} : { u: p['u'] }), ...(p['f'] === undefined ? {} : { f: p['f'] }) }); break;
        case 'delA': tx.delete('a', p['id']); break;
        case 'getA': tx.get('a', p['id']); break;
        case 'scanA': {
          const index = p['index'] as string | undefined;
          const lower = p['lower'] === undefined ? undefined : index === 'byU' ? 'x' : index === 'byF' ? [p['lower']] : Math.trunc(p['lower'] as number);
          tx.scan('a', { ...(index === undefined ? {} : { index }), reverse: p['reverse'] as boolean, ...(p['limit'] === undefined ? {} : { limit: p['limit'] as number }), ...(lower === undefined ? {} : { lower }) });
          break;
        }
        case 'countA': tx.count('a', p['lower'] === undefined ? undefined : { lower: p['lower'] }); break;
        case 'upsC': tx.upsert('c', { k: p['k'], n: p['n'], v: p['v'] }); break;
        case 'delC': tx.delete('c', [p['k'], p['n']]); break;
        case 'getC': tx.get('sk', p['k']); tx.get('c', [p['k'], p['n']]); break;
        case 'upsF': tx.upsert('fk', { x: p['x'], tag: p['tag'] }); break;
        case 'getF': tx.get('fk', p['x']); break;
        case 'scanF': tx.scan('fk', { reverse: p['reverse'] as boolean, ...(p['lower'] === undefined ? {} : { lower: p['lower'] }), ...(p['limit'] === undefined ? {} : { limit: p['limit'] as number }) }); break;
        case 'scanC': tx.scan('c', { reverse: p['reverse'] as boolean, ...(p['lower'] === undefined ? {} : { lower: [p['lower']] }), ...(p['limit'] === undefined ? {} : { limit: p['limit'] as number }) }); break;
      }
    } catch {
      return; // the transaction is poisoned: finish() rethrows
    }
  }
}
const outcome = (f: () => unknown): string => { try { f(); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? String(e); } };

describe('the writer (its objects), another node (the bytes) and a node restored from an image', () => {
  it('decide every multi-operation transaction alike, and end with the same state', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ lag: fc.nat({ max: 3 }), ops: fc.array(op, { minLength: 1, maxLength: 6 }) }), { minLength: 1, maxLength: 12 }), fc.nat(),
      (txs, cut) => {
        const w = Store.open(schema);
        const f = Store.open(schema);
        let r: Store | undefined;
        const restoreAt = cut % (txs.length + 1);
        // pending change-sets: written at some version, applied `lag` transactions later (stale snapshots)
        const queue: { cs: ChangeSet; at: number }[] = [];
        const drain = (i: number, all: boolean) => {
          queue.sort((x, y) => x.at - y.at);
          while (queue.length > 0 && (all || queue[0]!.at <= i)) {
            const { cs } = queue.shift()!;
            const bytes = encodeChangeSet(cs).slice();
            const ow = outcome(() => w.apply(cs));
            const of = outcome(() => f.apply(decodeChangeSet(bytes, 'w')));
            const or = r === undefined ? ow : outcome(() => r!.apply(decodeChangeSet(bytes, 'w')));
            expect({ follower: of, restored: or }).toEqual({ follower: ow, restored: ow });
          }
        };
        txs.forEach((t, i) => {
          if (i === restoreAt) { r = Store.open(schema); r.restoreSync([...w.snapshot({ frameRowsMax: 2 })], 'img'); }
          let cs: ChangeSet | undefined;
          try { cs = w.write((tx) => run(tx, t.ops as Op[])); } catch { cs = undefined; }
          if (cs !== undefined) queue.push({ cs, at: i + t.lag });
          drain(i, false);
        });
        drain(Infinity, true);
        expect(f.contentHash()).toBe(w.contentHash());
        if (r !== undefined) expect(r.contentHash()).toBe(w.contentHash());
      }), { numRuns: Number(process.env['RUNS'] ?? 300) });
  });
});
