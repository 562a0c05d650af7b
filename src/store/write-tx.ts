/**
 * Write transactions: insert, update, upsert and delete into a private overlay over the live tables, so
 * that reads inside see their own writes and nothing is stored until the change-set is applied.
 *
 * Invariants: the overlay holds at most one entry per key (a row, or null for deleted); `uniqueOverlay`
 * maps every unique index value of every overlay row to its key; the first error poisons the
 * transaction (finish rethrows it), so a caught VALIDATION or UNIQUE error cannot be half-committed.
 */
import { storeTxReadsMax, storeTxWritesMax } from '../limits.js';
import { assert } from '../runtime/assert.js';
import type { ChangeSet, RangeRef, ReadRef, WriteRef } from './changeset.js';
import type { CertifyRequest, Touched } from './certify.js';
import { NotFoundError, UniqueError, ValidationError } from './errors.js';
import type { Key, KeyRange } from './keys.js';
import { comparatorFor, compareStrings, decodeKey, encodedKey, indexKeyOf, indexRange, indexValuePrefix, inRange, keyFromValues, keyInDomain, keyValues, primaryKeyOf, primaryRange } from './keys.js';
import type { ReadSource, ScanPlan } from './read-tx.js';
import { Reader, planScan } from './read-tx.js';
import type { ReadTx } from './read-tx.js';
import { keyValuesOf, rowFromInput, rowToArray } from './rows.js';
import type { IndexSchema, Schema, TableSchema } from './schema.js';
import type { TableData } from './table.js';
import type { Row, Scalar, Value } from './values.js';

export interface WriteTx extends ReadTx {
  /** Adds a row; UNIQUE when its primary key or a unique index value is taken. */
  insert(table: string, row: object): Row;
  /** Changes the row with the given object's key: fields left out keep their values. NOT_FOUND when absent. */
  update(table: string, row: object): Row;
  /** Inserts, or replaces the whole row with that key. */
  upsert(table: string, row: object): Row;
  /** Deletes the row with `key`; false when there was none. */
  delete(table: string, key: unknown): boolean;
}

export interface PreparedWrite {
  readonly table: TableSchema;
  readonly key: Key;
  readonly row: Row | null;
}

/** A change-set resolved against one schema: canonical rows and keys, ready to certify and apply. */
export interface Prepared extends CertifyRequest {
  readonly schema: Schema;
  readonly puts: readonly PreparedWrite[];
}

const noRanges: readonly never[] = Object.freeze([]);

export class Writer extends Reader implements WriteTx {
  private readonly overlays: (Map<Key, Row | null> | undefined)[] = [];
  // Created on first use: most transactions are a few writes to tables without unique indexes.
  private uniqueOverlayMap: Map<string, Key> | undefined;
  private readKeysMap: Map<string, Touched> | undefined;
  private readonly rangeReads: { ref: RangeRef; table: TableSchema; index: IndexSchema | undefined; range: KeyRange }[] = [];
  private writeCount = 0;
  private failure: unknown = undefined;
  private done = false;

  /**
   * `deferUnique`: leave unique-index checks to apply time (the cluster's `modeMask.earlyDataSend`);
   * apply checks them for every change-set anyway, so a violation still fails, only later. The primary
   * key of an insert is checked here either way: at apply an insert is a put, and would overwrite.
   */
  constructor(source: ReadSource, private readonly deferUnique = false) {
    super(source);
  }

  private get uniqueOverlay(): Map<string, Key> {
    return (this.uniqueOverlayMap ??= new Map());
  }

  private get readKeys(): Map<string, Touched> {
    return (this.readKeysMap ??= new Map());
  }

  private op<T>(body: () => T): T {
    assert(!this.done, 'a write transaction was used after its body returned');
    try {
      return body();
    } catch (error) {
      if (this.failure === undefined) this.failure = error;
      throw error;
    }
  }

  private current(data: TableData, key: Key): Row | undefined {
    const overlay = this.overlays[data.schema.position];
    if (overlay !== undefined && overlay.has(key)) return overlay.get(key) ?? undefined;
    return data.get(key);
  }

  private noteRead(table: TableSchema, key: Key): void {
    const name = `${table.position}:${key}`;
    if (this.readKeys.has(name)) return;
    if (this.readKeys.size + this.rangeReads.length >= storeTxReadsMax) {
      throw new ValidationError(table.name, undefined, undefined, `transaction read more than ${storeTxReadsMax} keys (storeTxReadsMax)`);
    }
    this.readKeys.set(name, { table, key });
  }

  override get(table: string, key: unknown): Row | undefined {
    return this.op(() => {
      const data = this.tableData(table);
      const k = this.keyOf(data.schema, key);
      if (!keyInDomain(data.schema, k)) return undefined; // names no row on any node: nothing to depend on
      const overlay = this.overlays[data.schema.position];
      if (overlay !== undefined && overlay.has(k)) return overlay.get(k) ?? undefined;
      this.noteRead(data.schema, k);
      return data.get(k);
    });
  }

  override each(table: string, options: Parameters<ReadTx['each']>[1], visit: (row: Row) => boolean | void): number {
    return this.op(() => super.each(table, options, visit));
  }

  override count(table: string, options?: Parameters<ReadTx['count']>[1]): number {
    return this.op(() => {
      const data = this.tableData(table);
      const plan = planScan(data.schema, options);
      if (plan.ranged || plan.limit !== Number.POSITIVE_INFINITY) return this.visitPlan(data, plan, () => true);
      this.noteRange(data.schema, null, false, null, false);
      let size = data.size;
      for (const [key, row] of this.overlays[data.schema.position] ?? []) size += (row === null ? 0 : 1) - (data.get(key) === undefined ? 0 : 1);
      return size;
    });
  }

  /** Scans the base merged with the overlay in plan order; records what the result depended on. */
  protected override visitPlan(data: TableData, plan: ScanPlan, visit: (row: Row) => boolean | void): number {
    const table = data.schema;
    const overlay = this.overlays[table.position];
    let count = 0;
    let last: Row | undefined;
    const emit = (row: Row, fromBase: boolean, key: Key): boolean => {
      if (fromBase && plan.index !== undefined) this.noteRead(table, key);
      count++;
      last = row;
      return visit(row) !== false && count < plan.limit;
    };
    let stopped = plan.limit === 0;
    if (!stopped) stopped = !this.mergeVisit(data, plan, overlay, emit);
    // A scan cut short depended only on the entries up to the last row it returned (for an index: up to
    // that row's indexed values, a prefix bound that also covers its equals).
    const lastAt = stopped && last !== undefined
      ? (plan.index === undefined ? keyValuesOf(table, last) : plan.index.fields.map((field) => (last as Row)[field.name])) as Scalar[]
      : undefined;
    if (lastAt !== undefined && !plan.reverse) this.noteRange(table, plan.lower, plan.lowerExclusive, lastAt, false, plan.index);
    else if (lastAt !== undefined) this.noteRange(table, lastAt, false, plan.upper, plan.upperExclusive, plan.index);
    else this.noteRange(table, plan.lower, plan.lowerExclusive, plan.upper, plan.upperExclusive, plan.index);
    return count;
  }

  /** Returns false when `emit` stopped the visit. */
  private mergeVisit(
    data: TableData, plan: ScanPlan, overlay: Map<Key, Row | null> | undefined, emit: (row: Row, fromBase: boolean, key: Key) => boolean,
  ): boolean {
    const table = data.schema;
    const index = plan.index;
    const compare = index === undefined ? comparatorFor(table.keyKind) : (compareStrings as (a: Key, b: Key) => number);
    const extra: { order: Key; row: Row; key: Key }[] = [];
    for (const [key, row] of overlay ?? []) {
      if (row === null) continue;
      const order = index === undefined ? key : indexKeyOf(index, row, encodedKey(table, key));
      if (inRange(order, plan.range, compare)) extra.push({ order, row, key });
    }
    const direction = plan.reverse ? -1 : 1;
    extra.sort((a, b) => direction * compare(a.order, b.order));
    let next = 0;
    let going = true;
    const onBase = (order: Key, row: Row): boolean => {
      const key = index === undefined ? order : primaryKeyOf(table, row);
      if (overlay !== undefined && overlay.has(key)) return true;
      while (next < extra.length && direction * compare((extra[next] as { order: Key }).order, order) < 0) {
        const item = extra[next++] as { row: Row; key: Key };
        if (!emit(item.row, false, item.key)) return (going = false);
      }
      return (going = emit(row, true, key));
    };
    if (index === undefined) data.visit(plan.range, plan.reverse, onBase);
    else data.visitIndex(index, plan.range, plan.reverse, onBase);
    while (going && next < extra.length) {
      const item = extra[next++] as { row: Row; key: Key };
      going = emit(item.row, false, item.key);
    }
    return going;
  }

  private noteRange(
    table: TableSchema, lower: readonly Scalar[] | null, lowerExclusive: boolean, upper: readonly Scalar[] | null, upperExclusive: boolean, index?: IndexSchema,
  ): void {
    if ((this.readKeysMap?.size ?? 0) + this.rangeReads.length >= storeTxReadsMax) {
      throw new ValidationError(table.name, undefined, undefined, `transaction read more than ${storeTxReadsMax} keys (storeTxReadsMax)`);
    }
    const ref: RangeRef = Object.freeze(index === undefined
      ? { table: table.name, lower, lowerExclusive, upper, upperExclusive }
      : { table: table.name, index: index.name, lower, lowerExclusive, upper, upperExclusive });
    const range = index === undefined ? primaryRange(table, lower, lowerExclusive, upper, upperExclusive) : indexRange(index, lower, lowerExclusive, upper, upperExclusive);
    this.rangeReads.push({ ref, table, index, range });
  }

  insert(table: string, input: object): Row {
    return this.op(() => {
      const data = this.tableData(table);
      const row = rowFromInput(data.schema, input);
      const key = primaryKeyOf(data.schema, row);
      if (this.current(data, key) !== undefined) {
        const fields = data.schema.primaryKey.map((field) => field.name);
        const values = keyValuesOf(data.schema, row);
        throw new UniqueError(data.schema.name, 'primary key', fields.join(','), values.length === 1 ? values[0] : values);
      }
      this.put(data, key, row);
      return row;
    });
  }

  update(table: string, input: object): Row {
    return this.op(() => {
      const data = this.tableData(table);
      const schema = data.schema;
      if (typeof input !== 'object' || input === null) throw new ValidationError(schema.name, undefined, input, 'a row must be an object');
      const given = input as Record<string, unknown>;
      const values = keyValues(schema.name, schema.primaryKey, schema.primaryKey.map((field) => given[field.name]), false);
      const key = keyFromValues(schema, values);
      const current = this.current(data, key);
      if (current === undefined) throw new NotFoundError(schema.name, 'row with key', values.length === 1 ? values[0] : values);
      const row = rowFromInput(schema, input, current);
      this.put(data, key, row);
      return row;
    });
  }

  upsert(table: string, input: object): Row {
    return this.op(() => {
      const data = this.tableData(table);
      const row = rowFromInput(data.schema, input);
      this.put(data, primaryKeyOf(data.schema, row), row);
      return row;
    });
  }

  delete(table: string, keyInput: unknown): boolean {
    return this.op(() => {
      const data = this.tableData(table);
      const schema = data.schema;
      const key = keyFromValues(schema, keyValues(schema.name, schema.primaryKey, keyInput, false));
      if (this.current(data, key) === undefined) {
        const overlay = this.overlays[schema.position];
        if (overlay === undefined || !overlay.has(key)) this.noteRead(schema, key);
        return false;
      }
      this.setOverlay(data, key, null);
      return true;
    });
  }

  private put(data: TableData, key: Key, row: Row): void {
    if (!this.deferUnique) this.checkUnique(data, key, row);
    this.setOverlay(data, key, row);
  }

  private uniqueName(table: TableSchema, index: number, prefix: string): string {
    return `${table.position}:${index}:${prefix}`;
  }

  /** Refuses a row whose unique index value another row (stored or in this transaction) holds. */
  private checkUnique(data: TableData, key: Key, row: Row): void {
    const table = data.schema;
    const overlay = this.overlays[table.position];
    for (const index of table.indexes) {
      if (!index.unique || index.fields.some((field) => row[field.name] === null)) continue; // nulls are distinct
      const prefix = indexValuePrefix(index, row);
      const other = this.uniqueOverlay.get(this.uniqueName(table, index.position, prefix));
      const fail = (): never => {
        const values = index.fields.map((field) => row[field.name] as Value);
        throw new UniqueError(table.name, index.name, index.fields.map((field) => field.name).join(','), values.length === 1 ? values[0] : values);
      };
      if (other !== undefined && other !== key) fail();
      data.withIndexValue(index, prefix, (_entry, stored) => {
        const storedKey = primaryKeyOf(table, stored);
        if (storedKey === key || (overlay !== undefined && overlay.has(storedKey))) return true;
        return fail();
      });
    }
  }

  private setOverlay(data: TableData, key: Key, row: Row | null): void {
    const table = data.schema;
    let overlay = this.overlays[table.position];
    if (overlay === undefined) this.overlays[table.position] = overlay = new Map();
    const previous = overlay.get(key);
    if (previous === undefined && !overlay.has(key) && ++this.writeCount > storeTxWritesMax) {
      throw new ValidationError(table.name, undefined, undefined, `transaction writes more than ${storeTxWritesMax} rows (storeTxWritesMax)`);
    }
    for (const index of table.indexes) {
      if (!index.unique) continue;
      if (previous) this.uniqueOverlay.delete(this.uniqueName(table, index.position, indexValuePrefix(index, previous)));
      if (row !== null && !index.fields.some((field) => row[field.name] === null)) {
        this.uniqueOverlay.set(this.uniqueName(table, index.position, indexValuePrefix(index, row)), key);
      }
    }
    overlay.set(key, row);
  }

  /** Ends the transaction: its change-set, and the same resolved for this store (to skip re-checking on apply). */
  finish(): { changeSet: ChangeSet; prepared: Prepared } {
    assert(!this.done, 'a write transaction finished twice');
    this.done = true;
    if (this.failure !== undefined) throw this.failure;
    const schema = this.source.schema;
    const writes: WriteRef[] = [];
    const puts: PreparedWrite[] = [];
    const writeKeys: Touched[] = [];
    for (const table of schema.tables) {
      for (const [key, row] of this.overlays[table.position] ?? []) {
        const values = row === null ? decodeKey(table, key) : (keyValuesOf(table, row) as Scalar[]);
        writes.push(Object.freeze({ table: table.name, key: Object.freeze(values), row: row === null ? null : Object.freeze(rowToArray(table, row)) }));
        puts.push({ table, key, row });
        writeKeys.push({ table, key });
      }
    }
    const reads: ReadRef[] = [];
    const readKeys: Touched[] = [];
    for (const touched of this.readKeysMap?.values() ?? []) {
      if (this.overlays[touched.table.position]?.has(touched.key) === true) continue;
      reads.push(Object.freeze({ table: touched.table.name, key: Object.freeze(decodeKey(touched.table, touched.key)) }));
      readKeys.push(touched);
    }
    const snapshot = this.source.version;
    // Most local commits read no range: share one empty array rather than map two new ones.
    const unscanned = this.rangeReads.length === 0;
    const changeSet: ChangeSet = Object.freeze({
      schema: schema.fingerprint, snapshot, reads: Object.freeze(reads), ranges: unscanned ? noRanges : Object.freeze(this.rangeReads.map((r) => r.ref)), writes: Object.freeze(writes),
    });
    const ranges = unscanned ? noRanges : this.rangeReads.map(({ table, index, range }) => ({ table, index, range }));
    return { changeSet, prepared: { schema, snapshot, reads: readKeys, writes: writeKeys, ranges, puts } };
  }
}
