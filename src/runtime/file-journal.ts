/**
 * A Journal in one file, `<dir>/<name>.journal`: records framed `[u32 length][u32 crc32][payload]` (the
 * store's framing), appended with write and made durable with fsync.
 *
 * Recovery: every whole, checksummed frame from the start is a record. A torn or partial frame at the
 * very end (a crash during an append) is cut off. A bad frame with more data after it is corruption,
 * not a torn write: the journal refuses to open, naming the file and offset, rather than silently
 * dropping records that were acknowledged.
 *
 * Rewrite (compaction) writes the new records to `<name>.journal.tmp`, syncs it, renames it over the
 * journal and syncs the directory: a crash leaves the old journal or the new one, whole.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { frame } from '../store/codec.js';
import { FrameReader } from '../store/frames.js';
import type { Journal } from './journal.js';
import { ChorusError } from './errors.js';

export class FileJournal implements Journal {
  readonly recovered: readonly Uint8Array[];
  readonly path: string;
  private readonly dir: string;
  private fd: number;

  constructor(dir: string, name: string) {
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
  }

  sync(): void {
    fsyncSync(this.fd);
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
    closeSync(this.fd);
    renameSync(tmp, this.path);
    syncDir(this.dir);
    this.fd = openSync(this.path, 'a');
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
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
    if (result.kind === 'bad' && reader.offset + 8 + result.length < bytes.length) {
      throw new ChorusError('CORRUPT', `journal ${path} is corrupt at offset ${result.offset}: ${result.reason}, with data after it`);
    }
    return { records, goodBytes: reader.offset };
  }
}
