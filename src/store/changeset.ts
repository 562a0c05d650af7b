/**
 * Change-sets: what a write transaction did, as plain data, its guard from `unknown`, and its bytes.
 * A change-set is encoded once, on the node that wrote it (`encodeChangeSet`); those bytes travel
 * unchanged through the log entry, the journal, the wire and the followers' journals, and are decoded
 * only where a node applies them (`decodeChangeSet`).
 *
 * Invariants: a change-set names the schema fingerprint it was written with and the store version its
 * snapshot was; keys are arrays of key values in primary-key order, rows arrays of values in that
 * schema's field order; a key occurs at most once in `writes` and never also in `reads`.
 */
import { CorruptError } from './errors.js';
import { decodeMsgpack } from './codec.js';
import { MsgpackEncoder } from './msgpack-encode.js';
import type { Scalar, Value } from './values.js';

/** A primary key that the transaction read (present or not). */
export interface ReadRef {
  readonly table: string;
  readonly key: readonly Scalar[];
}

/**
 * A range the transaction scanned or counted: a later insert into it is a conflict too. Over the
 * primary key, or over secondary index `index` when given (a row later written into it conflicts).
 */
export interface RangeRef {
  readonly table: string;
  /** The secondary index scanned; absent for the primary key. */
  readonly index?: string;
  /** Key-value prefixes (of the index fields when `index` is given); null is unbounded. */
  readonly lower: readonly Scalar[] | null;
  readonly lowerExclusive: boolean;
  readonly upper: readonly Scalar[] | null;
  readonly upperExclusive: boolean;
}

/** A row stored (`row` in the writer schema's field order) or deleted (`row` null). */
export interface WriteRef {
  readonly table: string;
  readonly key: readonly Scalar[];
  readonly row: readonly Value[] | null;
}

export interface ChangeSet {
  /** Fingerprint of the schema the transaction ran with. */
  readonly schema: string;
  /** Store version the transaction's snapshot was. */
  readonly snapshot: number;
  readonly reads: readonly ReadRef[];
  readonly ranges: readonly RangeRef[];
  readonly writes: readonly WriteRef[];
}

/** Narrows decoded data to a ChangeSet (shape only; values are checked against the schema on apply). */
export function toChangeSet(data: unknown, source: string, offset: number): ChangeSet {
  const fail = (what: string): never => {
    throw new CorruptError(source, offset, `not a change-set: ${what}`);
  };
  if (typeof data !== 'object' || data === null) return fail('not an object');
  const cs = data as Record<string, unknown>;
  if (typeof cs['schema'] !== 'string') fail('schema is not a string');
  if (!Number.isSafeInteger(cs['snapshot']) || (cs['snapshot'] as number) < 0) fail('snapshot is not a version');
  for (const name of ['reads', 'ranges', 'writes'] as const) if (!Array.isArray(cs[name])) fail(`${name} is not an array`);
  for (const read of cs['reads'] as unknown[]) if (!isRef(read)) fail('a read is malformed');
  for (const write of cs['writes'] as unknown[]) {
    if (!isRef(write) || !('row' in write) || (write.row !== null && !Array.isArray(write.row))) fail('a write is malformed');
  }
  for (const range of cs['ranges'] as unknown[]) if (!isRange(range)) fail('a range is malformed');
  return data as ChangeSet;
}

function isRef(value: unknown): value is { table: string; key: unknown[]; row?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Record<string, unknown>;
  return typeof ref['table'] === 'string' && Array.isArray(ref['key']);
}

function isRange(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const range = value as Record<string, unknown>;
  const bound = (b: unknown): boolean => b === null || Array.isArray(b);
  return typeof range['table'] === 'string' && (range['index'] === undefined || typeof range['index'] === 'string') && bound(range['lower']) && bound(range['upper'])
    && typeof range['lowerExclusive'] === 'boolean' && typeof range['upperExclusive'] === 'boolean';
}

// int64 as bigint; an absent optional field (a range's `index`) is left out, never written as nil.
const changeSetEncoder = new MsgpackEncoder({ ignoreUndefined: true });

/**
 * The bytes' change-set, on the very Uint8Array encodeChangeSet returned: nodes of one process that
 * are handed those bytes by reference (inline hosts on an in-process network, the simulator) take the
 * frozen object instead of decoding it, as they shared it before change-sets travelled as bytes. A copy
 * of the bytes (a frame, structured clone) does not carry it, and is decoded.
 *
 * Carried weakly: the bytes live in the Raft log until it is compacted (it held transLogLength entries then,
 * each a window batch of up to 64 writes; now transLogLength transactions), and a strong reference kept every change-set with them, and through
 * the store's cache its prepared form too: ~1 KB of heap per commit on a TCP leader (heap snapshot: one
 * ChangeSet and one Prepared per write since the last compaction), all of it promoted by the young
 * generation's collector and marked again by every full one, for a form only other nodes of the same
 * process ever read. Now the object lives as long as its writer holds it (until the write settles);
 * a node of the same process that applies it later than that decodes the bytes.
 */
const decodedForm: unique symbol = Symbol('chorusdb.changeSet');
type CarriesChangeSet = Uint8Array & { [decodedForm]?: WeakRef<ChangeSet> };

/** The change-set's msgpack bytes (a fresh copy), as they go into the log. */
export function encodeChangeSet(changeSet: ChangeSet): Uint8Array {
  const bytes: CarriesChangeSet = changeSetEncoder.encode(changeSet);
  if (Object.isFrozen(changeSet)) bytes[decodedForm] = new WeakRef(changeSet); // frozen: nothing can change it after
  return bytes;
}

/** A change-set from its bytes; CorruptError when they are not msgpack or not a change-set (`writer`: the node that wrote it). */
export function decodeChangeSet(bytes: Uint8Array, writer: string): ChangeSet {
  const made = (bytes as CarriesChangeSet)[decodedForm]?.deref();
  if (made !== undefined) return made;
  let data: unknown;
  try {
    data = decodeMsgpack(bytes);
  } catch (error) {
    throw new CorruptError(`a change-set written on ${writer}`, 0, `undecodable: ${(error as Error).message}`);
  }
  return toChangeSet(data, `a change-set written on ${writer}`, 0);
}
