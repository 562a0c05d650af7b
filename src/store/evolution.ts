/**
 * Binary schema evolution: converting rows written with one schema to another, by field name.
 *
 * Rules (checked once per pair of schemas, when the plan is made): the primary key must name the same
 * fields in the same order; a field only the target has must be optional or have a default; a field
 * only the source has is dropped; a field in both keeps its scalar type and array-ness, or widens
 * (int32/uint32 → int64, int32/uint32 → float64); a nullable source field may feed a required target
 * field only if the target has a default (null becomes the default). Anything else is refused with
 * IncompatibleSchemaError naming the table and field. Identical schemas convert nothing.
 *
 * A peer's schema (planPeerConversion, learnSchema) must also have the same indexes: the same names,
 * each on the same fields (by name, in order) with the same uniqueness, and no conversion that changes
 * an indexed value (null becoming a default). Certification and apply read indexes — a unique index
 * refuses a row, an index range a change-set recorded is re-checked — and every node must decide alike,
 * so a node whose indexes differ would diverge or fail on the first write that touches them. Local
 * conversions (alterSchema, own older data, images: indexes are rebuilt and checked on load) may change
 * indexes freely.
 */
import { IncompatibleSchemaError } from './errors.js';
import type { FieldSchema, IndexSchema, Schema, TableSchema } from './schema.js';
import type { ScalarType } from './values.js';

export interface TablePlan {
  readonly from: TableSchema;
  readonly to: TableSchema;
  readonly identity: boolean;
  /** Fields of `from` that `to` lacks: a converted row loses their values (Store keeps a note, see `lost`). */
  readonly dropped: readonly string[];
  /** Wire values in `from` order → wire values in `to` order (typing is left to rowFromArray). */
  convert(values: readonly unknown[]): unknown[];
}

export interface SchemaPlan {
  readonly identity: boolean;
  /** The plan for rows of source table `name`, or undefined when the target dropped it. */
  table(name: string): TablePlan | undefined;
}

const widenings: Readonly<Record<ScalarType, readonly ScalarType[]>> = {
  bool: [], int32: ['int64', 'float64'], uint32: ['int64', 'float64'], int64: [], float64: [], string: [], bytes: [], timestamp: [],
};

/**
 * The conversion from `from` to `to`. `dropTables`: a table only the source has is dropped (a local
 * schema change) rather than refused (a peer writing a table this node does not have).
 */
export function planConversion(from: Schema, to: Schema, dropTables: boolean): SchemaPlan {
  if (from.fingerprint === to.fingerprint) {
    const plans = new Map(from.tables.map((table) => [table.name, identityPlan(table)]));
    return { identity: true, table: (name) => plans.get(name) };
  }
  const plans = new Map<string, TablePlan>();
  for (const source of from.tables) {
    if (!to.hasTable(source.name)) {
      if (!dropTables) throw new IncompatibleSchemaError(source.name, undefined, 'table is missing from this schema');
      continue;
    }
    plans.set(source.name, planTable(source, to.table(source.name)));
  }
  return { identity: false, table: (name) => plans.get(name) };
}

/**
 * The conversion of a peer's change-sets (written with `from`) to this node's schema `to`: as
 * planConversion without dropping tables, and refused (IncompatibleSchemaError naming the table and
 * index) when the indexes of a table in both differ in any way, see the top of this file.
 */
export function planPeerConversion(from: Schema, to: Schema): SchemaPlan {
  const plan = planConversion(from, to, false);
  if (plan.identity) return plan;
  for (const source of from.tables) checkIndexesAlike(source, to.table(source.name));
  return plan;
}

/** Both tables have the same indexes, and converting a row keeps the values they index. */
function checkIndexesAlike(from: TableSchema, to: TableSchema): void {
  const refuse = (index: string, why: string): never => {
    throw new IncompatibleSchemaError(to.name, undefined, `index ${index} ${why}: a peer's indexes must be the same as this node's (binaryEvolution), since certification and unique checks read them on every node`);
  };
  for (const index of to.indexes) if (!from.indexByName.has(index.name)) refuse(index.name, 'is missing from the peer\'s schema');
  for (const source of from.indexes) {
    const target = to.indexByName.get(source.name);
    if (target === undefined) return refuse(source.name, 'of the peer\'s schema is missing here');
    const fields = (index: IndexSchema): string => index.fields.map((field) => field.name).join(',');
    if (fields(source) !== fields(target)) refuse(source.name, `is on (${fields(source)}) in the peer's schema and on (${fields(target)}) here`);
    if (source.unique !== target.unique) refuse(source.name, `is ${source.unique ? '' : 'not '}unique in the peer's schema and ${target.unique ? '' : 'not '}unique here`);
    for (const field of target.fields) {
      const was = from.fieldByName.get(field.name);
      if (was !== undefined && was.nullable && !field.nullable) refuse(source.name, `indexes ${field.name}, optional in the peer's schema and required here (a null would become the default)`);
    }
  }
}

function identityPlan(table: TableSchema): TablePlan {
  return { from: table, to: table, identity: true, dropped: [], convert: (values) => values as unknown[] };
}

function planTable(from: TableSchema, to: TableSchema): TablePlan {
  const fromKey = from.primaryKey.map((field) => field.name).join(',');
  const toKey = to.primaryKey.map((field) => field.name).join(',');
  if (fromKey !== toKey) throw new IncompatibleSchemaError(to.name, undefined, `primary key (${fromKey}) differs from (${toKey})`);
  // For each target field: the source position to read, or -1 (take the target's absent value).
  const sources = to.fields.map((target) => {
    const source = from.fieldByName.get(target.name);
    if (source === undefined) {
      if (target.absent === undefined) throw new IncompatibleSchemaError(to.name, target.name, 'added field must be optional or have a default');
      return -1;
    }
    checkFieldCompatible(to.name, source, target);
    return source.position;
  });
  const nullToDefault = to.fields.map((target) => !target.nullable && target.absent !== undefined);
  // Identity only when no value changes: same places and types, and no null that must become a default
  // (an optional field made required with a default; found by test/property/store-evolution.test.ts).
  const identity = from.fields.length === to.fields.length && sources.every((source, i) => source === i)
    && from.fields.every((field, i) => field.type === to.fields[i]?.type && !(field.nullable && nullToDefault[i] === true));
  const dropped = from.fields.filter((field) => !to.fieldByName.has(field.name)).map((field) => field.name);
  return {
    from, to, identity, dropped,
    convert(values) {
      return sources.map((source, i) => {
        if (source < 0) return undefined; // rowFromArray gives it the target's absent value
        const value = values[source];
        return value === null && nullToDefault[i] === true ? undefined : value;
      });
    },
  };
}

function checkFieldCompatible(table: string, source: FieldSchema, target: FieldSchema): void {
  if (source.isArray !== target.isArray) throw new IncompatibleSchemaError(table, target.name, `${source.type} cannot become ${target.type}`);
  if (source.scalar !== target.scalar && !widenings[source.scalar].includes(target.scalar)) {
    throw new IncompatibleSchemaError(table, target.name, `${source.type} cannot become ${target.type} (only int32/uint32 → int64 or float64 widen)`);
  }
  if (source.nullable && !target.nullable && target.absent === undefined) {
    throw new IncompatibleSchemaError(table, target.name, 'an optional field cannot become required without a default');
  }
}

/**
 * Fields whose values this state has lost, `[table, field]` sorted: an evolution-mode store applied a
 * peer's row of `table` with `field`, which its own schema lacks, so the value was dropped (a node on
 * an older schema in a rolling upgrade). The note is part of the state (images carry it, contentHash
 * covers it) and never goes away while the field is missing: the data may not be loaded into a schema
 * that has the field, since it would take its default where the nodes that kept the values hold them.
 */
export type LostFields = readonly (readonly [table: string, field: string])[];

export const noLostFields: LostFields = Object.freeze([]);

/** `lost` and the fields a peer's change-set (rows of `tables`, converted with `plan`) dropped. */
export function withLost(lost: LostFields, plan: SchemaPlan, tables: Iterable<string>): LostFields {
  let added: [string, string][] | undefined;
  for (const name of tables) {
    for (const field of plan.table(name)?.dropped ?? []) {
      if (lost.some(([t, f]) => t === name && f === field) || added?.some(([t, f]) => t === name && f === field) === true) continue;
      (added ??= []).push([name, field]);
    }
  }
  if (added === undefined) return lost;
  return Object.freeze([...lost, ...added].sort(([t1, f1], [t2, f2]) => (t1 === t2 ? compareStrings(f1, f2) : compareStrings(t1, t2))));
}

/**
 * The note of an image (`source` names it) loaded into `target`: refused (IncompatibleSchemaError
 * naming table and field, saying how to bring the node back) when `target` has a lost field; the
 * notes of tables `target` dropped go away.
 */
export function lostInto(lost: LostFields, target: Schema, source: string): LostFields {
  for (const [table, field] of lost) {
    if (target.hasTable(table) && target.table(table).fieldByName.has(field)) {
      throw new IncompatibleSchemaError(table, field, `${source} comes from a node whose schema lacked this field while it applied writes of nodes whose schema has it, so their values are lost there; `
        + 'loaded into this schema the field would take its default where the other nodes hold the values. Bring this node back from a node whose schema has the field: '
        + 'move its data directory aside and start it empty (state transfer), or load an image taken on such a node (docs/store.md, rolling upgrades)');
    }
  }
  const kept = lost.filter(([table]) => target.hasTable(table));
  return kept.length === lost.length ? lost : Object.freeze(kept);
}

/** An image header's note, or undefined when it is malformed. */
export function lostFromHeader(value: unknown): LostFields | undefined {
  if (value === undefined) return noLostFields;
  if (!Array.isArray(value)) return undefined;
  const pairs = value.filter((pair): pair is [string, string] => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string');
  return pairs.length === value.length ? Object.freeze(pairs) : undefined;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
