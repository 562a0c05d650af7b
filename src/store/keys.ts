/**
 * Keys: the primary key and index keys of rows, in a form that JavaScript compares in the right order.
 *
 * A table's primary key is a number (one numeric field), the string itself (one string field) or an
 * order-preserving encoding (anything else). Index keys are always encoded: index fields, then the
 * primary key, so that every index entry is unique and a prefix of fields selects a contiguous range.
 *
 * Encoding (one component per field, concatenated): numbers as 4 or 8 big-endian bytes with the sign
 * flipped (floats: all bits flipped when negative); strings with \0 → \0\x01, \ufffe → \ufffe\x00,
 * \uffff → \ufffe\x01, then \0\0; bytes likewise over byte values; a nullable field is prefixed with
 * \x00 (null) or \x01. Invariants: encode is injective and monotonic, no component is a prefix of a
 * different one, and `\uffff` never occurs, so `P + '\uffff'` bounds every key that starts with P.
 */
import { assert } from '../runtime/assert.js';
import { ValidationError } from './errors.js';
import type { FieldSchema, IndexSchema, KeyKind, TableSchema } from './schema.js';
import type { Row, Scalar, Value } from './values.js';
import { canonicalScalar, Refusal, wireScalar } from './values.js';

export type Key = number | string;

export const keyUpper = '\uffff';

/** Total order of numeric keys (NaN never is one). Not `a - b`: Infinity - Infinity is NaN, which broke the tree. */
export function compareNumbers(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
export function comparatorFor(kind: KeyKind): (a: Key, b: Key) => number {
  return (kind === 'number' ? compareNumbers : compareStrings) as (a: Key, b: Key) => number;
}

const view = new DataView(new ArrayBuffer(8));
const sign64 = 1n << 63n;

function bytesToChars(count: number, flipAll: boolean, flipSign: boolean): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    let byte = view.getUint8(i);
    if (flipAll) byte ^= 0xff;
    else if (i === 0 && flipSign) byte ^= 0x80;
    out += String.fromCharCode(byte);
  }
  return out;
}

const escapes = /[\0\ufffe\uffff]/;
function escapeText(text: string): string {
  if (!escapes.test(text)) return `${text}\0\0`;
  return `${text.replace(/[\0\ufffe\uffff]/g, (ch) => (ch === '\0' ? '\0\x01' : ch === '\ufffe' ? '\ufffe\x00' : '\ufffe\x01'))}\0\0`;
}

function encodeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte === 0 ? '\0\x01' : String.fromCharCode(byte);
  return `${out}\0\0`;
}

/** One field's component. `value` is canonical and non-null; NaN is refused before it gets here. */
export function encodeScalar(field: FieldSchema, value: Scalar): string {
  switch (field.scalar) {
    case 'bool':
      return value ? '\x01' : '\x00';
    case 'int32':
      view.setUint32(0, ((value as number) + 0x80000000) >>> 0);
      return bytesToChars(4, false, false);
    case 'uint32':
      view.setUint32(0, value as number);
      return bytesToChars(4, false, false);
    case 'int64':
      view.setBigUint64(0, BigInt.asUintN(64, value as bigint) ^ sign64);
      return bytesToChars(8, false, false);
    case 'float64':
    case 'timestamp':
      view.setFloat64(0, value as number);
      return bytesToChars(8, (view.getUint8(0) & 0x80) !== 0, true);
    case 'string':
      return escapeText(value as string);
    case 'bytes':
      return encodeBytes(value as Uint8Array);
  }
}

function encodeComponent(field: FieldSchema, value: Value): string {
  if (!field.nullable) return encodeScalar(field, value as Scalar);
  return value === null ? '\x00' : `\x01${encodeScalar(field, value as Scalar)}`;
}

/** The primary key of a canonical row. */
export function primaryKeyOf(table: TableSchema, row: Row): Key {
  const fields = table.primaryKey;
  if (table.keyKind !== 'encoded') return row[(fields[0] as FieldSchema).name] as number | string;
  let out = '';
  for (const field of fields) out += encodeComponent(field, row[field.name] as Value);
  return out;
}

/** The primary key from canonical key values (one per key field, or a prefix of them for bounds). */
export function keyFromValues(table: TableSchema, values: readonly Scalar[]): Key {
  if (table.keyKind !== 'encoded') return values[0] as number | string;
  return encodeFields(table.primaryKey, values);
}

export function encodeFields(fields: readonly FieldSchema[], values: readonly (Scalar | null)[]): string {
  let out = '';
  for (let i = 0; i < values.length; i++) out += encodeComponent(fields[i] as FieldSchema, values[i] as Value);
  return out;
}

/** The primary key in encoded form, for index entries and namespaced maps. */
export function encodedKey(table: TableSchema, key: Key): string {
  if (table.keyKind === 'encoded') return key as string;
  return encodeScalar(table.primaryKey[0] as FieldSchema, key);
}

/** Index entry key: index fields, then the row's encoded primary key. */
export function indexKeyOf(index: IndexSchema, row: Row, encodedPrimary: string): string {
  let out = '';
  for (const field of index.fields) out += encodeComponent(field, row[field.name] as Value);
  return out + encodedPrimary;
}

/** The index fields' part of an index entry key (equal for rows with equal indexed values). */
export function indexValuePrefix(index: IndexSchema, row: Row): string {
  let out = '';
  for (const field of index.fields) out += encodeComponent(field, row[field.name] as Value);
  return out;
}

/**
 * Canonical key values from user input: one scalar (single-field key) or an array of up to `fields.length`
 * values (`prefix` allows fewer, for range bounds). Throws ValidationError naming table and field.
 * NaN is refused in a primary key (it equals nothing); a secondary index holds NaN like any float64 (its
 * encoding orders it), so its bounds may name it (`index`): a scan cut short records the last row's
 * indexed values as its bound, and every node must take that bound back.
 */
export function keyValues(table: string, fields: readonly FieldSchema[], input: unknown, prefix: boolean, wire = false, index = false): Scalar[] {
  const values = Array.isArray(input) ? input : [input];
  if (values.length > fields.length || values.length === 0 || (!prefix && values.length !== fields.length)) {
    throw new ValidationError(table, undefined, input, `expected ${prefix ? 'up to ' : ''}${fields.length} key value(s)`);
  }
  return values.map((value: unknown, i) => {
    const field = fields[i] as FieldSchema;
    if (value === null && field.nullable) return null as unknown as Scalar;
    const canonical = (wire ? wireScalar : canonicalScalar)(field.scalar, value);
    if (canonical instanceof Refusal) throw new ValidationError(table, field.name, value, canonical.reason);
    if (!index && typeof canonical === 'number' && Number.isNaN(canonical)) throw new ValidationError(table, field.name, value, 'NaN may not be a key');
    return canonical;
  });
}

/**
 * Whether a key from keyOf's fast path (one number or string) is one the key field can hold: 1.5 or 2^31
 * for an int32 key, a lone surrogate for a string key, names no row. A write transaction must not record
 * such a read: the other nodes check the reads they are sent, and would refuse the write it applied.
 */
export function keyInDomain(table: TableSchema, key: Key): boolean {
  return table.keyKind === 'encoded' || !(canonicalScalar((table.primaryKey[0] as FieldSchema).scalar, key) instanceof Refusal);
}

/** Key values back from a primary key (inverse of keyFromValues for full keys). */
export function decodeKey(table: TableSchema, key: Key): Scalar[] {
  if (table.keyKind !== 'encoded') return [key];
  const values: Scalar[] = [];
  let at = 0;
  for (const field of table.primaryKey) {
    assert(!field.nullable, 'primary key fields are never nullable');
    const [value, next] = decodeScalar(field, key as string, at);
    values.push(value);
    at = next;
  }
  assert(at === (key as string).length, `key of ${table.name} has trailing characters`);
  return values;
}

function readBytes(text: string, at: number, count: number): void {
  for (let i = 0; i < count; i++) view.setUint8(i, text.charCodeAt(at + i));
}

function decodeScalar(field: FieldSchema, text: string, at: number): [Scalar, number] {
  switch (field.scalar) {
    case 'bool':
      return [text.charCodeAt(at) === 1, at + 1];
    case 'int32':
      readBytes(text, at, 4);
      return [(view.getUint32(0) - 0x80000000) | 0, at + 4];
    case 'uint32':
      readBytes(text, at, 4);
      return [view.getUint32(0), at + 4];
    case 'int64':
      readBytes(text, at, 8);
      return [BigInt.asIntN(64, view.getBigUint64(0) ^ sign64), at + 8];
    case 'float64':
    case 'timestamp': {
      readBytes(text, at, 8);
      const negative = (view.getUint8(0) & 0x80) === 0;
      for (let i = 0; i < 8; i++) view.setUint8(i, negative ? view.getUint8(i) ^ 0xff : i === 0 ? view.getUint8(0) ^ 0x80 : view.getUint8(i));
      return [view.getFloat64(0) + 0, at + 8];
    }
    case 'string':
    case 'bytes':
      return decodeTerminated(field.scalar, text, at);
  }
}

function decodeTerminated(kind: 'string' | 'bytes', text: string, at: number): [Scalar, number] {
  const units: number[] = [];
  let i = at;
  for (;;) {
    const unit = text.charCodeAt(i);
    assert(!Number.isNaN(unit), 'unterminated key component');
    const next = text.charCodeAt(i + 1);
    if (unit === 0 && next === 0) break;
    if (unit === 0) units.push(0);
    else if (unit === 0xfffe) units.push(next === 0 ? 0xfffe : 0xffff);
    else {
      units.push(unit);
      i += 1;
      continue;
    }
    i += 2;
  }
  if (kind === 'bytes') return [Uint8Array.from(units), i + 2];
  let text2 = '';
  for (let j = 0; j < units.length; j += 8192) text2 += String.fromCharCode(...units.slice(j, j + 8192));
  return [text2, i + 2];
}

/** A range over one ordered structure, in its key space. Undefined ends are open. */
export interface KeyRange {
  readonly low: Key | undefined;
  readonly lowInclusive: boolean;
  readonly high: Key | undefined;
  readonly highInclusive: boolean;
}

/**
 * The key range for bounds given as value prefixes. A prefix bound P includes (or excludes) every key
 * that starts with P: inclusive lower P, exclusive lower P+\uffff, inclusive upper P+\uffff (exclusive),
 * exclusive upper P.
 */
export function prefixRange(
  lower: string | undefined, lowerExclusive: boolean, upper: string | undefined, upperExclusive: boolean,
): KeyRange {
  return {
    low: lower === undefined ? undefined : lowerExclusive ? lower + keyUpper : lower,
    lowInclusive: true,
    high: upper === undefined ? undefined : upperExclusive ? upper : upper + keyUpper,
    highInclusive: false,
  };
}

export function inRange(key: Key, range: KeyRange, compare: (a: Key, b: Key) => number): boolean {
  if (range.low !== undefined) {
    const c = compare(key, range.low);
    if (c < 0 || (c === 0 && !range.lowInclusive)) return false;
  }
  if (range.high !== undefined) {
    const c = compare(key, range.high);
    if (c > 0 || (c === 0 && !range.highInclusive)) return false;
  }
  return true;
}

/** The primary-key range for bounds given as key values (a prefix of the key fields for composite keys). */
export function primaryRange(
  table: TableSchema, lower: readonly Scalar[] | null, lowerExclusive: boolean, upper: readonly Scalar[] | null, upperExclusive: boolean,
): KeyRange {
  if (table.keyKind !== 'encoded') {
    return {
      low: lower === null ? undefined : (lower[0] as Key), lowInclusive: !lowerExclusive,
      high: upper === null ? undefined : (upper[0] as Key), highInclusive: !upperExclusive,
    };
  }
  return prefixRange(
    lower === null ? undefined : encodeFields(table.primaryKey, lower), lowerExclusive,
    upper === null ? undefined : encodeFields(table.primaryKey, upper), upperExclusive,
  );
}

export function indexRange(
  index: IndexSchema, lower: readonly Scalar[] | null, lowerExclusive: boolean, upper: readonly Scalar[] | null, upperExclusive: boolean,
): KeyRange {
  return prefixRange(
    lower === null ? undefined : encodeFields(index.fields, lower), lowerExclusive,
    upper === null ? undefined : encodeFields(index.fields, upper), upperExclusive,
  );
}
