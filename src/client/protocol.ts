/**
 * The client protocol on one screen: what a remote client may ask of a node, and what it gets back.
 *
 * A process that embeds no node cannot ship a function to run as a transaction, so a write is a list
 * of operations the node runs, in order, as one transaction (all or nothing, certified like any other),
 * and a read is a list of lookups run on one consistent snapshot:
 *
 *   write  insert | upsert | update (row)   delete (key)   expect (key, fields or null: a precondition)
 *   read   get (key)   find (index, values)   range (scan options, limit)   count (scan options)
 *   info   the node's info()
 *   hash   the node's content hash and store version (equal on nodes that applied the same log)
 *
 * `expect` makes compare-and-set possible: the transaction reads the row and fails with PRECONDITION
 * unless every given field has the given value (null: unless there is no row); because the read is
 * certified, no other write to that row can slip in between the check and the commit.
 *
 * Requests travel in `request` frames and answers in `response` frames of the TCP transport (same
 * framing, same handshake; see src/transport/tcp/protocol.ts). `parseRequest` turns the decoded
 * `unknown` into a typed request or a rejection reason and never throws.
 */
import type { NodeInfo } from '../node/cluster-node.js';
import { clientOpsPerRequestMax, clientRangeRowsMax } from '../limits.js';

export type Row = Readonly<Record<string, unknown>>;

export type WriteOp =
  | { readonly op: 'insert' | 'upsert' | 'update'; readonly table: string; readonly row: Row }
  | { readonly op: 'delete'; readonly table: string; readonly key: unknown }
  | { readonly op: 'expect'; readonly table: string; readonly key: unknown; readonly row: Row | null };

/** Which rows a range or count reads, as the store's ScanOptions. */
export interface ScanBounds {
  readonly index?: string;
  readonly lower?: unknown;
  readonly lowerExclusive?: boolean;
  readonly upper?: unknown;
  readonly upperExclusive?: boolean;
  readonly reverse?: boolean;
}

export type ReadOp =
  | { readonly op: 'get'; readonly table: string; readonly key: unknown }
  | { readonly op: 'find'; readonly table: string; readonly index: string; readonly values: unknown }
  | ({ readonly op: 'range'; readonly table: string; readonly limit?: number } & ScanBounds)
  | ({ readonly op: 'count'; readonly table: string } & ScanBounds);

export interface WriteRequest {
  readonly type: 'write';
  readonly ops: readonly WriteOp[];
  /** Times the node runs the operations again on a fresh snapshot after a CONFLICT (default 0). */
  readonly retries?: number;
}
export interface ReadRequest {
  readonly type: 'read';
  readonly ops: readonly ReadOp[];
  /** 'local' (default): the node's tables as they are; 'linearizable': confirmed with the leader first. */
  readonly consistency?: 'local' | 'linearizable';
}
export interface InfoRequest {
  readonly type: 'info';
}
export interface HashRequest {
  readonly type: 'hash';
}
export type Request = WriteRequest | ReadRequest | InfoRequest | HashRequest;

/**
 * A write's answer: the store version after it, and per operation the row written (insert, upsert,
 * update), whether a row was deleted (delete), or true (expect).
 */
export interface WriteResult {
  readonly version: number;
  readonly results: readonly unknown[];
}
/** A read's answer: the version read, and per operation a row or null (get), rows (find, range) or a number (count). */
export interface ReadResult {
  readonly version: number;
  readonly results: readonly unknown[];
}
export type InfoResult = NodeInfo;
/** A hash of the node's whole database and the store version it is of, taken at one instant. */
export interface HashResult {
  readonly hash: string;
  readonly version: number;
}

/**
 * Error codes of a refused request: the node's (VALIDATION, UNIQUE, NOT_FOUND, CONFLICT, NO_QUORUM,
 * OVERLOADED, TIMEOUT, STOPPED, ...) and the client protocol's own: PRECONDITION (an expect did not
 * hold), BAD_REQUEST (the request is not one of the above), TOO_LARGE (the answer would pass the frame
 * bound), UNAVAILABLE (the node is not open), CONNECTION (the connection failed: the outcome of a write
 * in flight is unknown), ARBITER (an arbiter holds no tables).
 */
export interface ErrorValue {
  readonly code: string;
  readonly message: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const bad = (reason: string): Parsed<never> => ({ ok: false, reason });

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= 256;

/** Checks a request at the node's edge; never throws. */
export function parseRequest(value: unknown): Parsed<Request> {
  if (!isObject(value)) return bad('a request must be an object with a type');
  switch (value['type']) {
    case 'info':
      return { ok: true, value: { type: 'info' } };
    case 'hash':
      return { ok: true, value: { type: 'hash' } };
    case 'write': {
      const retries = value['retries'];
      if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 100)) return bad('write: retries must be an integer in [0, 100]');
      const ops = list(value['ops'], 'write', parseWriteOp);
      return ops.ok ? { ok: true, value: { type: 'write', ops: ops.value, ...(retries !== undefined ? { retries } : {}) } } : ops;
    }
    case 'read': {
      const consistency = value['consistency'];
      if (consistency !== undefined && consistency !== 'local' && consistency !== 'linearizable') return bad("read: consistency must be 'local' or 'linearizable'");
      const ops = list(value['ops'], 'read', parseReadOp);
      return ops.ok ? { ok: true, value: { type: 'read', ops: ops.value, ...(consistency !== undefined ? { consistency } : {}) } } : ops;
    }
    default:
      return bad("a request's type must be 'write', 'read', 'info' or 'hash'");
  }
}

function list<T>(value: unknown, what: string, parse: (op: Record<string, unknown>, i: number) => Parsed<T>): Parsed<readonly T[]> {
  if (!Array.isArray(value) || value.length === 0 || value.length > clientOpsPerRequestMax) return bad(`${what}: ops must be a list of 1 to ${clientOpsPerRequestMax} operations`);
  const out: T[] = [];
  for (let i = 0; i < value.length; i++) {
    const op: unknown = value[i];
    if (!isObject(op) || !isName(op['table'])) return bad(`${what}: ops[${i}] must be an object with op and table`);
    const parsed = parse(op, i);
    if (!parsed.ok) return parsed;
    out.push(parsed.value);
  }
  return { ok: true, value: out };
}

function parseWriteOp(op: Record<string, unknown>, i: number): Parsed<WriteOp> {
  const table = op['table'] as string;
  switch (op['op']) {
    case 'insert':
    case 'upsert':
    case 'update':
      return isObject(op['row']) ? { ok: true, value: { op: op['op'], table, row: op['row'] } } : bad(`write: ops[${i}]: ${op['op']} needs a row object`);
    case 'delete':
      return 'key' in op ? { ok: true, value: { op: 'delete', table, key: op['key'] } } : bad(`write: ops[${i}]: delete needs a key`);
    case 'expect': {
      const row = op['row'];
      if (!('key' in op) || (row !== null && !isObject(row))) return bad(`write: ops[${i}]: expect needs a key and a row (fields to match) or null (no row)`);
      return { ok: true, value: { op: 'expect', table, key: op['key'], row } };
    }
    default:
      return bad(`write: ops[${i}]: op must be insert, upsert, update, delete or expect`);
  }
}

function parseReadOp(op: Record<string, unknown>, i: number): Parsed<ReadOp> {
  const table = op['table'] as string;
  switch (op['op']) {
    case 'get':
      return 'key' in op ? { ok: true, value: { op: 'get', table, key: op['key'] } } : bad(`read: ops[${i}]: get needs a key`);
    case 'find':
      return isName(op['index']) && 'values' in op ? { ok: true, value: { op: 'find', table, index: op['index'], values: op['values'] } } : bad(`read: ops[${i}]: find needs an index and values`);
    case 'range':
    case 'count': {
      const bounds = scanBounds(op, i);
      if (!bounds.ok) return bounds;
      if (op['op'] === 'count') return { ok: true, value: { op: 'count', table, ...bounds.value } };
      const limit = op['limit'] ?? clientRangeRowsMax;
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > clientRangeRowsMax) return bad(`read: ops[${i}]: range limit must be an integer in [1, ${clientRangeRowsMax}]`);
      return { ok: true, value: { op: 'range', table, limit, ...bounds.value } };
    }
    default:
      return bad(`read: ops[${i}]: op must be get, find, range or count`);
  }
}

function scanBounds(op: Record<string, unknown>, i: number): Parsed<ScanBounds> {
  const out: Record<string, unknown> = {};
  if (op['index'] !== undefined) {
    if (!isName(op['index'])) return bad(`read: ops[${i}]: index must be an index name`);
    out['index'] = op['index'];
  }
  for (const key of ['lower', 'upper'] as const) if (op[key] !== undefined) out[key] = op[key];
  for (const key of ['lowerExclusive', 'upperExclusive', 'reverse'] as const) {
    if (op[key] === undefined) continue;
    if (typeof op[key] !== 'boolean') return bad(`read: ops[${i}]: ${key} must be true or false`);
    out[key] = op[key];
  }
  return { ok: true, value: out as ScanBounds };
}
