/**
 * What a file journal (file-journal.ts) holds after a crash, and where its synced part ends.
 *
 * Frames are `[u32 length][u32 crc32][payload]`; the checksum covers the payload, not the length. Besides
 * the records, the journal holds synced-up-to marks: the msgpack record `{ s: offset }` (offset as a
 * float64: 12 bytes, always the same first four), saying every byte before that offset had been fsynced
 * when the mark was written. A mark rides in the write of the first append after each fsync that
 * returned (no write or fsync of its own), ends every rewrite, and is written at close. Marks are not
 * given back as records; a chorusdb from before them reads one as a record it ignores.
 *
 * Recovery reads whole, checksummed frames from the start. At the first frame that is not (a bad
 * checksum, an impossible length, a frame running past the end), the synced offset is the highest any
 * mark in the file states, the marks after that frame included (found by their magic and checksum: a
 * damaged length hides the frames after it from the reader, not from a search):
 * - the frame starts at or after it: nothing there was acknowledged (a crash during unsynced appends,
 *   which the disk may have written back in any order: a hole, then whole frames). That tail is cut,
 *   and reported so that the caller logs it.
 * - it starts before it: synced records are damaged (a flipped bit, in a length too). The journal is
 *   refused, naming the offset, never cut.
 * A journal without marks (written before them) keeps the rule it had: a frame cut short by the end of
 * the file, or zeros to the end, is a torn tail; anything else with data after it is refused.
 * Not told apart: a damaged frame among the records of the last fsync before a crash (their mark
 * would have come with the next append, or at close) reads as a torn tail, as before marks; and a file
 * cut short at a frame's boundary (no mark speaks of bytes after itself).
 *
 * The file is read in chunks of `chunkBytes` (diskReadBytesMax by default), never whole: a journal holds
 * the database's image, and a file read whole cannot pass 2 GiB (Node's limit on one read). What is kept
 * is the records, copied out of the chunks.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { diskReadBytesMax } from '../limits.js';
import { crc32Range, frame, frameHeaderBytes } from '../store/codec.js';
import { FrameReader } from '../store/frames.js';
import { isTornTail } from '../store/log-format.js';
import { ChorusError } from './errors.js';

const markMagic = Uint8Array.from([0x81, 0xa1, 0x73, 0xcb]); // msgpack: a map of one, "s", a float64
const markPayloadBytes = markMagic.length + 8;
/** A mark's whole frame. */
export const markFrameBytes = frameHeaderBytes + markPayloadBytes;

/** The framed mark: every byte before `syncedBytes` is durable. */
export function markFrame(syncedBytes: number): Uint8Array {
  const payload = new Uint8Array(markPayloadBytes);
  payload.set(markMagic);
  new DataView(payload.buffer).setFloat64(markMagic.length, syncedBytes, false);
  return frame(payload);
}

/** The offset a mark's payload states; undefined when the payload is a record. */
export function markValue(payload: Uint8Array): number | undefined {
  if (payload.length !== markPayloadBytes) return undefined;
  for (let i = 0; i < markMagic.length; i++) if (payload[i] !== markMagic[i]) return undefined;
  const value = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(markMagic.length, false);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * What the file holds from `from` to its end, read in chunks: the highest offset a whole mark there
 * states (-1: none; a mark never speaks of bytes after itself), and whether those bytes are all zeros.
 * Chunks overlap by a mark's frame less one byte, so a mark cut by a chunk's end is found in the next.
 */
function scanTail(fd: number, from: number, size: number, chunkBytes: number): { readonly highestMark: number; readonly allZero: boolean } {
  let highest = -1;
  let allZero = true;
  const overlap = markFrameBytes - 1;
  const buffer = Buffer.allocUnsafe(Math.max(chunkBytes, markFrameBytes) + overlap);
  for (let at = from; at < size; ) {
    const bytes = buffer.subarray(0, readAt(fd, buffer, at, Math.min(buffer.length, size - at)));
    if (allZero && bytes.some((b, i) => b !== 0 && (at === from || i >= overlap))) allZero = false;
    for (let found = bytes.indexOf(markMagic, frameHeaderBytes); found >= 0; found = bytes.indexOf(markMagic, found + 1)) {
      const start = found - frameHeaderBytes;
      if (bytes.readUInt32LE(start) !== markPayloadBytes || found + markPayloadBytes > bytes.length) continue;
      if (crc32Range(bytes, found, found + markPayloadBytes) !== bytes.readUInt32LE(start + 4)) continue;
      const value = markValue(bytes.subarray(found, found + markPayloadBytes));
      if (value !== undefined && value <= at + start) highest = Math.max(highest, value);
    }
    if (at + bytes.length >= size) break;
    at += bytes.length - overlap;
  }
  return { highestMark: highest, allZero };
}

/** Reads `length` bytes at file offset `position` into `buffer` (all of them: short reads are read on). */
function readAt(fd: number, buffer: Uint8Array, position: number, length: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

export interface RecoveredJournal {
  readonly records: Uint8Array[];
  /** Where the whole frames end (the file is cut there). */
  readonly goodBytes: number;
  /** The highest synced offset a mark states (-1: the file holds no mark). */
  readonly syncedBytes: number;
  /** What was cut off the end, if anything. */
  readonly cut: { readonly offset: number; readonly bytes: number; readonly reason: string } | undefined;
}

export function recoverJournal(path: string, chunkBytes: number = diskReadBytesMax): RecoveredJournal {
  const fd = openSync(path, 'r');
  try {
    return recoverFrom(fd, path, fstatSync(fd).size, chunkBytes);
  } finally {
    closeSync(fd);
  }
}

function recoverFrom(fd: number, path: string, size: number, chunkBytes: number): RecoveredJournal {
  const reader = new FrameReader();
  const records: Uint8Array[] = [];
  let synced = -1;
  let pushed = 0;
  for (;;) {
    const result = reader.next();
    if (result.kind === 'frame') {
      const mark = markValue(result.payload);
      if (mark === undefined) records.push(result.payload.slice());
      else synced = Math.max(synced, mark);
      continue;
    }
    if (result.kind === 'more' && pushed < size) {
      // A chunk of its own each time: the reader may keep the last one it was given.
      // A Uint8Array, not a Buffer: a Buffer's slice() is a view, and a record must be a copy of its own.
      const chunk = new Uint8Array(Math.min(chunkBytes, size - pushed));
      const got = readAt(fd, chunk, pushed, chunk.length);
      if (got === 0) throw corrupt(path, pushed, `the file ended at ${pushed} bytes while being read (it was ${size})`);
      reader.push(chunk.subarray(0, got));
      pushed += got;
      continue;
    }
    const offset = reader.offset;
    if (offset === size) return { records, goodBytes: offset, syncedBytes: synced, cut: undefined };
    const tailScan = scanTail(fd, offset, size, chunkBytes);
    const syncedBytes = Math.max(synced, tailScan.highestMark);
    const head = Buffer.alloc(4);
    const length = size - offset >= 4 && readAt(fd, head, offset, 4) === 4 ? head.readUInt32LE(0) : undefined;
    const reason = result.kind === 'bad' ? result.reason : `a frame of ${length ?? 'unknown'} bytes runs past the end of the file`;
    const tail = syncedBytes >= 0
      ? offset >= syncedBytes
      : result.kind === 'more' || isTornTail(offset + frameHeaderBytes + result.length, size, tailScan.allZero);
    if (!tail) {
      const detail = syncedBytes >= 0 ? `; the journal was synced up to offset ${syncedBytes}, so synced records are damaged` : ', with data after it';
      throw corrupt(path, offset, `${reason}${detail}`);
    }
    return { records, goodBytes: offset, syncedBytes, cut: { offset, bytes: size - offset, reason } };
  }
}

function corrupt(path: string, offset: number, what: string): ChorusError {
  return new ChorusError('CORRUPT', `journal ${path} is corrupt at offset ${offset}: ${what}. If the other nodes hold a quorum without this one, move its data directory aside and start it again: it rejoins empty and catches up from them (docs/cluster.md, "Durability")`);
}
