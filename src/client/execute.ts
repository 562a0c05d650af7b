/**
 * Runs a checked client request against a node: a write's operations as one transaction (its body run
 * again from the start on each CONFLICT retry), a read's lookups on one snapshot, or info().
 * Errors keep their `code` (the store's and the cluster's); a failed `expect` is PRECONDITION.
 */
import type { ClusterNode } from '../node/cluster-node.js';
import type { ReadTx } from '../store/read-tx.js';
import type { WriteTx } from '../store/write-tx.js';
import { assertNever } from '../runtime/assert.js';
import type { HashResult, ReadOp, ReadResult, Request, Row, WriteOp, WriteResult } from './protocol.js';

/** An `expect` operation did not hold: nothing was written. */
export class PreconditionError extends Error {
  override readonly name = 'PreconditionError';
  readonly code = 'PRECONDITION';
}

export function execute(node: ClusterNode, request: Request): Promise<unknown> {
  try {
    return request.type === 'write' ? executeWrite(node, request) : Promise.resolve(executeOther(node, request));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A write's operations as one transaction (a plain promise chain: no async frame per write). */
function executeWrite(node: ClusterNode, request: Extract<Request, { type: 'write' }>): Promise<WriteResult> {
  let results: unknown[] = [];
  const applied = node.write((tx) => {
    results = request.ops.map((op) => writeOp(tx, op));
  }, { retries: request.retries ?? 0 });
  return applied.then((result) => ({ version: result.version, results }) satisfies WriteResult);
}

function executeOther(node: ClusterNode, request: Exclude<Request, { type: 'write' }>): unknown {
  switch (request.type) {
    case 'info':
      return node.info();
    case 'hash':
      return { hash: node.contentHash(), version: node.read((tx) => tx.version) } satisfies HashResult;
    case 'read': {
      const body = (tx: ReadTx): ReadResult => ({ version: tx.version, results: request.ops.map((op) => readOp(tx, op)) });
      return request.consistency === 'linearizable' ? node.read(body, { consistency: 'linearizable' }) : node.read(body);
    }
    default:
      return assertNever(request, 'client request');
  }
}

function writeOp(tx: WriteTx, op: WriteOp): unknown {
  switch (op.op) {
    case 'insert':
      return tx.insert(op.table, op.row);
    case 'upsert':
      return tx.upsert(op.table, op.row);
    case 'update':
      return tx.update(op.table, op.row);
    case 'delete':
      return tx.delete(op.table, op.key);
    case 'expect': {
      const current = tx.get(op.table, op.key) ?? null;
      if (!matches(current, op.row)) {
        throw new PreconditionError(`expect on ${op.table} ${JSON.stringify(String(op.key))}: ${op.row === null ? 'a row exists' : current === null ? 'no row' : 'fields differ'}`);
      }
      return true;
    }
    default:
      return assertNever(op, 'write operation');
  }
}

function readOp(tx: ReadTx, op: ReadOp): unknown {
  switch (op.op) {
    case 'get':
      return tx.get(op.table, op.key) ?? null;
    case 'find':
      return tx.find(op.table, op.index, op.values);
    case 'range': {
      const { op: _, table, ...options } = op;
      return tx.scan(table, options);
    }
    case 'count': {
      const { op: _, table, ...options } = op;
      return tx.count(table, options);
    }
    default:
      return assertNever(op, 'read operation');
  }
}

/** `expected` null: there must be no row. Otherwise every field it names must have its value (null also matches absent). */
function matches(current: Row | null, expected: Row | null): boolean {
  if (expected === null || current === null) return expected === current;
  return Object.entries(expected).every(([field, value]) => sameValue(current[field] ?? null, value ?? null));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'bigint' && typeof b === 'number') return Number.isSafeInteger(b) && a === BigInt(b);
  if (typeof a === 'number' && typeof b === 'bigint') return sameValue(b, a);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  return false;
}
