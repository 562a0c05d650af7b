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
 */
import { readFileSync } from 'node:fs';
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

/** The highest offset stated by a whole mark that starts at or after `from` (-1: none). */
function marksFrom(bytes: Buffer, from: number): number {
  let highest = -1;
  for (let at = bytes.indexOf(markMagic, from + frameHeaderBytes); at >= 0; at = bytes.indexOf(markMagic, at + 1)) {
    const start = at - frameHeaderBytes;
    if (bytes.readUInt32LE(start) !== markPayloadBytes || at + markPayloadBytes > bytes.length) continue;
    if (crc32Range(bytes, at, at + markPayloadBytes) !== bytes.readUInt32LE(start + 4)) continue;
    const value = markValue(bytes.subarray(at, at + markPayloadBytes));
    if (value !== undefined && value <= start) highest = Math.max(highest, value); // a mark never speaks of bytes after itself
  }
  return highest;
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

export function recoverJournal(path: string): RecoveredJournal {
  const bytes = readFileSync(path);
  const reader = new FrameReader();
  reader.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const records: Uint8Array[] = [];
  let synced = -1;
  for (;;) {
    const result = reader.next();
    if (result.kind === 'frame') {
      const mark = markValue(result.payload);
      if (mark === undefined) records.push(result.payload.slice());
      else synced = Math.max(synced, mark);
      continue;
    }
    const offset = reader.offset;
    const syncedBytes = Math.max(synced, marksFrom(bytes, offset));
    if (offset === bytes.length) return { records, goodBytes: offset, syncedBytes, cut: undefined };
    const length = bytes.length - offset >= 4 ? bytes.readUInt32LE(offset) : undefined;
    const reason = result.kind === 'bad' ? result.reason : `a frame of ${length ?? 'unknown'} bytes runs past the end of the file`;
    const tail = syncedBytes >= 0
      ? offset >= syncedBytes
      : result.kind === 'more' || isTornTail(offset + frameHeaderBytes + result.length, bytes.length, zeroFrom(bytes, offset));
    if (!tail) {
      const detail = syncedBytes >= 0 ? `; the journal was synced up to offset ${syncedBytes}, so synced records are damaged` : ', with data after it';
      throw corrupt(path, offset, `${reason}${detail}`);
    }
    return { records, goodBytes: offset, syncedBytes, cut: { offset, bytes: bytes.length - offset, reason } };
  }
}

function corrupt(path: string, offset: number, what: string): ChorusError {
  return new ChorusError('CORRUPT', `journal ${path} is corrupt at offset ${offset}: ${what}. If the other nodes hold a quorum without this one, move its data directory aside and start it again: it rejoins empty and catches up from them (docs/cluster.md, "Durability")`);
}

function zeroFrom(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
