/**
 * The transaction log's format, pure (bytes in, records out; records in, bytes out).
 *
 * A log segment is a sequence of frames `[u32 length][u32 crc32][msgpack payload]` (little-endian):
 * first a header `{ type: 'chorusdb-log', format: 1, schema, fingerprint, base }` (base: the store
 * version before the segment's first record), then one record per applied change-set:
 * `[version, writes]`, each write `[table, row]` (row: values in the header schema's field order) or
 * `[table, null, key]` for a delete. Versions increase by one from record to record.
 *
 * Recovery: a frame that is bad (impossible length, CRC mismatch, or cut short) is a torn tail when
 * nothing whole can follow it — it reaches the end of the file, or only zero bytes follow — and is cut
 * off; anywhere else it is corruption and the log refuses to open.
 */
import { CorruptError } from './errors.js';
import { decodeMsgpack, encodeMsgpack, frame } from './codec.js';
import { MsgpackDecodeError, MsgpackReader } from './msgpack-decode.js';
import type { WriteRef } from './changeset.js';
import type { SchemaDef } from './schema.js';
import type { Value } from './values.js';

export const logFormat = 1;
export const logMagic = 'chorusdb-log';

export interface LogHeader {
  readonly schema: SchemaDef;
  readonly fingerprint: string;
  readonly base: number;
}

/** A write as stored in the log: the key only for deletes (a stored row carries its key). */
export interface LogWrite {
  readonly table: string;
  readonly row: readonly unknown[] | null;
  readonly key: readonly unknown[] | null;
}

export interface LogRecord {
  readonly version: number;
  readonly writes: readonly LogWrite[];
}

export function encodeLogHeader(header: LogHeader): Uint8Array {
  return frame(encodeMsgpack({ type: logMagic, format: logFormat, schema: header.schema, fingerprint: header.fingerprint, base: header.base }));
}

/** One record frame. `writes` are in the header schema (rows as value arrays). */
export function encodeLogRecord(version: number, writes: readonly WriteRef[]): Uint8Array {
  const out: unknown[] = new Array(writes.length);
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i] as WriteRef;
    out[i] = write.row === null ? [write.table, null, write.key] : [write.table, write.row as readonly Value[]];
  }
  return frame(encodeMsgpack([version, out]));
}

function decode(payload: Uint8Array, source: string, offset: number): unknown {
  try {
    return decodeMsgpack(payload);
  } catch (error) {
    throw new CorruptError(source, offset, `undecodable msgpack (${(error as Error).message})`);
  }
}

export function decodeLogHeader(payload: Uint8Array, source: string, offset: number): LogHeader {
  const data = decode(payload, source, offset) as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null || data['type'] !== logMagic) throw new CorruptError(source, offset, 'not a chorusdb log (no header)');
  if (data['format'] !== logFormat) throw new CorruptError(source, offset, `log format ${String(data['format'])} is not ${logFormat}`);
  if (typeof data['fingerprint'] !== 'string' || !Number.isSafeInteger(data['base']) || typeof data['schema'] !== 'object') {
    throw new CorruptError(source, offset, 'malformed log header');
  }
  return { schema: data['schema'] as SchemaDef, fingerprint: data['fingerprint'], base: data['base'] as number };
}

export function decodeLogRecord(payload: Uint8Array, source: string, offset: number): LogRecord {
  const data = decode(payload, source, offset);
  if (!Array.isArray(data) || data.length !== 2 || !Number.isSafeInteger(data[0]) || !Array.isArray(data[1])) {
    throw new CorruptError(source, offset, 'malformed log record');
  }
  const writes = (data[1] as unknown[]).map((write): LogWrite => {
    if (!Array.isArray(write) || typeof write[0] !== 'string') throw new CorruptError(source, offset, 'malformed write in log record');
    if (write.length === 2 && Array.isArray(write[1])) return { table: write[0], row: write[1] as unknown[], key: null };
    if (write.length === 3 && write[1] === null && Array.isArray(write[2])) return { table: write[0], row: null, key: write[2] as unknown[] };
    throw new CorruptError(source, offset, 'malformed write in log record');
  });
  return { version: data[0] as number, writes };
}

/** What visitLogRecord hands each write to: a stored row (read it from `reader`) or a deleted key. */
export interface LogRecordVisitor {
  row(table: string, reader: MsgpackReader): void;
  remove(table: string, key: readonly unknown[]): void;
}

/** A record's version, read without decoding its writes (recovery decides from it what to do). */
export function logRecordVersion(payload: Uint8Array, source: string, offset: number): number {
  return guard(source, offset, () => {
    const reader = new MsgpackReader(payload);
    if (reader.arrayHeader() !== 2) throw new CorruptError(source, offset, 'malformed log record');
    const version = reader.value(1);
    if (!Number.isSafeInteger(version)) throw new CorruptError(source, offset, 'malformed log record');
    return version as number;
  });
}

/**
 * Reads a record's writes one by one into `visitor`, rows straight from the bytes (replaying a million
 * records this way skips four arrays and an object per write that decodeLogRecord makes). Same
 * checks as decodeLogRecord; errors the visitor throws pass through.
 */
export function visitLogRecord(payload: Uint8Array, source: string, offset: number, visitor: LogRecordVisitor): void {
  guard(source, offset, () => {
    const reader = new MsgpackReader(payload);
    const malformed = (): never => {
      throw new CorruptError(source, offset, 'malformed write in log record');
    };
    if (reader.arrayHeader() !== 2 || !Number.isSafeInteger(reader.value(1))) throw new CorruptError(source, offset, 'malformed log record');
    const writes = reader.arrayHeader();
    for (let i = 0; i < writes; i++) {
      const length = reader.arrayHeader();
      const table = reader.value(2);
      if (typeof table !== 'string') malformed();
      if (length === 2) {
        if (!reader.nextIsArray()) malformed();
        visitor.row(table as string, reader);
      } else if (length === 3) {
        if (reader.value(2) !== null) malformed();
        const key = reader.value(2);
        if (!Array.isArray(key)) malformed();
        visitor.remove(table as string, key as unknown[]);
      } else malformed();
    }
    reader.finish();
  });
}

/** Runs `read`, turning msgpack errors into CorruptError naming the record. */
function guard<T>(source: string, offset: number, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof MsgpackDecodeError)) throw error;
    throw new CorruptError(source, offset, `undecodable msgpack (${error.message})`);
  }
}

/**
 * Whether a bad or cut-short frame at the end of what parsed is a torn tail (cut it off) or corruption.
 * `frameEnd`: where the frame would end, when its length field is plausible; `restAllZero`: every byte
 * from the frame's start to the end of the file is zero (a preallocated or zero-filled tail).
 */
export function isTornTail(frameEnd: number | undefined, fileBytes: number, restAllZero: boolean): boolean {
  if (restAllZero) return true;
  return frameEnd !== undefined && frameEnd >= fileBytes;
}
