/**
 * Field types and values: what a value of each type may be, and its one canonical form.
 *
 * Invariants: a canonical value is what the store keeps and what msgpack round-trips exactly —
 * -0 becomes 0 (msgpack writes -0 as the integer 0), bytes are an owned copy, arrays are frozen copies,
 * absent optional values are `null`. Two replicas given equal inputs therefore hold equal bytes.
 */
import { storeArrayItemsMax, storeValueUnitsMax } from '../limits.js';

export const scalarTypes = ['bool', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'timestamp'] as const;
export type ScalarType = (typeof scalarTypes)[number];
/** A scalar type, or an array of one (`'int32[]'`). */
export type FieldType = ScalarType | `${ScalarType}[]`;

/** bool: boolean; int32/uint32/float64: number; int64: bigint; string; bytes: Uint8Array; timestamp: integer ms since the epoch. */
export type Scalar = boolean | number | bigint | string | Uint8Array;
export type Value = Scalar | readonly Scalar[] | null;
export interface Row {
  readonly [field: string]: Value;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Why a value is refused. The caller adds table and field when it turns this into a ValidationError. */
export class Refusal {
  constructor(readonly reason: string) {}
}

/**
 * The canonical form of `value` for `type`, or a Refusal. Strict: this is the public boundary, so an
 * int64 must be a bigint and a timestamp a safe integer; nothing is coerced.
 */
export function canonicalScalar(type: ScalarType, value: unknown): Scalar | Refusal {
  switch (type) {
    case 'bool':
      return typeof value === 'boolean' ? value : refusal(`expected a boolean`, value);
    case 'int32':
      return Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff
        ? (value as number) + 0 // -0 becomes 0
        : refusal('expected an integer in [-2^31, 2^31)', value);
    case 'uint32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff
        ? (value as number) + 0
        : refusal('expected an integer in [0, 2^32)', value);
    case 'int64':
      return typeof value === 'bigint' && value >= int64Min && value <= int64Max ? value : refusal('expected a bigint in [-2^63, 2^63)', value);
    case 'float64':
      return typeof value === 'number' ? value + 0 : refusal('expected a number', value);
    case 'timestamp':
      return Number.isSafeInteger(value) ? (value as number) + 0 : refusal('expected a safe integer (ms since the epoch)', value);
    case 'string':
      if (typeof value !== 'string') return refusal('expected a string', value);
      if (value.length > storeValueUnitsMax) return new Refusal(`string longer than ${storeValueUnitsMax} code units (storeValueUnitsMax)`);
      return isWellFormed(value) ? value : new Refusal('string holds a lone surrogate (not encodable as UTF-8)');
    case 'bytes':
      if (!(value instanceof Uint8Array)) return refusal('expected a Uint8Array', value);
      if (value.length > storeValueUnitsMax) return new Refusal(`bytes longer than ${storeValueUnitsMax} (storeValueUnitsMax)`);
      return new Uint8Array(value); // an owned copy: the caller may reuse its buffer
  }
}

/** Same as canonicalScalar for data decoded from msgpack, where integer widths are not kept. */
export function wireScalar(type: ScalarType, value: unknown): Scalar | Refusal {
  if (type === 'int64' && typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (type !== 'int64' && typeof value === 'bigint' && type !== 'bool' && type !== 'string' && type !== 'bytes') {
    const number = Number(value);
    if (BigInt(number) === value) return canonicalScalar(type, number);
  }
  return canonicalScalar(type, value);
}

export interface ValueType {
  readonly scalar: ScalarType;
  readonly isArray: boolean;
}

export function parseFieldType(type: unknown): ValueType | undefined {
  if (typeof type !== 'string') return undefined;
  const isArray = type.endsWith('[]');
  const scalar = isArray ? type.slice(0, -2) : type;
  return (scalarTypes as readonly string[]).includes(scalar) ? { scalar: scalar as ScalarType, isArray } : undefined;
}

/** The canonical form of a non-null value of `type`, or a Refusal. */
export function canonicalValue(type: ValueType, value: unknown, wire: boolean): Scalar | readonly Scalar[] | Refusal {
  const scalar = wire ? wireScalar : canonicalScalar;
  if (!type.isArray) return scalar(type.scalar, value);
  if (!Array.isArray(value)) return refusal(`expected an array of ${type.scalar}`, value);
  if (value.length > storeArrayItemsMax) return new Refusal(`array longer than ${storeArrayItemsMax} (storeArrayItemsMax)`);
  const out: Scalar[] = new Array<Scalar>(value.length);
  for (let i = 0; i < value.length; i++) {
    const item = scalar(type.scalar, value[i]);
    if (item instanceof Refusal) return new Refusal(`item ${i}: ${item.reason}`);
    out[i] = item;
  }
  return Object.freeze(out);
}

/** String.prototype.isWellFormed is ES2024 (Node 20 has it; the project's lib is ES2023). */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

function refusal(expected: string, value: unknown): Refusal {
  return new Refusal(`${expected}, got ${typeName(value)}`);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  if (typeof value === 'number' && !Number.isInteger(value)) return 'a fractional number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Equality of canonical values (bytes and arrays by content). */
export function valuesEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((byte, i) => byte === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => valuesEqual(item as Value, b[i] as Value));
  return false;
}
