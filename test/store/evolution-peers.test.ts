/**
 * Nodes on two schemas in one cluster (binaryEvolution): what a peer's schema may differ in (indexes:
 * not at all), and what a node on an older schema that applied newer rows may become (not the newer
 * schema from its own image: it lost their new fields). Review 2, findings 4 and 5.
 */
import { describe, expect, test } from 'vitest';
import type { ChangeSet } from '../../src/store/changeset.js';
import { decodeChangeSet, encodeChangeSet } from '../../src/store/changeset.js';
import { ConflictError, IncompatibleSchemaError, UniqueError } from '../../src/store/errors.js';
import type { SchemaDef, TableDef } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';

const id = { name: 'id', type: 'int32' } as const;
const email = { name: 'email', type: 'string' } as const;
const nick = { name: 'nick', type: 'string', optional: true } as const;
const table = (def: Partial<TableDef>): SchemaDef => ({ tables: [{ name: 'u', fields: [id, email], primaryKey: ['id'], ...def }] });
const v1 = table({});
// v2 of the review: a unique index on email, and a new optional field
const v2 = table({ fields: [id, email, nick], indexes: [{ name: 'byEmail', fields: ['email'], unique: true }] });
// v2 as it may run beside v1: the new field only
const v2Fields = table({ fields: [id, email, nick] });

const wire = (cs: ChangeSet): ChangeSet => decodeChangeSet(encodeChangeSet(cs).slice(), 'peer');
const pair = (a: SchemaDef, b: SchemaDef): [Store, Store] => [Store.open(a, { evolution: true }), Store.open(b, { evolution: true })];
const learnError = (store: Store, def: SchemaDef): IncompatibleSchemaError | undefined => {
  try {
    store.learnSchema(def);
  } catch (error) {
    if (error instanceof IncompatibleSchemaError) return error;
    throw error;
  }
  return undefined;
};

describe('a peer schema with other indexes is refused when it is learned (finding 4)', () => {
  test('a unique index only one side has: refused both ways, naming table and index, before any write can diverge', () => {
    const [a, b] = pair(v1, v2);
    for (const [store, peer] of [[a, v2], [b, v1]] as const) {
      const error = learnError(store, peer);
      expect(error?.code).toBe('INCOMPATIBLE_SCHEMA');
      expect(error?.table).toBe('u');
      expect(error?.message).toMatch(/index byEmail/);
    }
    // So the review's write (a duplicate email applied on v1, refused on v2) cannot reach a v2 node:
    const cs = a.write((tx) => void tx.insert('u', { id: 1, email: 'same@x' }));
    a.apply(cs);
    expect(() => b.apply(wire(cs))).toThrow(IncompatibleSchemaError); // unknown schema: CannotFollowError in a cluster
  });

  test('any index one side lacks, a same-named index on other fields or of other uniqueness, an indexed field made required', () => {
    const cases: [SchemaDef, SchemaDef, RegExp][] = [
      [v1, table({ indexes: [{ name: 'byEmail', fields: ['email'] }] }), /index byEmail is missing/],
      [table({ fields: [id, email, nick], indexes: [{ name: 'i', fields: ['email'] }] }), table({ fields: [id, email, nick], indexes: [{ name: 'i', fields: ['nick'] }] }), /index i is on \(email\) in the peer's schema and on \(nick\) here/],
      [table({ fields: [id, email, nick], indexes: [{ name: 'i', fields: ['email', 'nick'] }] }), table({ fields: [id, email, nick], indexes: [{ name: 'i', fields: ['nick', 'email'] }] }), /index i is on/],
      [table({ indexes: [{ name: 'i', fields: ['email'], unique: true }] }), table({ indexes: [{ name: 'i', fields: ['email'] }] }), /index i is unique in the peer's schema and not unique here/],
      [table({ fields: [id, { ...email, optional: true }], indexes: [{ name: 'i', fields: ['email'] }] }), table({ fields: [id, { ...email, default: '' }], indexes: [{ name: 'i', fields: ['email'] }] }), /indexes email, optional in the peer's schema and required here/],
    ];
    for (const [peer, mine, why] of cases) {
      const error = learnError(Store.open(mine, { evolution: true }), peer);
      expect(error?.code, String(why)).toBe('INCOMPATIBLE_SCHEMA');
      expect(error?.table).toBe('u');
      expect(error?.message).toMatch(why);
    }
  });

  test('the same indexes (in another order, fields added): an index scan and a unique clash decide alike on both nodes', () => {
    const index = { name: 'byEmail', fields: ['email'], unique: true };
    const n = { name: 'n', type: 'int32' } as const;
    const old = table({ fields: [id, email, n], indexes: [index, { name: 'byN', fields: ['n'] }] });
    const next = table({ fields: [id, email, n, nick], indexes: [{ name: 'byN', fields: ['n'] }, index] });
    const [a, b] = pair(old, next);
    a.learnSchema(next);
    b.learnSchema(old);
    const scan = b.write((tx) => {
      if (tx.find('u', 'byEmail', 'a@x').length === 0) tx.insert('u', { id: 3, email: 'a@x', n: 1 });
    });
    expect(b.apply(scan).version).toBe(1);
    expect(a.apply(wire(scan)).version).toBe(1);
    const clash = a.write((tx) => void tx.insert('u', { id: 4, email: 'a@x', n: 2 }), { deferUnique: true });
    expect(() => a.apply(clash)).toThrow(UniqueError);
    expect(() => b.apply(wire(clash))).toThrow(UniqueError);
    // A stale index scan conflicts on both.
    const stale = a.write((tx) => void tx.insert('u', { id: 5, email: `${tx.count('u', { index: 'byN', lower: 1 })}@x`, n: 9 }));
    const moved = b.write((tx) => void tx.insert('u', { id: 6, email: 'b@x', n: 2 }));
    expect([b.apply(moved).version, a.apply(wire(moved)).version]).toEqual([2, 2]);
    expect(() => a.apply(stale)).toThrow(ConflictError);
    expect(() => b.apply(wire(stale))).toThrow(ConflictError);
  });

  test('an indexed field widened: the older node\'s index ranges certify on the newer node', () => {
    const index = { name: 'byN', fields: ['n'] };
    const old = table({ fields: [id, email, { name: 'n', type: 'int32' }], indexes: [index] });
    const next = table({ fields: [id, email, { name: 'n', type: 'int64' }], indexes: [index] });
    const [a, b] = pair(old, next);
    b.learnSchema(old);
    const first = a.write((tx) => void tx.insert('u', { id: 1, email: 'a@x', n: 1 }));
    const stale = a.write((tx) => void tx.insert('u', { id: 2, email: `${tx.count('u', { index: 'byN', lower: 0, upper: 5 })}@x`, n: 9 }));
    expect([a.apply(first).version, b.apply(wire(first)).version]).toEqual([1, 1]);
    expect(() => a.apply(stale)).toThrow(ConflictError);
    expect(() => b.apply(wire(stale))).toThrow(ConflictError);
    expect(b.read((tx) => tx.find('u', 'byN', 1n).length)).toBe(1);
  });
});

describe('a rolling upgrade: a node on the older schema that applied newer rows (finding 5)', () => {
  const nickOf = (store: Store): unknown => store.read((tx) => tx.get('u', 1)?.['nick']);

  test('its image cannot become the newer schema: refused naming table and field, saying how to bring it back', () => {
    const [old, upgraded] = pair(v1, v2Fields);
    old.learnSchema(v2Fields);
    upgraded.learnSchema(v1);
    const cs = upgraded.write((tx) => void tx.insert('u', { id: 1, email: 'e@x', nick: 'bob' }));
    upgraded.apply(cs);
    old.apply(wire(cs)); // v1 keeps no nick
    const restarted = Store.open(v2Fields, { evolution: true });
    let error: unknown;
    try {
      restarted.restoreSync([...old.snapshot()], 'the v1 image');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IncompatibleSchemaError);
    expect([(error as IncompatibleSchemaError).table, (error as IncompatibleSchemaError).field]).toEqual(['u', 'nick']);
    expect((error as Error).message).toMatch(/the v1 image .*lost.*move its data directory aside and start it empty/s);
    expect(restarted.version).toBe(0); // nothing of the image
    // The way back: an image of a node that kept the values.
    restarted.restoreSync([...upgraded.snapshot()], 'the v2 image');
    expect(nickOf(restarted)).toBe('bob');
    expect(restarted.contentHash()).toBe(upgraded.contentHash());
  });

  test('the note survives restarts on the older schema, and so does the refusal; images taken before any newer row upgrade', () => {
    const [old, upgraded] = pair(v1, v2Fields);
    old.learnSchema(v2Fields);
    const before = old.commit((tx) => void tx.insert('u', { id: 2, email: 'f@x' }));
    expect(before.version).toBe(1);
    const clean = [...old.snapshot()];
    old.apply(wire(upgraded.write((tx) => void tx.insert('u', { id: 1, email: 'e@x', nick: null }))));
    const again = Store.open(v1, { evolution: true });
    again.restoreSync([...old.snapshot()], 'image');
    expect(again.contentHash()).toBe(old.contentHash());
    expect(() => Store.open(v2Fields, { evolution: true }).restoreSync([...again.snapshot()], 'image')).toThrow(/field nick/);
    const fine = Store.open(v2Fields, { evolution: true });
    fine.restoreSync(clean, 'image');
    expect(fine.read((tx) => tx.get('u', 2))).toEqual({ id: 2, email: 'f@x', nick: null });
  });

  test('a newer node restoring an older image keeps no note; an older node restoring a newer image notes what it dropped', () => {
    const [old, upgraded] = pair(v1, v2Fields);
    upgraded.commit((tx) => void tx.insert('u', { id: 1, email: 'e@x', nick: 'bob' }));
    old.restoreSync([...upgraded.snapshot()], 'the v2 image'); // a v1 node catching up from a v2 leader
    expect(() => Store.open(v2Fields, { evolution: true }).restoreSync([...old.snapshot()], 'image')).toThrow(/field nick/);
    const back = Store.open(v2Fields, { evolution: true });
    back.restoreSync([...Store.open(v1).snapshot()], 'an empty v1 image');
    expect(back.contentHash()).toBe(Store.open(v2Fields).contentHash());
  });

  test('an older node\'s update takes the newer field back to its absent value on every newer node alike', () => {
    const [old, b] = pair(v1, v2Fields);
    const c = Store.open(v2Fields, { evolution: true });
    for (const s of [b, c]) s.learnSchema(v1);
    old.learnSchema(v2Fields);
    const insert = b.write((tx) => void tx.insert('u', { id: 1, email: 'e@x', nick: 'bob' }));
    for (const s of [b, c]) s.apply(wire(insert));
    old.apply(wire(insert));
    const update = old.write((tx) => void tx.update('u', { id: 1, email: 'new@x' }));
    for (const s of [old, b, c]) s.apply(wire(update));
    expect([nickOf(b), nickOf(c)]).toEqual([null, null]); // documented: a whole row, nick unknown to v1
    expect(b.contentHash()).toBe(c.contentHash());
  });
});
