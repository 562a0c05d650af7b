/**
 * Rows: building the canonical, frozen row object from user input (an object by field name) or from
 * the wire (an array in some schema's field order), and back to the wire form.
 *
 * Invariants: every row of a table has every field of the table, in declared order (so all rows of a
 * table share one hidden class and encode identically), holds only canonical values, and is frozen.
 */
import { storeValueUnitsMax } from '../limits.js';
import { ValidationError } from './errors.js';
import type { MsgpackReader } from './msgpack-decode.js';
import type { FieldSchema, TableSchema } from './schema.js';
import type { Row, Value } from './values.js';
import { canonicalValue, Refusal } from './values.js';

function checkField(table: TableSchema, field: FieldSchema, input: unknown, wire: boolean): Value {
  if (input === undefined || input === null) {
    if (input === null && field.nullable) return null;
    if (input === undefined && field.absent !== undefined) return field.absent;
    throw new ValidationError(table.name, field.name, input, field.nullable || field.absent !== undefined ? 'may not be null' : 'is required');
  }
  const value = canonicalValue(field, input, wire);
  if (value instanceof Refusal) throw new ValidationError(table.name, field.name, input, value.reason);
  return value;
}

/**
 * A row from a user object. With `base` (update), fields the object leaves out keep base's values.
 * Throws ValidationError naming the table, the field and the value.
 */
export function rowFromInput(table: TableSchema, input: unknown, base?: Row): Row {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(table.name, undefined, input, 'a row must be an object');
  }
  const object = input as Record<string, unknown>;
  for (const name in object) {
    if (!table.fieldByName.has(name) && object[name] !== undefined) throw new ValidationError(table.name, name, object[name], 'no such field');
  }
  const fields = table.fields;
  const values = new Array<Value>(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i] as FieldSchema;
    const given = object[field.name];
    values[i] = given === undefined && base !== undefined ? (base[field.name] as Value) : checkField(table, field, given, false);
  }
  return table.makeRow(values);
}

/** A row from its wire form (values in this table's field order), checked like user input. */
export function rowFromArray(table: TableSchema, values: readonly unknown[]): Row {
  if (!Array.isArray(values) || values.length !== table.fields.length) {
    throw new ValidationError(table.name, undefined, values, `a wire row must be an array of ${table.fields.length} values`);
  }
  const fields = table.fields;
  const checked = new Array<Value>(fields.length);
  for (let i = 0; i < fields.length; i++) checked[i] = checkField(table, fields[i] as FieldSchema, values[i], true);
  return table.makeRow(checked);
}

/** Values of the row being read by rowFromReader (makeRow copies them out, so one array serves all). */
const wireValues: Value[] = [];

/**
 * A row read straight from msgpack (an array in this table's field order), checked like rowFromArray,
 * without materialising the array first: a snapshot load reads a million rows this way.
 */
export function rowFromReader(table: TableSchema, reader: MsgpackReader, depth: number): Row {
  const fields = table.fields;
  const length = reader.arrayHeader();
  if (length !== fields.length) throw new ValidationError(table.name, undefined, length, `a wire row must be an array of ${fields.length} values`);
  for (let i = 0; i < length; i++) {
    const field = fields[i] as FieldSchema;
    // Fast paths for the common encodings of strings and numbers, checked here exactly as canonicalScalar
    // would (a decoded string is always well-formed UTF-16: Buffer decoding replaces bad sequences);
    // anything else takes the general path. Saves the generic decode and type switch per value.
    let value: Value | undefined;
    if (!field.isArray) {
      if (field.scalar === 'string') value = reader.stringOrUndefined(storeValueUnitsMax);
      else if (field.scalar === 'float64') {
        const number = reader.numberOrUndefined();
        if (number !== undefined) value = number + 0; // -0 becomes 0
      }
      else if (field.scalar === 'timestamp' || field.scalar === 'uint32' || field.scalar === 'int32') {
        const number = reader.numberOrUndefined();
        if (number !== undefined) value = Number.isSafeInteger(number) && inIntegerRange(field.scalar, number) ? number + 0 : checkField(table, field, number, true);
      }
    }
    wireValues[i] = value === undefined ? checkField(table, field, reader.value(depth + 1), true) : value;
  }
  return table.makeRow(wireValues);
}

function inIntegerRange(scalar: string, n: number): boolean {
  return scalar === 'timestamp' || (scalar === 'uint32' ? n >= 0 && n <= 0xffffffff : n >= -0x80000000 && n <= 0x7fffffff);
}

/** The wire form of a canonical row: its values in field order. */
export function rowToArray(table: TableSchema, row: Row): Value[] {
  const fields = table.fields;
  const out = new Array<Value>(fields.length);
  for (let i = 0; i < fields.length; i++) out[i] = row[(fields[i] as FieldSchema).name] as Value;
  return out;
}

/** The primary key values of a canonical row. */
export function keyValuesOf(table: TableSchema, row: Row): Value[] {
  return table.primaryKey.map((field) => row[field.name] as Value);
}
