/**
 * Binary schema evolution, property-based: a random source schema, a target made from it by random
 * edits whose compatibility is known by construction (keep, widen, retype, drop, make optional,
 * require with or without a default, add optional, add with a default, add required), and random rows.
 * Every path that converts — a peer's change-sets (evolution mode), alterSchema, loading an image —
 * must give the rows the edits say, or refuse with INCOMPATIBLE_SCHEMA naming the table and a field
 * that an incompatible edit touched, changing nothing. The model never consults the store's rules.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { IncompatibleSchemaError } from '../../src/store/errors.js';
import type { FieldDef, SchemaDef } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import type { ScalarType, Value } from '../../src/store/values.js';

const scalars: readonly ScalarType[] = ['bool', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'timestamp'];
const widen: Readonly<Partial<Record<ScalarType, readonly ScalarType[]>>> = { int32: ['int64', 'float64'], uint32: ['int64', 'float64'] };

function scalarValue(type: ScalarType): fc.Arbitrary<Value> {
  switch (type) {
    case 'bool': return fc.boolean();
    case 'int32': return fc.integer({ min: -0x80000000, max: 0x7fffffff });
    case 'uint32': return fc.integer({ min: 0, max: 0xffffffff });
    case 'int64': return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64': return fc.double({ noNaN: true }).map((x) => x + 0);
    case 'string': return fc.string({ maxLength: 6 });
    case 'bytes': return fc.uint8Array({ maxLength: 4 });
    case 'timestamp': return fc.integer({ min: 0, max: 2 ** 45 });
  }
}

interface Column { scalar: ScalarType; isArray: boolean; optional: boolean }
const typeName = (c: { scalar: ScalarType; isArray: boolean }): FieldDef['type'] => (c.isArray ? `${c.scalar}[]` : c.scalar) as FieldDef['type'];

function valueOf(column: Column): fc.Arbitrary<Value> {
  const one: fc.Arbitrary<Value> = column.isArray ? fc.array(scalarValue(column.scalar), { maxLength: 3 }).map((items) => items as Value) : scalarValue(column.scalar);
  return column.optional ? fc.option(one, { nil: null }) : one;
}

/** An edit of one source field, or an added field; `ok` says whether it is a compatible change. */
type Edit =
  | { kind: 'keep' | 'drop' | 'makeOptional'; ok: true }
  | { kind: 'widen'; to: ScalarType; ok: true }
  | { kind: 'retype'; to: ScalarType; flipArray: boolean; ok: false }
  | { kind: 'require'; fallback: Value | undefined; ok: boolean };
interface Added { name: string; column: Column; fallback: Value | undefined; ok: boolean }

function editsFor(column: Column): fc.Arbitrary<Edit> {
  const options: fc.Arbitrary<Edit>[] = [fc.constant({ kind: 'keep', ok: true }), fc.constant({ kind: 'drop', ok: true })];
  const widenings = widen[column.scalar] ?? [];
  if (widenings.length > 0) options.push(fc.constantFrom(...widenings).map((to) => ({ kind: 'widen' as const, to, ok: true as const })));
  const narrower = scalars.filter((s) => s !== column.scalar && !widenings.includes(s));
  options.push(fc.record({ to: fc.constantFrom(...narrower), flipArray: fc.boolean() }).map(({ to, flipArray }) => ({ kind: 'retype' as const, to, flipArray, ok: false as const })));
  options.push(fc.constant({ kind: 'retype', to: column.scalar, flipArray: true, ok: false }));
  if (!column.optional) options.push(fc.constant({ kind: 'makeOptional', ok: true }));
  if (column.optional) {
    const some: fc.Arbitrary<Value> = column.isArray ? fc.array(scalarValue(column.scalar), { maxLength: 2 }).map((items) => items as Value) : scalarValue(column.scalar);
    options.push(fc.option(some, { nil: undefined }).map((fallback) => ({ kind: 'require' as const, fallback, ok: fallback !== undefined })));
  }
  return fc.oneof(...options);
}

const column: fc.Arbitrary<Column> = fc.record({ scalar: fc.constantFrom(...scalars), isArray: fc.boolean(), optional: fc.boolean() });

interface Case { source: Column[]; edits: Edit[]; added: Added[]; rows: Value[][] }

const caseArb: fc.Arbitrary<Case> = fc.array(column, { minLength: 1, maxLength: 4 }).chain((source) =>
  fc.record({
    source: fc.constant(source),
    edits: fc.tuple(...source.map(editsFor)),
    added: fc.array(
      fc.record({ column, how: fc.constantFrom('optional', 'default', 'required') }).chain(({ column: c, how }) =>
        (how === 'default' ? valueOf({ ...c, optional: false }).map((v) => v as Value | undefined) : fc.constant(undefined)).map((fallback) => ({
          column: { ...c, optional: how === 'optional' }, fallback, ok: how !== 'required',
        }))),
      { maxLength: 2 },
    ).map((list) => list.map((a, i) => ({ ...a, name: `n${i}` }))),
    rows: fc.uniqueArray(fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.tuple(...source.map(valueOf))), { selector: ([id]) => id, maxLength: 6 })
      .map((list) => list.map(([id, values]) => [id, ...values])),
  }));

const field = (name: string, c: Column, fallback?: Value): FieldDef => ({
  name, type: typeName(c), ...(c.optional ? { optional: true } : {}), ...(fallback === undefined ? {} : { default: fallback }),
});

function schemas(k: Case): { from: SchemaDef; to: SchemaDef } {
  const from: FieldDef[] = [{ name: 'id', type: 'int32' }, ...k.source.map((c, i) => field(`f${i}`, c))];
  const to: FieldDef[] = [{ name: 'id', type: 'int32' }];
  k.source.forEach((c, i) => {
    const e = k.edits[i] as Edit;
    if (e.kind === 'keep') to.push(field(`f${i}`, c));
    if (e.kind === 'widen') to.push(field(`f${i}`, { ...c, scalar: e.to }));
    if (e.kind === 'retype') to.push(field(`f${i}`, { ...c, scalar: e.to, isArray: e.flipArray ? !c.isArray : c.isArray }));
    if (e.kind === 'makeOptional') to.push(field(`f${i}`, { ...c, optional: true }));
    if (e.kind === 'require') to.push(field(`f${i}`, { ...c, optional: false }, e.fallback));
  });
  for (const a of k.added) to.push(field(a.name, a.column, a.fallback));
  return { from: { tables: [{ name: 't', fields: from, primaryKey: ['id'] }] }, to: { tables: [{ name: 't', fields: to, primaryKey: ['id'] }] } };
}

/** The model: the fields a refusal may name, or each row as the target must hold it. */
function expected(k: Case): { refused: Set<string> } | { rows: Record<string, Value>[] } {
  const refused = new Set<string>();
  k.edits.forEach((e, i) => e.ok || refused.add(`f${i}`));
  for (const a of k.added) if (!a.ok) refused.add(a.name);
  if (refused.size > 0) return { refused };
  const convert = (v: Value, to: ScalarType): Value => {
    if (v === null) return null;
    const one = (x: unknown): Value => (to === 'int64' ? BigInt(x as number) : (x as number));
    return Array.isArray(v) ? v.map(one) as Value : one(v);
  };
  return {
    rows: k.rows.map((values) => {
      const row: Record<string, Value> = { id: values[0] as number };
      k.source.forEach((_, i) => {
        const e = k.edits[i] as Edit;
        const v = values[i + 1] as Value;
        if (e.kind === 'keep' || e.kind === 'makeOptional') row[`f${i}`] = v;
        if (e.kind === 'widen') row[`f${i}`] = convert(v, e.to);
        if (e.kind === 'require') row[`f${i}`] = v ?? (e.fallback as Value);
      });
      for (const a of k.added) row[a.name] = a.fallback ?? null;
      return row;
    }).sort((a, b) => (a['id'] as number) - (b['id'] as number)), // scans return key order
  };
}

function filled(def: SchemaDef, rows: readonly Value[][], evolution: boolean): Store {
  const store = Store.open(def, { evolution });
  const names = def.tables[0]!.fields.map((f) => f.name);
  store.commit((tx) => {
    for (const values of rows) tx.insert('t', Object.fromEntries(names.map((name, i) => [name, values[i]])));
  });
  return store;
}

const all = (store: Store): unknown[] => store.read((tx) => tx.scan('t').map((row) => ({ ...row })));

/** Runs `convert`; returns the rows it produced or the refusal, checked against the model. */
function check(k: Case, convert: () => Store, unchanged?: () => void): void {
  const want = expected(k);
  let got: Store | undefined;
  let error: unknown;
  try {
    got = convert();
  } catch (e) {
    error = e;
  }
  if ('refused' in want) {
    expect((error as IncompatibleSchemaError | undefined)?.code).toBe('INCOMPATIBLE_SCHEMA');
    expect((error as IncompatibleSchemaError).table).toBe('t');
    expect(want.refused.has((error as IncompatibleSchemaError).field as string)).toBe(true);
    unchanged?.();
    return;
  }
  if (error !== undefined) throw error;
  expect(all(got as Store)).toEqual(want.rows);
}

describe('binary schema evolution (property)', () => {
  test('peer change-sets, alterSchema and image loads convert as the edits say, or refuse naming an incompatible field', () => {
    fc.assert(fc.property(caseArb, (k) => {
      const { from, to } = schemas(k);
      // A peer's change-set, in evolution mode.
      check(k, () => {
        const writer = Store.open(from, { evolution: true });
        const names = from.tables[0]!.fields.map((f) => f.name);
        const cs = writer.write((tx) => {
          for (const values of k.rows) tx.insert('t', Object.fromEntries(names.map((name, i) => [name, values[i]])));
        });
        const reader = Store.open(to, { evolution: true });
        reader.learnSchema(from);
        reader.apply(structuredClone(cs));
        return reader;
      });
      // alterSchema on a store holding the rows: unchanged when refused.
      const altered = filled(from, k.rows, false);
      const before = altered.contentHash();
      check(k, () => {
        altered.alterSchema(to);
        return altered;
      }, () => expect(altered.contentHash()).toBe(before));
      // An image written with the source schema, loaded by a store with the target schema.
      const target = Store.open(to);
      check(k, () => {
        target.restoreSync(filled(from, k.rows, false).snapshot(), 'image');
        return target;
      }, () => expect(target.version).toBe(0));
    }), { numRuns: 150 });
  });

  test('identical schemas pass without conversion (no evolution mode needed), and added fields round-trip away', () => {
    fc.assert(fc.property(caseArb, (k) => {
      const { from } = schemas(k);
      const source = filled(from, k.rows, false);
      // The same schema, compiled separately: change-sets apply as they are and the stores agree byte for byte.
      const twin = Store.open(structuredClone(from));
      twin.apply(structuredClone(filled(from, [], false).write((tx) => {
        const names = from.tables[0]!.fields.map((f) => f.name);
        for (const values of k.rows) tx.insert('t', Object.fromEntries(names.map((name, i) => [name, values[i]])));
      })));
      expect(twin.contentHash()).toBe(source.contentHash());
      // Adding optional and defaulted fields, then removing them again, gives back the same store.
      const widened: SchemaDef = { tables: [{ ...from.tables[0]!, fields: [...from.tables[0]!.fields, { name: 'extra', type: 'string', optional: true }, { name: 'more', type: 'int64', default: 7n }] }] };
      const roundTrip = filled(from, k.rows, false);
      roundTrip.alterSchema(widened);
      expect(roundTrip.read((tx) => tx.scan('t').every((row) => row['extra'] === null && row['more'] === 7n))).toBe(true);
      roundTrip.alterSchema(from);
      expect(roundTrip.contentHash()).toBe(source.contentHash());
    }), { numRuns: 100 });
  });
});
