/**
 * A Journal in one file, `<dir>/<name>.journal`: records framed `[u32 length][u32 crc32][payload]` (the
 * store's framing), appended with write and made durable with fsync.
 *
 * Recovery (journal-recovery.ts): every whole, checksummed frame from the start is a record. Synced-up-to
 * marks in the file tell a damaged frame in the synced part (the journal refuses to open, naming the
 * file and offset) from a torn or unsynced tail (cut off, and reported in `tailCut` for the actor to
 * log). A mark rides in the write of the first append after each fsync that returned, and ends each
 * rewrite; on open, what was recovered is fsynced (it may have reached only the page cache before a
 * crash of the process) and marked with the next append.
 *
 * Background sync (syncThen): fs.fsync on libuv's pool; a request made while one runs waits for the
 * next, which covers every record appended by then (group commit). The message goes back through the
 * host's `deliver`. A sync under way when the journal is rewritten or closed keeps its file descriptor
 * open until it returns, and its requests move to the next request (see Journal.syncThen).
 *
 * Rewrite (compaction) writes the new records to `<name>.journal.tmp`, syncs it, renames it over the
 * journal and syncs the directory: a crash leaves the old journal or the new one, whole. A journal
 * created at open has its directory synced too: else a power cut may take the file's name, and with
 * it every record fsynced into the file (test/chaos/power-cut.test.ts); so has the parent of every
 * directory made for it (a new dataDir's own name).
 */
import { closeSync, existsSync, fsync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { frame } from '../store/codec.js';
import type { Journal } from './journal.js';
import type { Message } from './actor.js';
import { assert } from './assert.js';
import { markFrame, markFrameBytes, markValue, recoverJournal } from './journal-recovery.js';

export class FileJournal implements Journal {
  recovered: readonly Uint8Array[];
  readonly tailCut: { readonly offset: number; readonly bytes: number; readonly reason: string } | undefined;
  readonly path: string;
  private readonly dir: string;
  private fd: number;
  /** Records appended so far (a sequence number for syncThen). */
  private appended = 0;
  /** Bytes in the file. */
  private written: number;
  /** The highest synced offset a mark in the file states (-1: none yet). */
  private marked: number;
  /** A synced offset not yet marked: its mark goes with the next append. */
  private markDue: number | undefined;
  /** syncThen requests: the appends each waits for, in order. */
  private waiting: { readonly upTo: number; readonly message: Message }[] = [];
  /** Requests from before a rewrite, released with the next request after it. */
  private carried: Message[] = [];
  /** A background fsync under way (its descriptor, closed when it returns if the journal moved on). */
  private syncing: { readonly fd: number; readonly upTo: number; readonly bytes: number; stale: boolean } | undefined;

  /** `deliver` hands a syncThen message back to the actor (absent: syncThen is not offered). */
  constructor(dir: string, name: string, private readonly deliver?: (message: Message) => void) {
    makeDurableDir(dir);
    this.dir = dir;
    this.path = join(dir, `${name}.journal`);
    rmSync(`${this.path}.tmp`, { force: true }); // a rewrite that did not finish: the journal itself is whole
    const found = existsSync(this.path) ? recoverJournal(this.path) : undefined;
    if (found !== undefined) truncateSync(this.path, found.goodBytes);
    this.recovered = found?.records ?? [];
    this.tailCut = found?.cut;
    this.fd = openSync(this.path, 'a');
    if (found === undefined) syncDir(dir); // a new file's name is durable only once its directory is synced
    this.written = found?.goodBytes ?? 0;
    this.marked = found?.syncedBytes ?? -1;
    if (this.written > this.marked && this.written > 0) fsyncSync(this.fd); // recovered, so durable from now on
    this.markDue = this.written > this.marked ? this.written : undefined; // a fresh journal: marked from its first append
  }

  append(record: Uint8Array): void {
    assert(record.length > 0 && markValue(record) === undefined, `journal ${this.path}: a record must not be empty nor a synced-up-to mark`);
    const framed = frame(record);
    if (this.markDue === undefined) {
      writeAll(this.fd, framed);
    } else {
      const both = new Uint8Array(markFrameBytes + framed.length);
      both.set(markFrame(this.markDue));
      both.set(framed, markFrameBytes);
      writeAll(this.fd, both);
      this.marked = this.markDue;
      this.markDue = undefined;
      this.written += markFrameBytes;
    }
    this.written += framed.length;
    this.appended++;
  }

  sync(): void {
    fsyncSync(this.fd);
    this.syncedTo(this.written);
  }

  releaseRecovered(): void {
    this.recovered = [];
  }

  /** Every byte before `bytes` is durable: the next append marks it. */
  private syncedTo(bytes: number): void {
    if (bytes > this.marked && bytes > (this.markDue ?? -1)) this.markDue = bytes;
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
    const sync = { fd: this.fd, upTo: this.appended, bytes: this.written, stale: false };
    this.syncing = sync;
    fsync(sync.fd, (error) => {
      this.syncing = undefined;
      if (sync.stale) {
        closeSync(sync.fd); // rewritten or closed meanwhile: its requests moved on
      } else {
        if (error === null) this.syncedTo(sync.bytes);
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
    let bytes = 0;
    try {
      for (const record of records) {
        assert(record.length > 0 && markValue(record) === undefined, `journal ${this.path}: a record must not be empty nor a synced-up-to mark`);
        const framed = frame(record);
        writeAll(fd, framed);
        bytes += framed.length;
      }
      writeAll(fd, markFrame(bytes)); // synced below, before the rename makes it the journal
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.release(this.fd);
    renameSync(tmp, this.path);
    syncDir(this.dir);
    this.fd = openSync(this.path, 'a');
    this.written = bytes + markFrameBytes;
    this.marked = bytes;
    this.markDue = undefined;
    // Waiting requests are released with the next one, which syncs what is appended again after this.
    for (const waiting of this.waiting) this.carried.push(waiting.message);
    this.waiting = [];
  }

  close(): void {
    if (this.fd < 0) return;
    if (this.markDue !== undefined) {
      // The last sync's mark, which no append will carry now: it keeps a damaged frame among those
      // records from reading as a torn tail. Only protection is lost if the disk refuses it.
      try {
        writeAll(this.fd, markFrame(this.markDue));
        fsyncSync(this.fd);
      } catch {
        // The records were synced already; the journal stays readable without the mark.
      }
      this.markDue = undefined;
    }
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

/**
 * Makes `dir` (and its missing parents) durably: each directory made is named in its parent, which is
 * synced, so a power cut cannot take a new dataDir with the journal in it.
 */
function makeDurableDir(dir: string): void {
  const made = mkdirSync(dir, { recursive: true }); // the topmost directory made; undefined: none
  if (made === undefined) return;
  for (let d = resolve(dir); d !== dirname(d); d = dirname(d)) {
    syncDir(dirname(d));
    if (d === resolve(made)) return;
  }
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
