/**
 * Read transactions: get by key, find by index, ordered scans (both directions, with a limit), count —
 * over one consistent state. A `read` body runs synchronously on the live tables (nothing can change
 * them while it runs); a view reads cloned trees and stays consistent across awaits.
 *
 * Invariants: a reader never mutates what it reads; every row it returns is the store's frozen row.
 */
import { invalidArgument } from '../runtime/errors.js';
import { NotFoundError } from './errors.js';
import type { Key, KeyRange } from './keys.js';
import { indexRange, keyFromValues, keyValues, primaryRange } from './keys.js';
import type { IndexSchema, Schema, TableSchema } from './schema.js';
import type { TableData } from './table.js';
import type { Row, Scalar } from './values.js';

export interface ScanOptions {
  /** A secondary index to scan in its order; the primary key when left out. */
  readonly index?: string;
  /** Lowest key: one value, or an array of the first key fields' values (a prefix). */
  readonly lower?: unknown;
  readonly lowerExclusive?: boolean;
  /** Highest key, as `lower`. An inclusive prefix includes every key that starts with it. */
  readonly upper?: unknown;
  readonly upperExclusive?: boolean;
  /** Highest key first. */
  readonly reverse?: boolean;
  /** At most this many rows. */
  readonly limit?: number;
}

export interface ReadTx {
  /** The store version this transaction sees. */
  readonly version: number;
  get(table: string, key: unknown): Row | undefined;
  /** Rows whose index fields equal `values` (a value, or an array: all index fields or a prefix), in index order. */
  find(table: string, index: string, values: unknown): Row[];
  scan(table: string, options?: ScanOptions): Row[];
  /** Visits the rows of a scan without collecting them; `visit` returns false to stop. Returns the count visited. */
  each(table: string, options: ScanOptions | undefined, visit: (row: Row) => boolean | void): number;
  count(table: string, options?: ScanOptions): number;
}

/** What a reader reads: a schema, a version and one TableData per table (live or views). */
export interface ReadSource {
  readonly schema: Schema;
  readonly version: number;
  readonly tables: readonly TableData[];
}

/** A scan, resolved against the table: which tree, which range, which direction, how many. */
export interface ScanPlan {
  readonly index: IndexSchema | undefined;
  readonly range: KeyRange;
  readonly reverse: boolean;
  readonly limit: number;
  readonly lower: readonly Scalar[] | null;
  readonly lowerExclusive: boolean;
  readonly upper: readonly Scalar[] | null;
  readonly upperExclusive: boolean;
  readonly ranged: boolean;
}

export class Reader implements ReadTx {
  constructor(protected readonly source: ReadSource) {}

  get version(): number {
    return this.source.version;
  }

  protected tableData(name: string): TableData {
    return this.source.tables[this.source.schema.table(name).position] as TableData;
  }

  /** The primary key for user input, with a fast path for the common single number or string key. */
  protected keyOf(table: TableSchema, input: unknown): Key {
    // An int32 key 1.5 names no row, so a miss is the right answer without the full check.
    if (table.keyKind === 'number' && typeof input === 'number' && Number.isFinite(input)) return input + 0;
    if (table.keyKind === 'string' && typeof input === 'string') return input;
    return keyFromValues(table, keyValues(table.name, table.primaryKey, input, false));
  }

  get(table: string, key: unknown): Row | undefined {
    const data = this.tableData(table);
    return data.get(this.keyOf(data.schema, key));
  }

  find(table: string, index: string, values: unknown): Row[] {
    return this.scan(table, { index, lower: values, upper: values });
  }

  scan(table: string, options?: ScanOptions): Row[] {
    const rows: Row[] = [];
    this.each(table, options, (row) => {
      rows.push(row);
    });
    return rows;
  }

  each(table: string, options: ScanOptions | undefined, visit: (row: Row) => boolean | void): number {
    const data = this.tableData(table);
    return this.visitPlan(data, planScan(data.schema, options), visit);
  }

  count(table: string, options?: ScanOptions): number {
    const data = this.tableData(table);
    const plan = planScan(data.schema, options);
    if (!plan.ranged && plan.limit === Number.POSITIVE_INFINITY) return data.size;
    return this.visitPlan(data, plan, () => true);
  }

  protected visitPlan(data: TableData, plan: ScanPlan, visit: (row: Row) => boolean | void): number {
    let count = 0;
    if (plan.limit === 0) return 0;
    const onRow = (_key: Key, row: Row): boolean => {
      count++;
      return visit(row) !== false && count < plan.limit;
    };
    if (plan.index === undefined) data.visit(plan.range, plan.reverse, onRow);
    else data.visitIndex(plan.index, plan.range, plan.reverse, onRow);
    return count;
  }
}

/** Checks scan options once (the public boundary) and resolves them to a plan. */
export function planScan(table: TableSchema, options: ScanOptions | undefined): ScanPlan {
  const opts = options ?? {};
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  if (limit !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw invalidArgument('scan', `limit must be a non-negative integer, got ${String(limit)}`);
  }
  let index: IndexSchema | undefined;
  if (opts.index !== undefined && opts.index !== 'primary') {
    index = table.indexByName.get(opts.index);
    if (index === undefined) throw new NotFoundError(table.name, 'index', opts.index);
  }
  const fields = index === undefined ? table.primaryKey : index.fields;
  const lower = opts.lower === undefined ? null : keyValues(table.name, fields, opts.lower, true, false, index !== undefined);
  const upper = opts.upper === undefined ? null : keyValues(table.name, fields, opts.upper, true, false, index !== undefined);
  const lowerExclusive = opts.lowerExclusive === true;
  const upperExclusive = opts.upperExclusive === true;
  const range = index === undefined
    ? primaryRange(table, lower, lowerExclusive, upper, upperExclusive)
    : indexRange(index, lower, lowerExclusive, upper, upperExclusive);
  return { index, range, reverse: opts.reverse === true, limit, lower, lowerExclusive, upper, upperExclusive, ranged: lower !== null || upper !== null };
}
