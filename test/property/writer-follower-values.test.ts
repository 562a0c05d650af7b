/**
 * The node that makes a write applies its own change-set object; every other node decodes the bytes and
 * applies what the wire's checks let through. So whatever a write accepts from the application must
 * decode, on another node, to the very same rows: else the replicas differ (a NaN primary key did, found
 * by review). Differential over values of every type, the awkward ones included (NaN, -0, infinities,
 * lone surrogates, integers at the edges of each width, empty and large byte arrays).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { decodeChangeSet, encodeChangeSet } from '../../src/store/changeset.js';
import { ValidationError } from '../../src/store/errors.js';

const schema: SchemaDef = {
  tables: [
    {
      name: 'byFloat',
      fields: [
        { name: 'x', type: 'float64' },
        { name: 'i', type: 'int32', optional: true },
        { name: 'u', type: 'uint32', optional: true },
        { name: 'l', type: 'int64', optional: true },
        { name: 's', type: 'string', optional: true },
        { name: 'b', type: 'bytes', optional: true },
        { name: 't', type: 'timestamp', optional: true },
        { name: 'f', type: 'float64[]', optional: true },
      ],
      primaryKey: ['x'],
      indexes: [{ name: 'byS', fields: ['s'] }, { name: 'byI', fields: ['i'] }],
    },
    { name: 'pair', fields: [{ name: 's', type: 'string' }, { name: 'l', type: 'int64' }, { name: 'v', type: 'float64', optional: true }], primaryKey: ['s', 'l'] },
  ],
};

const awkwardNumber = fc.oneof(
  fc.constantFrom(NaN, -0, 0, Infinity, -Infinity, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 0.1, -1.5, Number.MIN_VALUE),
  fc.double(),
  fc.integer(),
);
const awkwardString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\ud800', 'a\udc00b', '\u0000', '', '\uffff', '😀'));
const awkwardBigint = fc.oneof(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, 0n));
const value = fc.oneof(awkwardNumber, awkwardString, awkwardBigint, fc.uint8Array({ maxLength: 40 }), fc.constant(null), fc.constant(undefined), fc.boolean(), fc.array(awkwardNumber, { maxLength: 4 }));
/** Mostly a value of the field's own type (so that most writes are accepted), sometimes anything. */
const mostly = (typed: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: typed, weight: 6 }, { arbitrary: value, weight: 1 });
const row = fc.record(
  { x: mostly(awkwardNumber), i: mostly(awkwardNumber), u: mostly(awkwardNumber), l: mostly(awkwardBigint), s: mostly(awkwardString), b: mostly(fc.uint8Array({ maxLength: 40 })), t: mostly(awkwardNumber), f: mostly(fc.array(awkwardNumber, { maxLength: 4 })) },
  { requiredKeys: ['x'] },
);
const pairRow = fc.record({ s: mostly(awkwardString), l: mostly(awkwardBigint), v: mostly(awkwardNumber) }, { requiredKeys: ['s', 'l'] });

describe('what a writer accepts, another node decodes to the same rows', () => {
  it('for any values of every type, the awkward ones included', () => {
    let tried = 0;
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.oneof(row.map((r) => ['byFloat', r] as const), pairRow.map((r) => ['pair', r] as const)), { minLength: 1, maxLength: 8 }), (writes) => {
        const writer = Store.open(schema);
        tried += writes.length;
        const follower = Store.open(schema);
        for (const [table, input] of writes) {
          let changeSet;
          try {
            changeSet = writer.write((tx) => void tx.upsert(table, input));
          } catch (error) {
            if (error instanceof ValidationError) continue; // refused where made: nothing of it leaves the writer
            throw error;
          }
          const decoded = decodeChangeSet(encodeChangeSet(changeSet).slice(), 'n1'); // a copy, as another process gets it
          writer.apply(changeSet);
          follower.apply(decoded); // throws if the wire refuses what the writer accepted
          accepted++;
        }
        expect(follower.contentHash()).toBe(writer.contentHash());
        const dump = (store: Store) => store.read((tx) => [...tx.scan('byFloat'), ...tx.scan('pair')]);
        expect(dump(follower)).toEqual(dump(writer));
      }),
      { numRuns: 300 },
    );
    expect(accepted).toBeGreaterThan(tried / 10); // the property says something: many writes were taken
  });
});
