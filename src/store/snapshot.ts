/**
 * Snapshot images: the whole store as a stream of frames, written from a consistent view while writers
 * go on, and read back into a fresh state that replaces the old one only when the image proved whole.
 *
 * Image = frames `[u32 length][u32 crc32][msgpack payload]`:
 *   header  { type: 'header', magic, format, schema, fingerprint, version, horizon, lost? }
 *           (lost: [[table, field], …] whose values the state dropped, evolution.ts; only when any)
 *   rows    { type: 'rows', table, rows: [values in the image schema's field order, …] }  (key order)
 *   window  { type: 'window', entries: [[version, [[table, key values], …]], …] }   (certification)
 *   end     { type: 'end', frames, rows, digest }   digest: SHA-256 of every earlier payload
 * Invariants: frames are produced lazily (the image is never held whole, neither when saving nor when
 * loading); a loader's result is complete and checked (CRCs, key order, counts, digest) or it throws
 * CorruptError naming the source, offset and what is wrong, and nothing of it is visible.
 */
import { snapshotFrameBytesTarget, snapshotFrameRowsMaxDefault, snapshotWindowFrameKeysMax, storeNameCharsMax } from '../limits.js';
import { CertWindow } from './certify.js';
import { encodeMsgpack, frame, frameHeaderBytes, sha256 } from './codec.js';
import { CorruptError, UniqueError } from './errors.js';
import type { LostFields, SchemaPlan } from './evolution.js';
import { lostFromHeader, lostInto, planConversion, withLost } from './evolution.js';
import { FrameReader } from './frames.js';
import { frameOfPayload, rowFrames, windowFrames } from './image-frames.js';
import type { WindowItem } from './image-frames.js';
import type { Key } from './keys.js';
import { comparatorFor, indexValuePrefix, keyFromValues, keyValues, primaryKeyOf } from './keys.js';
import { MsgpackDecodeError, MsgpackReader } from './msgpack-decode.js';
import { rowFromArray } from './rows.js';
import type { IndexSchema, SchemaDef, TableSchema } from './schema.js';
import { Schema, plainSchemaDef } from './schema.js';
import { TableData } from './table.js';
import type { Row } from './values.js';

const magic = 'chorusdb-snapshot';
const format = 1;

/** What an image is made from: views (clones) of every table, so that writers may go on meanwhile. */
export interface ImageSource {
  readonly schema: Schema;
  readonly version: number;
  readonly horizon: number;
  /** The certification window, as the image stores it (CertWindow.liveItems). */
  readonly window: readonly WindowItem[];
  readonly tables: readonly TableData[];
  /** Fields whose values the state lost (evolution.ts); in the header only when there are any. */
  readonly lost: LostFields;
}

/** A state read from an image, in the loader's schema. */
export interface LoadedState {
  readonly version: number;
  /** The certification window, restored (the caller owns it from here). */
  readonly window: CertWindow;
  readonly tables: readonly TableData[];
  readonly rows: number;
  /** The image's lost fields, as they hold in the loader's schema. */
  readonly lost: LostFields;
}

/** Frame bounds of an image (Store.snapshot options, checked there). */
export interface ImageBounds {
  /** Rows in one rows frame. */
  readonly frameRowsMax: number;
  /** Payload bytes in one frame, unless a single row (or the header) is larger on its own. */
  readonly frameBytesMax: number;
}

export const defaultImageBounds: ImageBounds = { frameRowsMax: snapshotFrameRowsMaxDefault, frameBytesMax: snapshotFrameBytesTarget };

/** The image's frames in order, without the end frame. */
function* bodyFrames(source: ImageSource, bounds: ImageBounds, withSchema: boolean): Generator<Uint8Array> {
  const { schema } = source;
  yield frameOfPayload(encodeMsgpack({
    type: 'header', magic, format, schema: withSchema ? plainSchemaDef(schema.def) : null,
    fingerprint: schema.fingerprint, version: source.version, horizon: source.horizon,
    ...(source.lost.length > 0 ? { lost: source.lost } : {}),
  }));
  const rowBounds = { itemsMax: bounds.frameRowsMax, bytesMax: bounds.frameBytesMax };
  for (const table of schema.tables) {
    const data = source.tables[table.position] as TableData;
    yield* rowFrames(table.name, data.tree.values(), table.fields.map((field) => field.name), rowBounds);
  }
  yield* windowFrames(source.window, { itemsMax: snapshotWindowFrameKeysMax, bytesMax: bounds.frameBytesMax });
}

/** The image as frames, ending with the end frame: each yielded chunk is one frame. */
export function* imageFrames(source: ImageSource, bounds: ImageBounds = defaultImageBounds): Generator<Uint8Array> {
  const digest = sha256();
  let frames = 0;
  let rows = 0;
  for (const table of source.tables) rows += table.size;
  for (const framed of bodyFrames(source, bounds, true)) {
    digest.update(framed.subarray(frameHeaderBytes));
    frames++;
    yield framed;
  }
  yield frame(encodeMsgpack({ type: 'end', frames, rows, digest: digest.digest('hex') }));
}

/**
 * SHA-256 of the store's content: version, horizon, rows in key order, certification window. Always
 * over the default framing, so that it does not depend on how an image was cut.
 */
export function contentHash(source: ImageSource): string {
  const hash = sha256();
  for (const framed of bodyFrames(source, defaultImageBounds, false)) hash.update(framed.subarray(frameHeaderBytes));
  return hash.digest('hex');
}

/**
 * Reads an image pushed in chunks of any size, into the `target` schema (converting by field name when
 * the image was written with another; IncompatibleSchemaError when it cannot be).
 */
export class ImageLoader {
  private readonly reader = new FrameReader();
  private readonly digest = sha256();
  private frames = 0;
  private rows = 0;
  private header: { version: number; plan: SchemaPlan; source: Schema; window: CertWindow; lost: LostFields } | undefined;
  /** Per target table: keys and rows in key order, bulk-built into tables by finish(). */
  private loaded: { keys: Key[]; rows: Row[]; unique: Map<IndexSchema, Set<string>> }[] | undefined;
  /** The version of the window entry read last (its keys may go on in the next frame). */
  private windowVersion: number | undefined;
  private ended = false;

  constructor(
    private readonly target: Schema,
    private readonly name: string,
    /** Schema changes allowed by the caller: drop tables the target lacks (a local schema change). */
    private readonly dropTables: boolean,
  ) {}

  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
    for (;;) {
      const result = this.reader.next();
      if (result.kind === 'more') return;
      if (result.kind === 'bad') throw new CorruptError(this.name, result.offset, result.reason);
      if (this.ended) throw new CorruptError(this.name, result.offset, 'data after the end frame');
      this.onFrame(result.payload, result.offset);
    }
  }

  /** The loaded state, once the whole image has been pushed. */
  finish(): LoadedState {
    if (this.ended && this.reader.buffered > 0) throw new CorruptError(this.name, this.reader.offset, 'data after the end frame');
    if (this.reader.buffered > 0) throw new CorruptError(this.name, this.reader.offset, `truncated: ${this.reader.buffered} bytes of an incomplete frame`);
    if (!this.ended || this.header === undefined || this.loaded === undefined) throw new CorruptError(this.name, this.reader.offset, 'truncated: no end frame');
    const loaded = this.loaded;
    const tables = this.target.tables.map((table) => TableData.fromSorted(table, (loaded[table.position] as { keys: Key[] }).keys, (loaded[table.position] as { rows: Row[] }).rows));
    this.header.window.settle();
    return { version: this.header.version, window: this.header.window, tables, rows: this.rows, lost: this.header.lost };
  }

  private onFrame(payload: Uint8Array, offset: number): void {
    let body: Record<string, unknown>;
    try {
      body = this.decodeBody(payload, offset);
    } catch (error) {
      if (!(error instanceof MsgpackDecodeError)) throw error;
      throw new CorruptError(this.name, offset, `frame ${this.frames}: undecodable msgpack (${error.message})`);
    }
    if (this.header === undefined && body['type'] !== 'header') throw new CorruptError(this.name, offset, 'not a chorusdb snapshot (no header frame)');
    try {
      switch (body['type']) {
        case 'header': return this.onHeader(body, offset);
        case 'rows': return this.onRows(body, offset);
        case 'window': return this.onWindow(body, offset);
        case 'end': return this.onEnd(body, offset);
        default: throw new CorruptError(this.name, offset, `frame ${this.frames}: unknown frame type ${String(body['type'])}`);
      }
    } finally {
      if (body['type'] !== 'end') {
        this.digest.update(payload);
        this.frames++;
      }
    }
  }

  /**
   * The frame's map. The rows of a rows frame (after its type and table) are loaded as they are read,
   * straight into row objects, and so are the entries of a window frame: `rows` and `entries` then hold
   * their count.
   */
  private decodeBody(payload: Uint8Array, offset: number): Record<string, unknown> {
    const reader = new MsgpackReader(payload);
    if (!reader.nextIsMap()) {
      const data = reader.value(0);
      reader.finish();
      return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
    }
    const body: Record<string, unknown> = {};
    const entries = reader.mapHeader();
    for (let i = 0; i < entries; i++) {
      const key = reader.value(1);
      if (typeof key !== 'string' && typeof key !== 'number') throw new MsgpackDecodeError(`map key of type ${typeof key}`);
      if (key === '__proto__') throw new MsgpackDecodeError('map key __proto__');
      if (key === 'rows' && body['type'] === 'rows' && typeof body['table'] === 'string' && this.header !== undefined) body[key] = this.loadRows(body['table'], reader, offset);
      else if (key === 'entries' && body['type'] === 'window' && this.header !== undefined) body[key] = this.loadWindow(reader, offset);
      else body[key] = reader.value(1);
    }
    reader.finish();
    return body;
  }

  private onHeader(body: Record<string, unknown>, offset: number): void {
    if (this.header !== undefined) throw new CorruptError(this.name, offset, 'a second header frame');
    if (body['magic'] !== magic || body['format'] !== format) throw new CorruptError(this.name, offset, `not a format-${format} chorusdb snapshot`);
    const version = body['version'];
    const horizon = body['horizon'];
    if (!Number.isSafeInteger(version) || !Number.isSafeInteger(horizon) || typeof body['fingerprint'] !== 'string') {
      throw new CorruptError(this.name, offset, 'malformed header');
    }
    let source: Schema;
    try {
      source = body['fingerprint'] === this.target.fingerprint ? this.target : new Schema(body['schema'] as SchemaDef);
    } catch (error) {
      throw new CorruptError(this.name, offset, `header schema: ${(error as Error).message}`);
    }
    const lost = lostFromHeader(body['lost']);
    if (lost === undefined) throw new CorruptError(this.name, offset, 'malformed header (lost fields)');
    const plan = planConversion(source, this.target, this.dropTables); // IncompatibleSchemaError goes out as is
    // A field whose values the image lost may not come back with defaults (IncompatibleSchemaError).
    this.header = { version: version as number, plan, source, window: new CertWindow(horizon as number), lost: lostInto(lost, this.target, this.name) };
    this.loaded = this.target.tables.map((table) => ({
      keys: [], rows: [], unique: new Map(table.indexes.filter((index) => index.unique).map((index) => [index, new Set<string>()])),
    }));
  }

  /** Loads the rows of a rows frame from `reader`; returns how many there were. */
  private loadRows(tableName: string, reader: MsgpackReader, offset: number): number {
    const header = this.header as NonNullable<ImageLoader['header']>;
    if (!header.source.hasTable(tableName)) throw new CorruptError(this.name, offset, `frame ${this.frames}: unknown table ${tableName}`);
    const count = reader.arrayHeader();
    const plan = header.plan.table(tableName);
    if (plan === undefined) {
      for (let i = 0; i < count; i++) reader.value(2); // a table the target schema dropped
      return count;
    }
    const table = plan.to;
    // Rows from another node's image lose the fields this schema lacks: noted (evolution.ts, LostFields).
    // A local schema change (dropTables) drops them on purpose.
    if (count > 0 && !this.dropTables) header.lost = withLost(header.lost, header.plan, [tableName]);
    const into = (this.loaded as NonNullable<ImageLoader['loaded']>)[table.position] as NonNullable<ImageLoader['loaded']>[number];
    const compare = comparatorFor(table.keyKind);
    let last = into.keys[into.keys.length - 1];
    for (let i = 0; i < count; i++) {
      let row: Row;
      try {
        row = plan.identity ? table.readRow(reader, 2) : rowFromArray(table, plan.convert(reader.value(2) as unknown[]));
      } catch (error) {
        if (error instanceof MsgpackDecodeError) throw error;
        throw new CorruptError(this.name, offset, `frame ${this.frames}, table ${table.name}, row ${i}: ${(error as Error).message}`);
      }
      const key = primaryKeyOf(table, row);
      if (last !== undefined && compare(last, key) >= 0) throw new CorruptError(this.name, offset, `frame ${this.frames}, table ${table.name}, row ${i}: keys out of order`);
      if (into.unique.size > 0) checkUniqueOnLoad(table, into.unique, row);
      into.keys.push(key);
      into.rows.push(row);
      last = key;
    }
    this.rows += count;
    return count;
  }

  private onRows(body: Record<string, unknown>, offset: number): void {
    // Rows were loaded while the frame was read (decodeBody); a rows frame without them is malformed.
    if (typeof body['table'] !== 'string' || typeof body['rows'] !== 'number') throw new CorruptError(this.name, offset, `frame ${this.frames}: malformed rows frame`);
  }

  private onWindow(body: Record<string, unknown>, offset: number): void {
    // Entries were loaded while the frame was read (decodeBody); a window frame without them is malformed.
    if (typeof body['entries'] !== 'number') throw new CorruptError(this.name, offset, `frame ${this.frames}: malformed window frame`);
  }

  /**
   * Loads the entries of a window frame, `[[version, [[table, key values], …]], …]`, from `reader`;
   * returns how many there were. An entry too large for one frame comes as consecutive pieces of the
   * same version (image-frames.ts): they are joined back.
   */
  private loadWindow(reader: MsgpackReader, offset: number): number {
    const window = (this.header as NonNullable<ImageLoader['header']>).window;
    const count = reader.arrayHeader();
    for (let i = 0; i < count; i++) {
      const version = reader.arrayHeader() === 2 ? reader.numberOrUndefined() ?? reader.value(2) : undefined;
      if (!Number.isSafeInteger(version)) throw new CorruptError(this.name, offset, `frame ${this.frames}: malformed window entry`);
      const previous = this.windowVersion;
      if (previous !== undefined && (version as number) < previous) throw new CorruptError(this.name, offset, `window entry ${String(version)} after ${previous}`);
      if (version !== previous) window.restoreEntry(version as number);
      this.windowVersion = version as number;
      this.loadWindowKeys(reader, version as number, window, offset);
    }
    return count;
  }

  /** Reads one window entry's keys into `window` (keys of tables the target dropped are left out). */
  private loadWindowKeys(reader: MsgpackReader, version: number, window: CertWindow, offset: number): void {
    const header = this.header as NonNullable<ImageLoader['header']>;
    const count = reader.arrayHeader();
    for (let i = 0; i < count; i++) {
      const tableName = reader.arrayHeader() === 2 ? reader.stringOrUndefined(storeNameCharsMax) ?? reader.value(4) : undefined;
      if (typeof tableName !== 'string' || !header.source.hasTable(tableName)) throw new CorruptError(this.name, offset, `window entry ${version}: key ${i} names no table of the image`);
      const values = reader.value(4);
      const plan = header.plan.table(tableName);
      if (plan === undefined) continue;
      try {
        window.restoreKey(plan.to, keyFromValues(plan.to, keyValues(plan.to.name, plan.to.primaryKey, values, false, true)));
      } catch (error) {
        throw new CorruptError(this.name, offset, `window entry ${version}: ${(error as Error).message}`);
      }
    }
  }

  private onEnd(body: Record<string, unknown>, offset: number): void {
    const digest = this.digest.digest('hex');
    if (body['frames'] !== this.frames) throw new CorruptError(this.name, offset, `end frame counts ${String(body['frames'])} frames, image has ${this.frames}`);
    if (body['rows'] !== this.rows && this.header?.plan.identity === true) throw new CorruptError(this.name, offset, `end frame counts ${String(body['rows'])} rows, image has ${this.rows}`);
    if (body['digest'] !== digest) throw new CorruptError(this.name, offset, 'image digest mismatch');
    this.ended = true;
  }
}

/** A unique index violated by converted rows is UNIQUE (the new schema's constraint), not corruption. */
function checkUniqueOnLoad(table: TableSchema, seen: ReadonlyMap<IndexSchema, Set<string>>, row: Row): void {
  for (const [index, values] of seen) {
    if (index.fields.some((field) => row[field.name] === null)) continue; // nulls are distinct
    const prefix = indexValuePrefix(index, row);
    if (values.has(prefix)) {
      const taken = index.fields.map((field) => row[field.name]);
      throw new UniqueError(table.name, index.name, index.fields.map((field) => field.name).join(','), taken.length === 1 ? taken[0] : taken);
    }
    values.add(prefix);
  }
}
