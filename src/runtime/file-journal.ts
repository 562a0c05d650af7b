/**
 * A Journal in one file, `<dir>/<name>.journal`: records framed `[u32 length][u32 crc32][payload]` (the
 * store's framing), appended with write and made durable with fsync.
 *
 * Recovery: every whole, checksummed frame from the start is a record. A torn or partial frame at the
 * very end (a crash during an append) is cut off. A bad frame with more data after it is corruption,
 * not a torn write: the journal refuses to open, naming the file and offset, rather than silently
 * dropping records that were acknowledged.
 *
 * Background sync (syncThen): fs.fsync on libuv's pool; a request made while one runs waits for the
 * next, which covers every record appended by then (group commit). The message goes back through the
 * host's `deliver`. A sync under way when the journal is rewritten or closed keeps its file descriptor
 * open until it returns, and its requests move to the next request (see Journal.syncThen).
 *
 * Rewrite (compaction) writes the new records to `<name>.journal.tmp`, syncs it, renames it over the
 * journal and syncs the directory: a crash leaves the old journal or the new one, whole.
 */
import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { frame, frameHeaderBytes } from '../store/codec.js';
import { FrameReader } from '../store/frames.js';
import { isTornTail } from '../store/log-format.js';
import type { Journal } from './journal.js';
import type { Message } from './actor.js';
import { ChorusError } from './errors.js';

export class FileJournal implements Journal {
  readonly recovered: readonly Uint8Array[];
  readonly path: string;
  private readonly dir: string;
  private fd: number;
  /** Records appended so far (a sequence number for syncThen). */
  private appended = 0;
  /** syncThen requests: the appends each waits for, in order. */
  private waiting: { readonly upTo: number; readonly message: Message }[] = [];
  /** Requests from before a rewrite, released with the next request after it. */
  private carried: Message[] = [];
  /** A background fsync under way (its descriptor, closed when it returns if the journal moved on). */
  private syncing: { readonly fd: number; readonly upTo: number; stale: boolean } | undefined;

  /** `deliver` hands a syncThen message back to the actor (absent: syncThen is not offered). */
  constructor(dir: string, name: string, private readonly deliver?: (message: Message) => void) {
    mkdirSync(dir, { recursive: true });
    this.dir = dir;
    this.path = join(dir, `${name}.journal`);
    rmSync(`${this.path}.tmp`, { force: true }); // a rewrite that did not finish: the journal itself is whole
    const { records, goodBytes } = existsSync(this.path) ? recover(this.path) : { records: [], goodBytes: 0 };
    if (existsSync(this.path)) truncateSync(this.path, goodBytes);
    this.recovered = records;
    this.fd = openSync(this.path, 'a');
  }

  append(record: Uint8Array): void {
    writeAll(this.fd, frame(record));
    this.appended++;
  }

  sync(): void {
    fsyncSync(this.fd);
  }

  get syncThen(): ((message: Message) => void) | undefined {
    return this.deliver === undefined ? undefined : this.requestSync;
  }

  private readonly requestSync = (message: Message): void => {
    if (this.fd < 0) return;
    for (const carried of this.carried) this.waiting.push({ upTo: this.appended, message: carried });
    this.carried = [];
    this.waiting.push({ upTo: this.appended, message });
    if (this.syncing === undefined) this.startSync();
  };

  private startSync(): void {
    const sync = { fd: this.fd, upTo: this.appended, stale: false };
    this.syncing = sync;
    fsync(sync.fd, (error) => {
      this.syncing = undefined;
      if (sync.stale) {
        closeSync(sync.fd); // rewritten or closed meanwhile: its requests moved on
      } else {
        const done: Message[] = [];
        while (this.waiting.length > 0 && this.waiting[0]!.upTo <= sync.upTo) done.push(this.waiting.shift()!.message);
        for (const message of done) {
          const failed: Message & { readonly failed: string } | undefined = error === null ? undefined : { ...message, failed: `fsync of ${this.path}: ${error.message}` };
          this.deliver!(failed ?? message);
        }
      }
      if (this.waiting.length > 0 && this.fd >= 0) this.startSync();
    });
  }

  /** The descriptor is closed now, or by the background sync using it when that returns. */
  private release(fd: number): void {
    if (this.syncing?.fd === fd) this.syncing.stale = true;
    else closeSync(fd);
  }

  rewrite(records: readonly Uint8Array[]): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (const record of records) writeAll(fd, frame(record));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.release(this.fd);
    renameSync(tmp, this.path);
    syncDir(this.dir);
    this.fd = openSync(this.path, 'a');
    // Waiting requests are released with the next one, which syncs what is appended again after this.
    for (const waiting of this.waiting) this.carried.push(waiting.message);
    this.waiting = [];
  }

  close(): void {
    if (this.fd < 0) return;
    this.release(this.fd);
    this.fd = -1;
    this.waiting = [];
    this.carried = [];
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

/** Makes a rename in `dir` durable (where the platform allows opening a directory). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open a directory for fsync; NTFS journals the rename itself.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function zeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function recover(path: string): { records: Uint8Array[]; goodBytes: number } {
  const bytes = readFileSync(path);
  const reader = new FrameReader();
  reader.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const records: Uint8Array[] = [];
  for (;;) {
    const result = reader.next();
    if (result.kind === 'frame') {
      records.push(result.payload.slice());
      continue;
    }
    // A frame cut short by the end of the file, or zeros to the end (after a power loss the file's size may
    // reach the disk before its data: XFS, ext4 data=writeback), is a torn tail: nothing there was acknowledged.
    if (result.kind === 'bad' && !isTornTail(result.offset + frameHeaderBytes + result.length, bytes.length, zeroFrom(bytes, result.offset))) {
      throw new ChorusError('CORRUPT', `journal ${path} is corrupt at offset ${result.offset}: ${result.reason}, with data after it. If the other nodes hold a quorum without this one, move its data directory aside and start it again: it rejoins empty and catches up from them (docs/cluster.md, "Durability")`);
    }
    return { records, goodBytes: reader.offset };
  }
}
