/**
 * Operating errors of the store: one class per stable `code`, each naming what it is about (table,
 * field, value, key, file, offset) as fields a caller can read, not only in the message.
 * Programmer errors (a closed transaction used, a change-set of the wrong shape) are asserts instead.
 */
import type { ChorusErrorCode } from '../runtime/errors.js';
import { ChorusError } from '../runtime/errors.js';

export class StoreError extends ChorusError {
  override readonly name: string = 'StoreError';
  constructor(
    code: ChorusErrorCode,
    message: string,
    readonly table: string | undefined,
    readonly field: string | undefined,
    readonly value: unknown,
  ) {
    super(code, message);
  }
}

/** The schema given when the store opens is malformed. */
export class SchemaError extends StoreError {
  override readonly name = 'SchemaError';
  constructor(table: string | undefined, field: string | undefined, problem: string) {
    super('SCHEMA', `bad schema: ${where(table, field)}${problem}`, table, field, undefined);
  }
}

/** A value does not fit its field (wrong type, out of range, missing, unknown field). */
export class ValidationError extends StoreError {
  override readonly name = 'ValidationError';
  constructor(table: string, field: string | undefined, value: unknown, problem: string) {
    super('VALIDATION', `${where(table, field)}${problem} (value ${describeValue(value)})`, table, field, value);
  }
}

/** A row would duplicate the primary key or a unique index of another row. */
export class UniqueError extends StoreError {
  override readonly name = 'UniqueError';
  constructor(
    table: string,
    readonly index: string,
    field: string,
    value: unknown,
  ) {
    super('UNIQUE', `${table}: ${index} already holds ${describeValue(value)} (field ${field})`, table, field, value);
  }
}

export type ConflictReason = 'read' | 'write' | 'range' | 'index-range' | 'snapshot-too-old' | 'snapshot-ahead';

/** Certification refused a change-set: something it read or wrote changed after its snapshot. */
export class ConflictError extends StoreError {
  override readonly name = 'ConflictError';
  constructor(
    table: string | undefined,
    readonly key: unknown,
    readonly reason: ConflictReason,
    readonly snapshot: number,
    readonly changedAt: number,
  ) {
    super(
      'CONFLICT',
      reason === 'snapshot-too-old' || reason === 'snapshot-ahead'
        ? `conflict: snapshot ${snapshot} is ${reason === 'snapshot-ahead' ? 'ahead of' : 'too old for'} store version ${changedAt}`
        : `conflict: ${table ?? '?'} key ${describeValue(key)} (${reason}) changed at version ${changedAt}, after snapshot ${snapshot}`,
      table,
      undefined,
      key,
    );
  }
}

/** No such row (update of a missing key), or no such table or index. */
export class NotFoundError extends StoreError {
  override readonly name = 'NotFoundError';
  constructor(table: string, what: string, key: unknown) {
    super('NOT_FOUND', `${table}: ${what} ${describeValue(key)} not found`, table, undefined, key);
  }
}

/** Data written with another schema cannot be converted to this one. */
export class IncompatibleSchemaError extends StoreError {
  override readonly name = 'IncompatibleSchemaError';
  constructor(table: string | undefined, field: string | undefined, problem: string) {
    super('INCOMPATIBLE_SCHEMA', `incompatible schema: ${where(table, field)}${problem}`, table, field, undefined);
  }
}

/** Bytes read back (snapshot image, log record, encoded change-set) are not what was written. */
export class CorruptError extends StoreError {
  override readonly name = 'CorruptError';
  constructor(
    readonly source: string,
    readonly offset: number,
    readonly what: string,
  ) {
    super('CORRUPT', `${source} at byte ${offset}: ${what}`, undefined, undefined, undefined);
  }
}

/** Evolution mode is on: the schema may not change at run time. */
export class EvolutionModeError extends StoreError {
  override readonly name = 'EvolutionModeError';
  constructor() {
    super('EVOLUTION_MODE', 'schema changes are refused while evolution mode is on', undefined, undefined, undefined);
  }
}

function where(table: string | undefined, field: string | undefined): string {
  if (table === undefined) return '';
  return field === undefined ? `table ${table}: ` : `table ${table}, field ${field}: `;
}

/** A short, unambiguous rendering of a value for messages (bigints with n, bytes by length). */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describeValue).join(', ')}${value.length > 8 ? ', …' : ''}]`;
  if (typeof value === 'object' && value !== null) return '<object>';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
