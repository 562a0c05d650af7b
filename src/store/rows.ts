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

function checkField(tableName: string, field: FieldSchema, input: unknown, wire: boolean): Value {
  if (input === undefined || input === null) {
    if (input === null && field.nullable) return null;
    if (input === undefined && field.absent !== undefined) return field.absent;
    throw new ValidationError(tableName, field.name, input, field.nullable || field.absent !== undefined ? 'may not be null' : 'is required');
  }
  const value = canonicalValue(field, input, wire);
  if (value instanceof Refusal) throw new ValidationError(tableName, field.name, input, value.reason);
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
    values[i] = given === undefined && base !== undefined ? (base[field.name] as Value) : checkField(table.name, field, given, false);
  }
  for (const key of table.primaryKey) refuseNaNKey(table, key, values[key.position] as Value);
  return table.makeRow(values);
}

/**
 * A float64 key field may hold any number but NaN: NaN equals nothing, so it cannot be found, ordered or
 * replaced (keyValues refuses it in lookups). Refused with the other checks, before a change-set is made.
 */
function refuseNaNKey(table: TableSchema, field: FieldSchema, value: Value): void {
  if (typeof value === 'number' && Number.isNaN(value)) throw new ValidationError(table.name, field.name, value, 'NaN may not be a key');
}

/** A row from its wire form (values in this table's field order), checked like user input. */
export function rowFromArray(table: TableSchema, values: readonly unknown[]): Row {
  if (!Array.isArray(values) || values.length !== table.fields.length) {
    throw new ValidationError(table.name, undefined, values, `a wire row must be an array of ${table.fields.length} values`);
  }
  const fields = table.fields;
  const checked = new Array<Value>(fields.length);
  for (let i = 0; i < fields.length; i++) checked[i] = checkField(table.name, fields[i] as FieldSchema, values[i], true);
  for (const key of table.primaryKey) refuseNaNKey(table, key, checked[key.position] as Value);
  return table.makeRow(checked);
}

/**
 * A row read straight from msgpack (an array in this table's field order, `depth` deep), checked like
 * rowFromArray, without materialising the array first: a snapshot load reads a million rows this way.
 */
export function rowFromReader(table: TableSchema, reader: MsgpackReader, depth: number): Row {
  const row = table.readRow(reader, depth);
  for (const key of table.primaryKey) refuseNaNKey(table, key, row[key.name] as Value);
  return row;
}

/** Reads one field's value from msgpack (the value sits `depth` deep) and checks it. */
type FieldReader = (reader: MsgpackReader, depth: number) => Value;

/**
 * Fast paths for the common encodings of strings and numbers, checked here exactly as canonicalScalar
 * would (a decoded string is always well-formed UTF-16: Buffer decoding replaces bad sequences);
 * anything else takes the general path, decode then check. Saves the generic decode and type switch.
 */
function fieldReader(tableName: string, field: FieldSchema): FieldReader {
  const general: FieldReader = (reader, depth) => checkField(tableName, field, reader.value(depth), true);
  if (field.isArray) return general;
  switch (field.scalar) {
    case 'string':
      return (reader, depth) => reader.stringOrUndefined(storeValueUnitsMax) ?? general(reader, depth);
    case 'float64':
      return (reader, depth) => {
        const number = reader.numberOrUndefined();
        return number === undefined ? general(reader, depth) : number + 0; // -0 becomes 0
      };
    case 'timestamp': case 'uint32': case 'int32': {
      const min = field.scalar === 'uint32' ? 0 : field.scalar === 'int32' ? -0x80000000 : Number.MIN_SAFE_INTEGER;
      const max = field.scalar === 'uint32' ? 0xffffffff : field.scalar === 'int32' ? 0x7fffffff : Number.MAX_SAFE_INTEGER;
      return (reader, depth) => {
        const number = reader.numberOrUndefined();
        if (number === undefined) return general(reader, depth);
        return Number.isSafeInteger(number) && number >= min && number <= max ? number + 0 : checkField(tableName, field, number, true);
      };
    }
    default:
      return general;
  }
}

/** A property name in generated code: quoted, and `__proto__` computed so that it stays an own field. */
const propertyName = (name: string): string => (name === '__proto__' ? '["__proto__"]' : JSON.stringify(name));

/**
 * Rows of one table come from one object literal, generated from the field names, so V8 sizes them
 * exactly (all fields in-object, one hidden class: 32 bytes less per row than building `{}` field by
 * field) and, the literal being an allocation site, can allocate a table's rows straight in the old
 * generation while a snapshot loads or a log replays (measured: a million rows built 20-25% faster than
 * through a constructor, with 40% fewer scavenges; rows are long-lived, so copying them out of the young
 * generation is pure cost). V8 decides that late and not always (only from allocations made before the
 * code is optimized, and with the young generation at its largest): a cold 1M-row snapshot load still
 * promoted ~200 MB out of it, rows and their strings. The prototype is Object.prototype, so rows are
 * plain objects. Names are safe to generate code from: they matched the schema's name pattern and are
 * quoted.
 */
export function rowMaker(names: readonly string[]): (values: readonly Value[]) => Row {
  const fields = names.map((name, i) => `${propertyName(name)}: values[${i}]`);
  return new Function('values', `return Object.freeze({ ${fields.join(', ')} });`) as (values: readonly Value[]) => Row;
}

/**
 * The table's row reader, generated like rowMaker: each field is read by its own field reader into a
 * local, and the row literal is built from the locals. No array of values in between, so numbers stay
 * unboxed until they land in the row (measured: a cold 1M-row snapshot load used ~8% less CPU).
 */
export function rowReader(tableName: string, fields: readonly FieldSchema[]): (reader: MsgpackReader, depth: number) => Row {
  const count = fields.length;
  const wrongLength = (length: number): never => {
    throw new ValidationError(tableName, undefined, length, `a wire row must be an array of ${count} values`);
  };
  const readers = fields.map((field) => fieldReader(tableName, field));
  const params = readers.map((_, i) => `read${i}`);
  const body = [
    'return function readRow(reader, depth) {',
    '  const length = reader.arrayHeader();',
    `  if (length !== ${count}) wrongLength(length);`,
    '  const inner = depth + 1;',
    ...readers.map((_, i) => `  const v${i} = read${i}(reader, inner);`),
    `  return Object.freeze({ ${fields.map((field, i) => `${propertyName(field.name)}: v${i}`).join(', ')} });`,
    '};',
  ].join('\n');
  const make = new Function('wrongLength', ...params, body) as (...args: unknown[]) => (reader: MsgpackReader, depth: number) => Row;
  return make(wrongLength, ...readers);
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
