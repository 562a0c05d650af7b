/**
 * A store that survives restarts: the newest snapshot image plus the log segments after it, over the
 * Disk interface. Files (one directory): `snap-<version>.chs` images, `log-<base>.chl` log segments,
 * `*.tmp` images being written (removed on open). Versions are zero-padded to 16 digits so that names
 * sort in version order.
 *
 * Open: load the newest image that is whole (a corrupt one is reported by `snapshot-corrupt`, removed,
 * and the previous image used), replay the segments after it (cutting a torn tail and reporting it
 * through the `log-truncated` event; refusing corruption before the tail with CORRUPT naming file and
 * offset), then start a new segment. Checkpoint: start a new segment at the current version, write the
 * image of that version from a view (commits go on meanwhile), then delete images and segments older
 * than the previous image.
 * Invariants: every acknowledged commit is in a synced segment or a synced, renamed image (policy
 * always/batch); the newest two images and the log from the older of them are kept, so that a corrupt
 * newest image never loses data; files are deleted only after a newer image is durable.
 */
import { createNanoEvents } from 'nanoevents';
import type { Emitter } from 'nanoevents';
import { diskReadBytesMax, logBatchIntervalMsDefault, logCheckpointBytesDefault, snapshotWriteBytesMax } from '../limits.js';
import type { Disk } from '../disk/disk.js';
import type { ChangeSet } from './changeset.js';
import { decodeMsgpack } from './codec.js';
import { CorruptError, EvolutionModeError, SchemaError } from './errors.js';
import { FrameReader } from './frames.js';
import { encodeLogHeader, encodeLogRecord } from './log-format.js';
import { replaySegment } from './recovery.js';
import { imageFrames } from './snapshot.js';
import type { SchemaDef } from './schema.js';
import { plainSchemaDef } from './schema.js';
import type { ApplyResult, StoreOptions } from './store.js';
import { Store } from './store.js';
import type { Schedule, SyncPolicy, TxLogOptions } from './txlog.js';
import { TxLog } from './txlog.js';
import type { WriteTx } from './write-tx.js';

export interface DurableStoreOptions extends StoreOptions {
  readonly disk: Disk;
  /**
   * The schema to open with; persisted data converts to it by field name (as alterSchema does: fields it
   * lacks are dropped). Left out: the schema persisted last (by alterSchema or the previous open).
   */
  readonly schema?: SchemaDef;
  /** Default `always`. */
  readonly sync?: SyncPolicy;
  /** Policy `batch`: milliseconds between group commits (default logBatchIntervalMsDefault). */
  readonly batchIntervalMs?: number;
  /** Timer for policy `batch` (the host's clock: real or simulated). */
  readonly schedule?: Schedule;
  /** Checkpoint by itself when the current segment reaches this size; 0: only when asked. */
  readonly checkpointBytes?: number;
  /** Listeners attached before recovery, so that events raised while opening are seen. */
  readonly listeners?: Partial<DurableEvents>;
}

export interface LogTruncatedEvent {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface SnapshotCorruptEvent {
  readonly file: string;
  readonly error: CorruptError;
}

export interface DurableEvents {
  /** A torn or unusable log tail was cut back to the last whole record. */
  'log-truncated': (event: LogTruncatedEvent) => void;
  /**
   * While opening: an image was corrupt (`error` names where) and an older one was used with the log
   * after it; the corrupt image was then removed.
   */
  'snapshot-corrupt': (event: SnapshotCorruptEvent) => void;
  /** A checkpoint finished: the image of `version` is durable; files older than the previous image are gone. */
  checkpoint: (event: { readonly version: number; readonly file: string }) => void;
  /** A checkpoint started by itself failed (an explicit checkpoint() rejects instead). */
  'checkpoint-failed': (event: { readonly error: unknown }) => void;
}

const pad = (version: number): string => String(version).padStart(16, '0');
export const snapshotName = (version: number): string => `snap-${pad(version)}.chs`;
export const segmentName = (base: number): string => `log-${pad(base)}.chl`;
const snapshotPattern = /^snap-(\d{16})\.chs$/;
const segmentPattern = /^log-(\d{16})\.chl$/;

export class DurableStore {
  readonly events: Emitter<DurableEvents>;
  private log: TxLog;
  private checkpointing: Promise<number> | undefined;
  private closed = false;

  private constructor(
    readonly store: Store,
    private readonly disk: Disk,
    private readonly logOptions: TxLogOptions,
    private readonly checkpointBytes: number,
    events: Emitter<DurableEvents>,
  ) {
    this.events = events;
    this.log = this.newSegment(Promise.resolve());
  }

  /** Opens (or creates) the store in `disk`: newest image, then the log after it. */
  static async open(options: DurableStoreOptions): Promise<DurableStore> {
    const events = createNanoEvents<DurableEvents>();
    for (const [name, listener] of Object.entries(options.listeners ?? {})) events.on(name as keyof DurableEvents, listener as never);
    const { disk } = options;
    const names = await disk.list();
    const schema = options.schema ?? (await persistedSchema(disk, names));
    const store = Store.open(schema, options.evolution === undefined ? {} : { evolution: options.evolution });
    for (const name of names) if (name.endsWith('.tmp')) await disk.remove(name);
    const images = names.filter((name) => snapshotPattern.test(name)).sort();
    await loadNewestWhole(disk, store, images, (event) => events.emit('snapshot-corrupt', event));
    const segments = names.filter((name) => segmentPattern.test(name)).sort();
    let cut = false;
    for (let i = 0; i < segments.length; i++) {
      const next = segments[i + 1];
      if (next !== undefined && baseOf(next) <= store.version) continue; // wholly inside the image
      const result = await replaySegment(disk, segments[i] as string, store, cut, (event) => events.emit('log-truncated', event));
      cut ||= result.cut;
      if (result.gap) {
        for (const later of segments.slice(i + 1)) await disk.remove(later);
        await disk.syncDir();
        break;
      }
    }
    const policy = options.sync ?? 'always';
    const logOptions: TxLogOptions = { policy, schedule: options.schedule, intervalMs: options.batchIntervalMs ?? logBatchIntervalMsDefault };
    return new DurableStore(store, disk, logOptions, options.checkpointBytes ?? logCheckpointBytesDefault, events);
  }

  private newSegment(predecessor: Promise<void>): TxLog {
    const header = encodeLogHeader({ schema: plainSchemaDef(this.store.schema.def), fingerprint: this.store.schema.fingerprint, base: this.store.version });
    return TxLog.create(this.disk, segmentName(this.store.version), header, this.logOptions, predecessor);
  }

  /** A local commit: write + apply now (visible at once), resolved when durable under the sync policy. */
  async commit(body: (tx: WriteTx) => void): Promise<ApplyResult> {
    return this.logged(this.store.commit(body));
  }

  /** Applies a change-set (a refusal — CONFLICT, UNIQUE… — rejects), resolved when durable. */
  async apply(changeSet: ChangeSet): Promise<ApplyResult> {
    return this.logged(this.store.apply(changeSet));
  }

  private async logged(result: ApplyResult): Promise<ApplyResult> {
    if (result.writes.length === 0) return result;
    const durable = this.log.append(encodeLogRecord(result.version, result.writes));
    if (this.checkpointBytes > 0 && this.log.bytes >= this.checkpointBytes && this.checkpointing === undefined) {
      this.checkpoint().catch((error: unknown) => this.events.emit('checkpoint-failed', { error }));
    }
    await durable;
    return result;
  }

  /**
   * Changes the schema at run time, converting every row by field name (Store.alterSchema), and makes
   * it durable: later records go to a new segment whose header names the new schema, and a checkpoint
   * writes an image in it, so that a reopen sees the new schema. Refused with EVOLUTION_MODE in
   * evolution mode; INCOMPATIBLE_SCHEMA or UNIQUE leave the store and its files unchanged.
   */
  async alterSchema(def: SchemaDef): Promise<void> {
    if (this.store.evolution) throw new EvolutionModeError();
    // No checkpoint may be in flight from here on (its image would be of the old schema, and checkpoint()
    // would hand us its promise instead of writing ours).
    while (this.checkpointing !== undefined) await this.checkpointing.catch(() => undefined);
    this.store.alterSchema(def);
    const old = this.log;
    this.log = this.newSegment(old.close());
    await this.checkpoint();
  }

  /** Writes an image of the current version and deletes what it makes unnecessary. Resolves to its version. */
  checkpoint(): Promise<number> {
    if (this.checkpointing !== undefined) return this.checkpointing;
    this.checkpointing = this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<number> {
    const version = this.store.version;
    const source = this.store.imageSource();
    const old = this.log;
    const rotated = old.name !== segmentName(version);
    const oldClosed = rotated ? old.close() : Promise.resolve();
    if (rotated) this.log = this.newSegment(oldClosed);
    const file = snapshotName(version);
    await writeImage(this.disk, file, imageFrames(source));
    await oldClosed;
    // Keep the image before this one, and the log from it: should this image be found corrupt when
    // opening, that image plus the log replays to the same state. Older files go.
    const names = await this.disk.list();
    const versions = names.flatMap((name) => snapshotPattern.exec(name)?.[1] ?? []).map(Number);
    const keep = Math.max(-1, ...versions.filter((v) => v < version));
    const from = keep < 0 ? version : keep;
    for (const name of names) {
      const image = snapshotPattern.exec(name);
      const segment = segmentPattern.exec(name);
      if ((image !== null && Number(image[1]) < from) || (segment !== null && Number(segment[1]) < from)) await this.disk.remove(name);
    }
    await this.disk.syncDir();
    this.events.emit('checkpoint', { version, file });
    return version;
  }

  /** Flushes the log and closes its file. The store stays readable; nothing more can be committed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.checkpointing?.catch(() => undefined);
    await this.log.close();
  }
}

/** The schema in the newest segment header (or, without segments, image header) that can be read. */
async function persistedSchema(disk: Disk, names: readonly string[]): Promise<SchemaDef> {
  const segments = names.filter((name) => segmentPattern.test(name)).sort().reverse();
  const images = names.filter((name) => snapshotPattern.test(name)).sort().reverse();
  for (const name of [...segments, ...images]) {
    const file = await disk.open(name, { create: false });
    try {
      const reader = new FrameReader();
      reader.push(await file.read(0, diskReadBytesMax));
      const first = reader.next();
      if (first.kind !== 'frame') continue;
      const header = decodeMsgpack(first.payload) as { schema?: unknown } | null;
      if (typeof header === 'object' && header !== null && typeof header.schema === 'object' && header.schema !== null) return header.schema as SchemaDef;
    } catch {
      continue; // an unreadable header: look at older files
    } finally {
      await file.close();
    }
  }
  throw new SchemaError(undefined, undefined, 'no schema given, and the directory holds no readable schema');
}

/**
 * Restores the newest image that loads; a corrupt newer one is reported, removed, and the one before it
 * used (checkpoints keep it, and the log from it, for this). With none whole, the first error is thrown.
 */
async function loadNewestWhole(disk: Disk, store: Store, images: readonly string[], report: (event: SnapshotCorruptEvent) => void): Promise<void> {
  let firstError: CorruptError | undefined;
  const corrupt: string[] = [];
  for (let i = images.length - 1; i >= 0; i--) {
    const name = images[i] as string;
    try {
      await store.restore(readChunks(disk, name), name); // all or nothing: the store is unchanged on failure
    } catch (error) {
      if (!(error instanceof CorruptError)) throw error;
      firstError ??= error;
      corrupt.push(name);
      report({ file: name, error });
      continue;
    }
    for (const name of corrupt) await disk.remove(name);
    if (corrupt.length > 0) await disk.syncDir();
    return;
  }
  if (firstError !== undefined) throw firstError;
}

function baseOf(segment: string): number {
  return Number((segmentPattern.exec(segment) as RegExpExecArray)[1]);
}

/** A file's bytes in chunks of diskReadBytesMax. */
export async function* readChunks(disk: Disk, name: string): AsyncGenerator<Uint8Array> {
  const file = await disk.open(name, { create: false });
  try {
    const size = await file.size();
    for (let offset = 0; offset < size; offset += diskReadBytesMax) yield await file.read(offset, Math.min(diskReadBytesMax, size - offset));
  } finally {
    await file.close();
  }
}

/** Writes frames to `<name>.tmp`, syncs, renames to `name`, syncs the directory. */
async function writeImage(disk: Disk, name: string, frames: Iterable<Uint8Array>): Promise<void> {
  const temp = `${name}.tmp`;
  const file = await disk.open(temp, { create: true });
  try {
    await file.truncate(0);
    let batch: Uint8Array[] = [];
    let bytes = 0;
    for (const frame of frames) {
      batch.push(frame);
      bytes += frame.length;
      if (bytes < snapshotWriteBytesMax) continue;
      await file.append(join(batch, bytes));
      batch = [];
      bytes = 0;
    }
    if (bytes > 0) await file.append(join(batch, bytes));
    await file.sync();
  } finally {
    await file.close();
  }
  await disk.rename(temp, name);
  await disk.syncDir();
}

function join(chunks: readonly Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
