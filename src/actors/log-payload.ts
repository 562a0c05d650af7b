/**
 * What a command entry of the replicated log holds: one transaction's change-set (window off, or a
 * window batch of one), or a whole window batch of them, in the order they were written. A batch is one
 * log entry: one index, one journal record, one slot in an append, however many transactions it holds;
 * each transaction in it is still certified and applied on its own, in order, exactly as if each had
 * its own entry (a conflict rejects that one transaction on every node, not the batch).
 *
 * Also: how many bytes an entry takes on the wire, estimated from its parts without encoding it, so
 * that the leader can keep each append within `raftAppendBytesMax` (and so within a TCP frame).
 */
import type { EntryData } from '../cluster/raft/messages.js';
import { encodeMsgpack } from '../store/codec.js';

/** One transaction in the log. */
export interface LogPayload {
  readonly origin: string;
  readonly id: number;
  /**
   * The change-set's msgpack bytes (encodeChangeSet), made once by the node that wrote it and carried
   * unchanged through the log, the journals and the wire: msgpack writes them as one bin, without
   * walking them. Decoded only where the entry is applied.
   */
  readonly changeSet: Uint8Array;
  /** modeMask.binaryEvolution: the writer's schema, so that a node with another one can convert the change-set. */
  readonly schema?: unknown;
}

/** A command entry's payload: one transaction, or a window batch of them (two or more, in order). */
export type LogCommand = LogPayload | readonly LogPayload[];

/**
 * The most bytes a transaction takes in an entry beyond its change-set's (and schema's) own: the map
 * header and its four keys (28), the origin's str header (at most 5), the id (at most 9), the bin header
 * (at most 5), and its origin's name, counted at 3 bytes a character (the most UTF-8 needs for one UTF-16
 * unit): 47 and the name; 50 leaves a little room. Counted by the committer into the bytes it submits, so that the window's `bufferBytesMax`
 * bounds what the batch's entry takes on the wire.
 */
export function logItemOverheadBytes(origin: string): number {
  return 50 + 3 * origin.length;
}

/**
 * The most bytes an entry's envelope takes: the kept-bytes ext wrapper (6), the entry and data maps
 * with their keys and 'command' (39), term and index (at most 9 each) and the payload's array header (at
 * most 5): 68. An upper bound, so that appends of entries counted by logEntryBytes stay within a frame.
 */
export const logEntryOverheadBytes = 68;

/**
 * The transactions of a command entry's payload, in order. Journals written before change-sets
 * travelled as bytes hold them as msgpack maps (decoded to objects on replay); such a change-set is
 * encoded here, so that what the application gets is always bytes. Payloads are only ever made by
 * committers, so the shape is otherwise trusted.
 */
export function commandPayloads(data: unknown): readonly LogPayload[] {
  const payloads: LogPayload[] = [];
  pushPayloads(data, payloads);
  return payloads;
}

/** commandPayloads, appended to `into` (the committer's apply path: no array per entry). */
export function pushPayloads(data: unknown, into: LogPayload[]): void {
  if (!Array.isArray(data)) into.push(logPayload(data));
  else for (const item of data as unknown[]) into.push(logPayload(item));
}

function logPayload(data: unknown): LogPayload {
  const payload = data as LogPayload | { readonly changeSet: object };
  if (payload.changeSet instanceof Uint8Array) return payload as LogPayload;
  return { ...(payload as LogPayload), changeSet: encodeMsgpack(payload.changeSet) };
}

/** A schema's encoded size, once per schema object (binaryEvolution payloads carry one each). */
const schemaBytes = new WeakMap<object, number>();

function payloadBytes(payload: LogPayload): number {
  let bytes = logItemOverheadBytes(payload.origin) + (payload.changeSet instanceof Uint8Array ? payload.changeSet.byteLength : encodeMsgpack(payload.changeSet).byteLength);
  const schema = payload.schema;
  if (schema !== undefined) {
    if (typeof schema !== 'object' || schema === null) return bytes + encodeMsgpack(schema).byteLength;
    let size = schemaBytes.get(schema);
    if (size === undefined) schemaBytes.set(schema, (size = encodeMsgpack(schema).byteLength));
    bytes += size;
  }
  return bytes;
}

/**
 * An entry's size on the wire, near enough to bound appends by (an estimate from the parts, never
 * below the change-sets' own bytes). Payloads of another shape (actor tests drive the replicator with
 * their own) are measured by encoding them.
 */
export function logEntryBytes(data: EntryData): number {
  if (data.kind === 'noop') return logEntryOverheadBytes;
  if (data.kind === 'members') {
    // The membership map, its keys and array headers (32), and each name at 3 bytes a character with its str header.
    let bytes = logEntryOverheadBytes + 32;
    for (const id of [...data.membership.members, ...(data.membership.old ?? [])]) bytes += 5 + 3 * id.length;
    return bytes;
  }
  const payload = data.payload;
  if (Array.isArray(payload)) {
    let bytes = logEntryOverheadBytes;
    for (const item of payload as unknown[]) bytes += isLogPayload(item) ? payloadBytes(item) : encodeMsgpack(item).byteLength;
    return bytes;
  }
  return logEntryOverheadBytes + (isLogPayload(payload) ? payloadBytes(payload) : encodeMsgpack(payload).byteLength);
}

/** How many transactions an entry holds: a window batch's count, one for any other entry (so that every entry weighs something). */
export function logEntryTransactions(data: EntryData): number {
  return data.kind === 'command' && Array.isArray(data.payload) ? Math.max(1, data.payload.length) : 1;
}

function isLogPayload(value: unknown): value is LogPayload {
  return typeof value === 'object' && value !== null && typeof (value as LogPayload).origin === 'string' && 'changeSet' in value;
}
