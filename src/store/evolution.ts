/**
 * Binary schema evolution: converting rows written with one schema to another, by field name.
 *
 * Rules (checked once per pair of schemas, when the plan is made): the primary key must name the same
 * fields in the same order; a field only the target has must be optional or have a default; a field
 * only the source has is dropped; a field in both keeps its scalar type and array-ness, or widens
 * (int32/uint32 → int64, int32/uint32 → float64); a nullable source field may feed a required target
 * field only if the target has a default (null becomes the default). Anything else is refused with
 * IncompatibleSchemaError naming the table and field. Identical schemas convert nothing.
 */
import { IncompatibleSchemaError } from './errors.js';
import type { FieldSchema, Schema, TableSchema } from './schema.js';
import type { ScalarType } from './values.js';

export interface TablePlan {
  readonly from: TableSchema;
  readonly to: TableSchema;
  readonly identity: boolean;
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

function identityPlan(table: TableSchema): TablePlan {
  return { from: table, to: table, identity: true, convert: (values) => values as unknown[] };
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
  return {
    from, to, identity,
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
