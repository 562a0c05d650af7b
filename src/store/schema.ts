/**
 * The dictionary: a schema definition as users write it (plain data), checked once and compiled into
 * a Schema with positions, key kinds and a fingerprint.
 *
 * Invariants: a compiled Schema is valid and immutable; its fingerprint is a function of the definition
 * alone (so every node computes the same one); table, field and index order is the declared order.
 */
import {
  storeFieldsPerTableMax, storeIndexesPerTableMax, storeKeyFieldsMax, storeNameCharsMax, storeTablesMax,
} from '../limits.js';
import { encodeMsgpack, sha256Hex } from './codec.js';
import { NotFoundError, SchemaError } from './errors.js';
import type { MsgpackReader } from './msgpack-decode.js';
import { rowMaker, rowReader } from './rows.js';
import type { FieldType, Row, ScalarType, Value } from './values.js';
import { canonicalValue, parseFieldType, Refusal } from './values.js';

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  /** May be absent (stored as null). */
  readonly optional?: boolean;
  /** Taken when the field is absent on insert, and by rows converted from a schema without the field. */
  readonly default?: Value;
}

export interface IndexDef {
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique?: boolean;
}

export interface TableDef {
  readonly name: string;
  readonly fields: readonly FieldDef[];
  readonly primaryKey: readonly string[];
  readonly indexes?: readonly IndexDef[];
}

export interface SchemaDef {
  readonly tables: readonly TableDef[];
}

export interface FieldSchema {
  readonly name: string;
  readonly type: FieldType;
  readonly scalar: ScalarType;
  readonly isArray: boolean;
  /** May hold null (declared optional). */
  readonly nullable: boolean;
  /** Value taken when absent: the default, else null when nullable, else undefined (required). */
  readonly absent: Value | undefined;
  readonly position: number;
}

export interface IndexSchema {
  readonly name: string;
  readonly fields: readonly FieldSchema[];
  readonly unique: boolean;
  readonly position: number;
}

/**
 * How a table's primary key is held: `number` for one int32/uint32/float64/timestamp field (compared
 * as numbers, no encoding), `string` for one string field (the string itself), `encoded` otherwise
 * (the order-preserving encoding of keys.ts).
 */
export type KeyKind = 'number' | 'string' | 'encoded';

export interface TableSchema {
  readonly name: string;
  readonly position: number;
  readonly fields: readonly FieldSchema[];
  readonly fieldByName: ReadonlyMap<string, FieldSchema>;
  readonly primaryKey: readonly FieldSchema[];
  readonly keyKind: KeyKind;
  readonly indexes: readonly IndexSchema[];
  readonly indexByName: ReadonlyMap<string, IndexSchema>;
  /** A frozen row from canonical values in field order (trusted: the caller checked them). */
  readonly makeRow: (values: readonly Value[]) => Row;
  /** A checked row read from msgpack (its array `depth` deep in the value being read): rows.ts. */
  readonly readRow: (reader: MsgpackReader, depth: number) => Row;
}

export class Schema {
  readonly tables: readonly TableSchema[];
  readonly fingerprint: string;
  private readonly byName: ReadonlyMap<string, TableSchema>;

  /** Checks `def` (SchemaError naming table and field) and compiles it. */
  constructor(readonly def: SchemaDef) {
    this.tables = compileTables(def);
    this.byName = new Map(this.tables.map((table) => [table.name, table]));
    this.fingerprint = fingerprintOf(def);
  }

  /** The table named `name`, or NotFoundError. */
  table(name: string): TableSchema {
    const table = this.byName.get(name);
    if (table === undefined) throw new NotFoundError(name, 'table', name);
    return table;
  }

  hasTable(name: string): boolean {
    return this.byName.has(name);
  }
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(kind: string, name: unknown, table: string | undefined, field: string | undefined): string {
  if (typeof name !== 'string' || !namePattern.test(name) || name.length > storeNameCharsMax) {
    throw new SchemaError(table, field, `${kind} name ${JSON.stringify(name)} must match ${namePattern} and be at most ${storeNameCharsMax} characters`);
  }
  return name;
}

function compileTables(def: SchemaDef): TableSchema[] {
  if (typeof def !== 'object' || def === null || !Array.isArray(def.tables)) throw new SchemaError(undefined, undefined, 'expected { tables: [...] }');
  if (def.tables.length === 0) throw new SchemaError(undefined, undefined, 'a schema needs at least one table');
  if (def.tables.length > storeTablesMax) throw new SchemaError(undefined, undefined, `more than ${storeTablesMax} tables (storeTablesMax)`);
  const seen = new Set<string>();
  return def.tables.map((tableDef, position) => {
    const name = checkName('table', tableDef?.name, undefined, undefined);
    if (seen.has(name)) throw new SchemaError(name, undefined, 'declared twice');
    seen.add(name);
    return compileTable(tableDef, position);
  });
}

function compileTable(def: TableDef, position: number): TableSchema {
  const table = def.name;
  if (!Array.isArray(def.fields) || def.fields.length === 0) throw new SchemaError(table, undefined, 'needs at least one field');
  if (def.fields.length > storeFieldsPerTableMax) throw new SchemaError(table, undefined, `more than ${storeFieldsPerTableMax} fields (storeFieldsPerTableMax)`);
  const fields = def.fields.map((fieldDef, index) => compileField(table, fieldDef, index));
  const fieldByName = new Map<string, FieldSchema>();
  for (const field of fields) {
    if (fieldByName.has(field.name)) throw new SchemaError(table, field.name, 'declared twice');
    fieldByName.set(field.name, field);
  }
  const primaryKey = keyFields(table, 'primary key', def.primaryKey, fieldByName);
  for (const field of primaryKey) {
    if (field.absent !== undefined) throw new SchemaError(table, field.name, 'a primary key field may not be optional or have a default');
  }
  const indexDefs = def.indexes ?? [];
  if (!Array.isArray(indexDefs)) throw new SchemaError(table, undefined, 'indexes must be an array');
  if (indexDefs.length > storeIndexesPerTableMax) throw new SchemaError(table, undefined, `more than ${storeIndexesPerTableMax} indexes (storeIndexesPerTableMax)`);
  const indexByName = new Map<string, IndexSchema>();
  const indexes = indexDefs.map((indexDef, index): IndexSchema => {
    const name = checkName('index', indexDef?.name, table, undefined);
    if (indexByName.has(name) || name === 'primary') throw new SchemaError(table, undefined, `index ${name} declared twice (or named "primary")`);
    const compiled = { name, fields: keyFields(table, `index ${name}`, indexDef.fields, fieldByName), unique: indexDef.unique === true, position: index };
    indexByName.set(name, compiled);
    return compiled;
  });
  const single = primaryKey.length === 1 ? primaryKey[0] : undefined;
  const keyKind: KeyKind =
    single === undefined ? 'encoded'
    : single.scalar === 'string' ? 'string'
    : single.scalar === 'int32' || single.scalar === 'uint32' || single.scalar === 'float64' || single.scalar === 'timestamp' ? 'number'
    : 'encoded';
  return { name: table, position, fields, fieldByName, primaryKey, keyKind, indexes, indexByName, makeRow: rowMaker(fields.map((field) => field.name)), readRow: rowReader(table, fields) };
}

function compileField(table: string, def: FieldDef, position: number): FieldSchema {
  const name = checkName('field', def?.name, table, undefined);
  const type = parseFieldType(def.type);
  if (type === undefined) throw new SchemaError(table, name, `unknown type ${JSON.stringify(def.type)}`);
  let absent: Value | undefined = def.optional === true ? null : undefined;
  if (def.default !== undefined && def.default !== null) {
    const value = canonicalValue(type, def.default, false);
    if (value instanceof Refusal) throw new SchemaError(table, name, `default does not fit ${def.type}: ${value.reason}`);
    absent = value;
  }
  return { name, type: def.type, scalar: type.scalar, isArray: type.isArray, nullable: def.optional === true, absent, position };
}

function keyFields(table: string, what: string, names: unknown, fields: ReadonlyMap<string, FieldSchema>): FieldSchema[] {
  if (!Array.isArray(names) || names.length === 0) throw new SchemaError(table, undefined, `${what} needs at least one field`);
  if (names.length > storeKeyFieldsMax) throw new SchemaError(table, undefined, `${what} has more than ${storeKeyFieldsMax} fields (storeKeyFieldsMax)`);
  const seen = new Set<string>();
  return names.map((name: unknown) => {
    const field = typeof name === 'string' ? fields.get(name) : undefined;
    if (field === undefined) throw new SchemaError(table, String(name), `${what} names an unknown field`);
    if (seen.has(field.name)) throw new SchemaError(table, field.name, `${what} names the field twice`);
    if (field.isArray) throw new SchemaError(table, field.name, `${what} may not use an array field`);
    seen.add(field.name);
    return field;
  });
}

/** SHA-256 (first 16 hex digits) of the definition's canonical msgpack: equal definitions, equal prints. */
function fingerprintOf(def: SchemaDef): string {
  const canonical = def.tables.map((table) => [
    table.name,
    table.fields.map((field) => [field.name, field.type, field.optional === true, field.default ?? null]),
    table.primaryKey,
    (table.indexes ?? []).map((index) => [index.name, index.fields, index.unique === true]),
  ]);
  return sha256Hex([encodeMsgpack(canonical)]).slice(0, 16);
}

/** A deep copy of a definition as plain data (for images and logs that carry their schema). */
export function plainSchemaDef(def: SchemaDef): SchemaDef {
  return {
    tables: def.tables.map((table) => ({
      name: table.name,
      fields: table.fields.map((field) => ({
        name: field.name,
        type: field.type,
        ...(field.optional === true ? { optional: true } : {}),
        ...(field.default !== undefined && field.default !== null ? { default: field.default } : {}),
      })),
      primaryKey: [...table.primaryKey],
      indexes: (table.indexes ?? []).map((index) => ({ name: index.name, fields: [...index.fields], unique: index.unique === true })),
    })),
  };
}
