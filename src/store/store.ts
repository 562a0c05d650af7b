/**
 * The store: a node's whole database in memory — tables under one schema, a version, and the
 * certification window. Transactions run synchronously (`read`, `write`); `apply` certifies and applies
 * a change-set; `commit` is write + apply on one node.
 *
 * Invariants: the version counts applied change-sets that wrote something; applying the same
 * change-sets in the same order to stores opened with the same schema gives equal contentHash();
 * a call that throws leaves the store exactly as it was (checks run before the first mutation).
 */
import { frameBytesMax as readerFrameBytesMax, storeKnownSchemasMax } from '../limits.js';
import { assert } from '../runtime/assert.js';
import type { ChangeSet, WriteRef } from './changeset.js';
import { toChangeSet } from './changeset.js';
import { decodeMsgpack } from './codec.js';
import { wireDifference } from './wire-check.js';
import type { CurrentRow, RangeRead, Touched } from './certify.js';
import { CertWindow } from './certify.js';
import { EvolutionModeError, IncompatibleSchemaError, UniqueError, ValidationError } from './errors.js';
import type { LostFields, SchemaPlan } from './evolution.js';
import { noLostFields, planConversion, planPeerConversion, withLost } from './evolution.js';
import type { Key } from './keys.js';
import { decodeKey, indexRange, indexValuePrefix, keyFromValues, keyValues, primaryKeyOf, primaryRange } from './keys.js';
import { visitLogRecord } from './log-format.js';
import type { ReadTx } from './read-tx.js';
import { Reader } from './read-tx.js';
import { keyValuesOf, rowFromArray, rowFromReader, rowToArray } from './rows.js';
import type { SchemaDef, TableSchema } from './schema.js';
import { Schema } from './schema.js';
import type { ImageBounds, ImageSource, LoadedState } from './snapshot.js';
import { ImageLoader, contentHash, defaultImageBounds, imageFrames } from './snapshot.js';
import { TableData } from './table.js';
import type { Scalar, Value } from './values.js';
import type { Prepared, PreparedWrite, WriteTx } from './write-tx.js';
import { Writer } from './write-tx.js';

export interface StoreOptions {
  /**
   * Binary schema evolution: change-sets written with another (learned, compatible) schema are
   * converted by field name; schema changes at run time (alterSchema) are refused.
   */
  readonly evolution?: boolean;
}

export interface SnapshotOptions {
  /** Rows in one rows frame (default snapshotFrameRowsMaxDefault). */
  readonly frameRowsMax?: number;
  /** Payload bytes in one frame (default snapshotFrameBytesTarget); a single larger row goes alone. */
  readonly frameBytesMax?: number;
}

export interface ApplyResult {
  /** The store version after the change-set (unchanged when it wrote nothing). */
  readonly version: number;
  /** What was written, in this store's schema (for the transaction log). */
  readonly writes: readonly WriteRef[];
}

interface State {
  schema: Schema;
  tables: TableData[];
  version: number;
  window: CertWindow;
  /** Fields whose values peers' change-sets lost here (evolution.ts, LostFields). */
  lost: LostFields;
}

export class Store {
  private state: State;
  private readonly prepared = new WeakMap<ChangeSet, Prepared>();
  private readonly known = new Map<string, Schema>();
  private readonly plans = new Map<string, SchemaPlan>();
  /** The identity plan of the current schema (planFor). */
  private identityPlan: { readonly schema: Schema; readonly plan: SchemaPlan } | undefined;
  readonly evolution: boolean;

  private constructor(schema: Schema, options: StoreOptions) {
    this.state = { schema, tables: schema.tables.map((table) => TableData.empty(table)), version: 0, window: new CertWindow(), lost: noLostFields };
    this.evolution = options.evolution === true;
  }

  /** An empty store. A bad schema is refused with SchemaError naming the table and field. */
  static open(schema: SchemaDef | Schema, options: StoreOptions = {}): Store {
    return new Store(schema instanceof Schema ? schema : new Schema(schema), options);
  }

  get schema(): Schema {
    return this.state.schema;
  }

  get version(): number {
    return this.state.version;
  }

  /** Runs `body` on the current state. Nothing changes the state while it runs (it is synchronous). */
  read<T>(body: (tx: ReadTx) => T): T {
    const result = body(new Reader(this.state));
    assert(!isThenable(result), 'a read body must be synchronous');
    return result;
  }

  /** A read transaction over the state as it is now, which stays consistent while the store changes. */
  view(): ReadTx {
    return new Reader({ schema: this.state.schema, version: this.state.version, tables: this.state.tables.map((table) => table.view()) });
  }

  /**
   * Runs `body` as a write transaction and returns its change-set; nothing is stored until it is
   * applied. The first error the body meets fails the transaction, even if the body caught it.
   * `deferUnique`: unique indexes are checked at apply only (UNIQUE then), not while the body runs.
   */
  write(body: (tx: WriteTx) => void, options: { readonly deferUnique?: boolean } = {}): ChangeSet {
    const { changeSet, prepared } = this.run(body, options.deferUnique === true);
    this.prepared.set(changeSet, prepared);
    return changeSet;
  }

  /**
   * Refuses (VALIDATION) a change-set from `write` whose bytes (`encodeChangeSet`) another node would
   * read back different from what this one prepared (wire-check.ts): the writer applies its own
   * prepared form, the others the bytes, and any difference would part the replicas. Called by a node
   * before the write leaves it; a difference is a bug in the writer's checks, refused instead of kept.
   */
  checkEncoded(changeSet: ChangeSet, bytes: Uint8Array): void {
    const ours = this.prepared.get(changeSet);
    const firstTable = changeSet.writes[0]?.table ?? changeSet.reads[0]?.table ?? changeSet.ranges[0]?.table ?? '';
    let theirs: Prepared;
    try {
      theirs = this.prepare(toChangeSet(decodeMsgpack(bytes), 'this write', 0));
    } catch (error) {
      throw new ValidationError(firstTable, undefined, undefined, `this write would be refused by the other nodes, so it is refused here: ${(error as Error).message}`);
    }
    const difference = ours === undefined ? undefined : wireDifference(ours, theirs);
    if (difference !== undefined) throw new ValidationError(firstTable, undefined, undefined, `this write would read back different on the other nodes, so it is refused here: ${difference}`);
  }

  /** write + apply: a local commit on one node. */
  commit(body: (tx: WriteTx) => void): ApplyResult {
    // The prepared form goes straight to apply: no WeakMap entry (ephemerons cost the GC, profiled).
    const { changeSet, prepared } = this.run(body);
    return this.applyPrepared(changeSet, prepared);
  }

  private run(body: (tx: WriteTx) => void, deferUnique = false): { changeSet: ChangeSet; prepared: Prepared } {
    const writer = new Writer(this.state, deferUnique);
    const result: unknown = body(writer);
    assert(!isThenable(result), 'a write body must be synchronous (no await inside a transaction)');
    return writer.finish();
  }

  /**
   * Certifies `changeSet` (CONFLICT when something it read or wrote changed after its snapshot) and
   * applies it. Deterministic: depends only on the change-set and the store's state.
   */
  apply(changeSet: ChangeSet): ApplyResult {
    const cached = this.prepared.get(changeSet);
    return this.applyPrepared(changeSet, cached !== undefined && cached.schema === this.state.schema ? cached : this.prepare(changeSet));
  }

  /** The row a key holds in the live state (index-range certification). */
  private readonly currentRow: CurrentRow = (table, key) => (this.state.tables[table.position] as TableData).get(key);

  private applyPrepared(changeSet: ChangeSet, prepared: Prepared): ApplyResult {
    this.state.window.certify(prepared, this.state.version, this.currentRow);
    this.checkUnique(prepared);
    if (changeSet.schema === this.state.schema.fingerprint) return { version: this.mutate(prepared), writes: changeSet.writes };
    const writes = this.localWrites(prepared);
    // A peer's row may carry fields this schema lacks: note that their values are lost here (evolution.ts).
    const plan = this.plans.get(changeSet.schema);
    if (plan !== undefined) this.state.lost = withLost(this.state.lost, plan, changeSet.writes.filter((write) => write.row !== null).map((write) => write.table));
    return { version: this.mutate(prepared), writes };
  }

  /**
   * Teaches the store another node's schema, so that its change-sets can be converted (evolution mode).
   * INCOMPATIBLE_SCHEMA, naming the table and field or index, when they cannot: fields that do not
   * convert, or indexes that differ (evolution.ts).
   */
  learnSchema(def: SchemaDef): void {
    const schema = new Schema(def);
    if (schema.fingerprint === this.state.schema.fingerprint || this.known.has(schema.fingerprint)) return;
    assert(this.known.size < storeKnownSchemasMax, `more than ${storeKnownSchemasMax} learned schemas (storeKnownSchemasMax)`);
    this.plans.set(schema.fingerprint, planPeerConversion(schema, this.state.schema)); // INCOMPATIBLE_SCHEMA now, not later
    this.known.set(schema.fingerprint, schema);
  }

  /**
   * Changes the schema at run time, converting every row by field name (EVOLUTION_MODE while evolution
   * mode is on; INCOMPATIBLE_SCHEMA or UNIQUE when the data cannot follow; the store is unchanged then).
   */
  alterSchema(def: SchemaDef): void {
    if (this.evolution) throw new EvolutionModeError();
    const target = new Schema(def);
    const loader = new ImageLoader(target, 'alterSchema', true);
    for (const frame of imageFrames(this.imageSource())) loader.push(frame);
    this.replaceState(target, loader.finish());
    this.plans.clear();
  }

  /** SHA-256 over version, rows in key order and certification window: equal on replicas that agree. */
  contentHash(): string {
    return contentHash(this.imageSource());
  }

  /**
   * The snapshot image of the current state, frame by frame, from a view (writers may go on meanwhile).
   * Each rows frame holds at most `frameRowsMax` rows, and every frame at most `frameBytesMax` payload
   * bytes, except a frame holding one single row (or the header) that is larger on its own.
   */
  snapshot(options: SnapshotOptions = {}): Iterable<Uint8Array> {
    return imageFrames(this.imageSource(), imageBounds(options));
  }

  /** Replaces the whole state with an image; on any error (CORRUPT naming where) the store is unchanged. */
  async restore(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, source = 'snapshot'): Promise<void> {
    const loader = new ImageLoader(this.state.schema, source, false);
    for await (const chunk of chunks) loader.push(chunk);
    this.replaceState(this.state.schema, loader.finish());
  }

  /**
   * restore, synchronously, from chunks already at hand (frames received whole, e.g. a Raft state
   * transfer). Same checks; on any error (CORRUPT naming source and offset) the store is unchanged.
   */
  restoreSync(chunks: Iterable<Uint8Array>, source = 'snapshot'): void {
    const loader = new ImageLoader(this.state.schema, source, false);
    for (const chunk of chunks) loader.push(chunk);
    this.replaceState(this.state.schema, loader.finish());
  }

  /**
   * restore in steps: `push` the chunks (over as many event-loop turns as the caller likes), then `finish`
   * replaces the state at once. Until then the store is unchanged and serves reads and writes as before;
   * on any error (CORRUPT naming source and offset) it stays unchanged.
   */
  restoreInSteps(source = 'snapshot'): { push(chunk: Uint8Array): void; finish(): void } {
    const schema = this.state.schema;
    const loader = new ImageLoader(schema, source, false);
    return {
      push: (chunk) => loader.push(chunk),
      finish: () => {
        assert(this.state.schema === schema, `${source}: the schema changed while the image was loaded`);
        this.replaceState(schema, loader.finish());
      },
    };
  }

  /** @internal A consistent source for an image: views of every table, a copy of the window. */
  imageSource(): ImageSource {
    const { schema, version, window, lost } = this.state;
    return { schema, version, horizon: window.horizon, window: window.liveItems(), tables: this.state.tables.map((table) => table.view()), lost };
  }

  private replaceState(schema: Schema, loaded: LoadedState): void {
    this.state = { schema, tables: [...loaded.tables], version: loaded.version, window: loaded.window, lost: loaded.lost };
  }

  /**
   * @internal Replays a log record (its frame payload): already certified when it was logged, so only
   * converted, checked and applied. Its version must be the next version (the caller checked).
   */
  replayRecord(payload: Uint8Array, plan: SchemaPlan, source: string, offset: number): void {
    const version = this.state.version + 1;
    const puts: PreparedWrite[] = [];
    visitLogRecord(payload, source, offset, {
      row: (tableName, reader) => {
        const tablePlan = plan.table(tableName);
        if (tablePlan === undefined) throw new IncompatibleSchemaError(tableName, undefined, 'no such table here');
        const table = tablePlan.to;
        const row = tablePlan.identity ? rowFromReader(table, reader, 2) : rowFromArray(table, tablePlan.convert(reader.value(2) as unknown[]));
        puts.push({ table, key: primaryKeyOf(table, row), row });
      },
      remove: (tableName, key) => puts.push(this.resolveWrite(plan, tableName, key, null)),
    });
    this.mutate({ schema: this.state.schema, snapshot: version - 1, reads: none, ranges: none, writes: puts, puts });
  }

  /** @internal The conversion plan for data written with `fingerprint` (identity for this schema). */
  planFor(fingerprint: string, def?: SchemaDef): SchemaPlan {
    const schema = this.state.schema;
    if (fingerprint === schema.fingerprint) {
      // The same plan for every change-set of this schema: made once, not per apply (it was a Map and a
      // plan per table each time).
      if (this.identityPlan?.schema !== schema) this.identityPlan = { schema, plan: planConversion(schema, schema, false) };
      return this.identityPlan.plan;
    }
    const cached = this.plans.get(fingerprint);
    if (cached !== undefined) return cached;
    if (def !== undefined && !this.evolution) {
      // Our own older data (a log written before alterSchema): convert like alterSchema does.
      const plan = planConversion(new Schema(def), schema, true);
      this.plans.set(fingerprint, plan);
      return plan;
    }
    if (!this.evolution) throw new IncompatibleSchemaError(undefined, undefined, `written with schema ${fingerprint}, this store has ${schema.fingerprint} and evolution mode is off`);
    if (def !== undefined) this.learnSchema(def);
    const plan = this.plans.get(fingerprint);
    if (plan === undefined) throw new IncompatibleSchemaError(undefined, undefined, `schema ${fingerprint} is unknown here (learnSchema it first)`);
    return plan;
  }

  private prepare(changeSet: ChangeSet): Prepared {
    const plan = this.planFor(changeSet.schema);
    const table = (name: string): TableSchema => {
      const found = plan.table(name)?.to;
      if (found === undefined) throw new IncompatibleSchemaError(name, undefined, 'no such table here');
      return found;
    };
    const keyOf = (t: TableSchema, values: readonly unknown[]): Key => keyFromValues(t, keyValues(t.name, t.primaryKey, values, false, true));
    const reads: Touched[] = changeSet.reads.map((read) => {
      const t = table(read.table);
      return { table: t, key: keyOf(t, read.key) };
    });
    const ranges: RangeRead[] = changeSet.ranges.map((range) => {
      const t = table(range.table);
      const index = range.index === undefined ? undefined : t.indexByName.get(range.index);
      if (range.index !== undefined && index === undefined) throw new IncompatibleSchemaError(t.name, undefined, `no index ${range.index} here`);
      const fields = index === undefined ? t.primaryKey : index.fields;
      const bound = (values: readonly unknown[] | null): ReturnType<typeof keyValues> | null => (values === null ? null : keyValues(t.name, fields, values, true, true, index !== undefined));
      const lower = bound(range.lower);
      const upper = bound(range.upper);
      return index === undefined
        ? { table: t, range: primaryRange(t, lower, range.lowerExclusive, upper, range.upperExclusive) }
        : { table: t, index, range: indexRange(index, lower, range.lowerExclusive, upper, range.upperExclusive) };
    });
    const puts = changeSet.writes.map((write) => this.resolveWrite(plan, write.table, write.key, write.row));
    return { schema: this.state.schema, snapshot: changeSet.snapshot, reads, ranges, writes: puts, puts };
  }

  private resolveWrite(plan: SchemaPlan, tableName: string, key: readonly unknown[] | null, row: readonly unknown[] | null): PreparedWrite {
    const tablePlan = plan.table(tableName);
    if (tablePlan === undefined) throw new IncompatibleSchemaError(tableName, undefined, 'no such table here');
    const table = tablePlan.to;
    if (row === null) {
      if (key === null) throw new ValidationError(table.name, undefined, null, 'a delete needs a key');
      return { table, key: keyFromValues(table, keyValues(table.name, table.primaryKey, key, false, true)), row: null };
    }
    const converted = rowFromArray(table, tablePlan.identity ? row : tablePlan.convert(row));
    const derived = primaryKeyOf(table, converted);
    if (key !== null && keyFromValues(table, keyValues(table.name, table.primaryKey, key, false, true)) !== derived) {
      throw new ValidationError(table.name, undefined, key, 'write key does not match its row');
    }
    return { table, key: derived, row: converted };
  }

  /** Unique indexes hold after the change-set: checked against the state and among its own rows. */
  private checkUnique(prepared: Prepared): void {
    // Most change-sets write no row with a unique index: they leave before anything is allocated (the
    // Map and the closures below showed as ~6% of the bytes allocated per commit in the cluster benchmark).
    if (!prepared.puts.some(hasUniqueRow)) return;
    this.checkUniqueRows(prepared);
  }

  private checkUniqueRows(prepared: Prepared): void {
    let written: Set<string> | undefined;
    const claimed = new Map<string, Key>();
    for (const put of prepared.puts) {
      const row = put.row;
      if (row === null || !hasUniqueRow(put)) continue;
      written ??= new Set(prepared.puts.map((p) => `${p.table.position}:${p.key}`));
      const data = this.state.tables[put.table.position] as TableData;
      for (const index of put.table.indexes) {
        if (!index.unique || index.fields.some((field) => row[field.name] === null)) continue;
        const prefix = indexValuePrefix(index, row);
        const fail = (): never => {
          const values = index.fields.map((field) => row[field.name] as Value);
          throw new UniqueError(put.table.name, index.name, index.fields.map((field) => field.name).join(','), values.length === 1 ? values[0] : values);
        };
        const name = `${put.table.position}:${index.position}:${prefix}`;
        const other = claimed.get(name);
        if (other !== undefined && other !== put.key) fail();
        claimed.set(name, put.key);
        const seen = written;
        data.withIndexValue(index, prefix, (_entry, stored) => {
          const storedKey = primaryKeyOf(put.table, stored);
          return storedKey === put.key || seen.has(`${put.table.position}:${storedKey}`) ? true : fail();
        });
      }
    }
  }

  private mutate(prepared: Prepared): number {
    if (prepared.puts.length === 0) return this.state.version;
    const version = this.state.version + 1;
    for (const put of prepared.puts) {
      const data = this.state.tables[put.table.position] as TableData;
      if (put.row !== null) data.put(put.key, put.row);
      else data.remove(put.key);
    }
    this.state.version = version;
    this.state.window.record(version, prepared.writes);
    return version;
  }

  private localWrites(prepared: Prepared): WriteRef[] {
    return prepared.puts.map((put) => ({
      table: put.table.name,
      key: put.row === null ? decodeKey(put.table, put.key) : (keyValuesOf(put.table, put.row) as Scalar[]),
      row: put.row === null ? null : rowToArray(put.table, put.row),
    }));
  }
}

/** Snapshot options, checked once here (programmer errors name the API). */
function imageBounds(options: SnapshotOptions): ImageBounds {
  const { frameRowsMax = defaultImageBounds.frameRowsMax, frameBytesMax = defaultImageBounds.frameBytesMax } = options;
  assert(Number.isSafeInteger(frameRowsMax) && frameRowsMax >= 1, `Store.snapshot: frameRowsMax must be a positive integer, got ${String(frameRowsMax)}`);
  assert(Number.isSafeInteger(frameBytesMax) && frameBytesMax >= 1 && frameBytesMax <= readerFrameBytesMax, `Store.snapshot: frameBytesMax must be an integer in 1..${readerFrameBytesMax}, got ${String(frameBytesMax)}`);
  return { frameRowsMax, frameBytesMax };
}

/** Shared by replayed records, which read nothing. */
const none: readonly never[] = Object.freeze([]);

function isThenable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A row written (not deleted) to a table with a unique index. */
function hasUniqueRow(put: PreparedWrite): boolean {
  if (put.row === null) return false;
  for (const index of put.table.indexes) if (index.unique) return true;
  return false;
}
