/**
 * The transaction log's writer over the Disk interface: appends record frames to one segment and
 * acknowledges them by sync policy, grouping the commits that arrive while a write is in flight.
 *
 * Sync policies (an append's promise resolves when…):
 *   always — its group has been written and synced; groups form while the previous sync runs;
 *   batch  — same, but a group is written every `intervalMs` (timer injected, never setTimeout);
 *   none   — its group has been handed to the disk (no sync: a crash may lose it).
 * Invariants: records reach the file in append order; a group holds at most logGroupBytesMax bytes
 * (unless one record is larger); nothing is acknowledged before the segment's predecessor finished
 * (so no acknowledged record can follow a lost one); after an I/O error every append fails.
 */
import { logGroupBytesMax } from '../limits.js';
import { assert } from '../runtime/assert.js';
import type { Disk, DiskFile } from '../disk/disk.js';

export type SyncPolicy = 'always' | 'batch' | 'none';

/** Runs `fire` once after `delayMs`; returns a cancel function. The host supplies it (real or virtual time). */
export type Schedule = (delayMs: number, fire: () => void) => () => void;

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface TxLogOptions {
  readonly policy: SyncPolicy;
  readonly schedule?: Schedule | undefined;
  readonly intervalMs: number;
}

export class TxLog {
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private cancelTimer: (() => void) | undefined;
  private failure: unknown = undefined;
  private closing = false;
  private file: DiskFile | undefined;
  /** Bytes in the segment, including those still queued. */
  bytes: number;

  private constructor(
    readonly name: string,
    private readonly options: TxLogOptions,
    private readonly ready: Promise<DiskFile>,
    startBytes: number,
  ) {
    assert(options.policy !== 'batch' || options.schedule !== undefined, 'sync policy batch needs a schedule');
    this.bytes = startBytes;
    ready.then((file) => (this.file = file), (error: unknown) => this.fail(error));
  }

  /**
   * A new segment: created, its header written and synced, and the directory synced, before any record
   * is acknowledged; and not before `predecessor` (the previous segment's close) has settled.
   */
  static create(disk: Disk, name: string, header: Uint8Array, options: TxLogOptions, predecessor: Promise<void>): TxLog {
    const ready = (async () => {
      await predecessor;
      const file = await disk.open(name, { create: true });
      await file.truncate(0);
      await file.append(header);
      await file.sync();
      await disk.syncDir();
      return file;
    })();
    return new TxLog(name, options, ready, header.length);
  }

  /** Appends `record`; resolves when it is acknowledged under the sync policy. */
  append(record: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    assert(!this.closing, `log ${this.name} is closed`);
    this.bytes += record.length;
    const done = new Promise<void>((resolve, reject) => this.queue.push({ bytes: record, resolve, reject }));
    if (this.options.policy === 'batch') {
      if (this.cancelTimer === undefined && this.flushing === undefined) {
        this.cancelTimer = (this.options.schedule as Schedule)(this.options.intervalMs, () => {
          this.cancelTimer = undefined;
          this.kick();
        });
      }
    } else {
      this.kick();
    }
    return done;
  }

  private kick(): void {
    if (this.flushing !== undefined) return;
    this.flushing = this.flushAll().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && this.failure === undefined) this.kick();
    });
  }

  private async flushAll(): Promise<void> {
    let file: DiskFile;
    try {
      file = await this.ready;
    } catch {
      return; // fail() already rejected everything
    }
    while (this.queue.length > 0 && this.failure === undefined) {
      const group = this.takeGroup();
      try {
        await file.append(concat(group));
        if (this.options.policy !== 'none') await file.sync();
      } catch (error) {
        for (const pending of group) pending.reject(error);
        this.fail(error);
        return;
      }
      for (const pending of group) pending.resolve();
    }
  }

  private takeGroup(): Pending[] {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length && (count === 0 || bytes + (this.queue[count] as Pending).bytes.length <= logGroupBytesMax)) {
      bytes += (this.queue[count] as Pending).bytes.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private fail(error: unknown): void {
    if (this.failure === undefined) this.failure = error;
    const waiting = this.queue;
    this.queue = [];
    for (const pending of waiting) pending.reject(error);
  }

  /** Writes out what is queued (whatever the policy's timer), then closes the segment. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.queue.length > 0) this.kick();
    while (this.flushing !== undefined) await this.flushing;
    const file = await this.ready.catch(() => undefined);
    await file?.close();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Opens an existing segment for appending at its end (after recovery cut any torn tail). */
  static resume(file: DiskFile, size: number, options: TxLogOptions): TxLog {
    return new TxLog(file.name, options, Promise.resolve(file), size);
  }
}

function concat(group: readonly Pending[]): Uint8Array {
  if (group.length === 1) return (group[0] as Pending).bytes;
  let length = 0;
  for (const pending of group) length += pending.bytes.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const pending of group) {
    out.set(pending.bytes, at);
    at += pending.bytes.length;
  }
  return out;
}
