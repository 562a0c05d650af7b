/**
 * One table's data: rows by primary key (a PointIndex for point reads — a dense array for small integer
 * keys, else a Map; see point-index.ts — and a B+ tree for order) and one B+ tree
 * per secondary index (index key → row).
 *
 * Why sorted-btree and a Map (measured on this machine, 1M random keys, /tmp micro-benchmark recorded in
 * docs/store.md): sorted-btree get 1.0–1.4M/s (numbers) and 0.7M/s (strings), insert 0.9–1.5M/s, full
 * scan 20–50M rows/s, 37–45 B/entry; a hand-written B+ tree measured get 1.2–1.9M/s, insert 1.0–1.6M/s,
 * scan 105–130M rows/s, 29–34 B/entry; a Map get 4.2–6.6M/s at 44–61 B/entry. Point reads go through the
 * point index (the ≥1M/s target is out of reach of either tree on random keys); order needs a tree, and
 * sorted-btree's O(1) copy-on-write clone (10 µs for clone plus the first write on a 1M tree) gives the
 * consistent views that snapshots and long-lived readers need, which our own tree would have to grow.
 *
 * Invariants: `rows`, `tree` and every index hold exactly the same set of rows; rows are frozen and
 * canonical; a view (clone) has no point index and is never mutated.
 */
import BTreeModule from 'sorted-btree';
import { bulkLoad } from 'sorted-btree/extended/bulkLoad.js';
import { storeTreeNodeEntriesMax } from '../limits.js';
import { PointIndex } from './point-index.js';
import { assert } from '../runtime/assert.js';
import type { Key, KeyRange } from './keys.js';
import { comparatorFor, compareStrings, encodedKey, indexKeyOf, keyUpper } from './keys.js';
import type { IndexSchema, TableSchema } from './schema.js';
import type { Row } from './values.js';

// sorted-btree is CommonJS with `exports.default`: Node's ESM loader hands us module.exports, while
// bundlers with interop (vitest) hand us the class itself. Take whichever arrived.
type BTreeClass = typeof BTreeModule.default;
const loaded = BTreeModule as unknown as BTreeClass | { default: BTreeClass };
export const BTree: BTreeClass = typeof loaded === 'function' ? loaded : loaded.default;
export type BTree<K, V> = InstanceType<typeof BTreeModule.default<K, V>>;

/** Return false to stop a visit. */
export type Visit<K> = (key: K, row: Row) => boolean;

export class TableData {
  private constructor(
    readonly schema: TableSchema,
    /** Live tables only: point reads. */
    private readonly rows: PointIndex | undefined,
    readonly tree: BTree<Key, Row>,
    readonly indexes: readonly BTree<string, Row>[],
  ) {}

  static empty(schema: TableSchema): TableData {
    return new TableData(
      schema,
      new PointIndex(integerKey(schema)),
      new BTree<Key, Row>(undefined, comparatorFor(schema.keyKind), storeTreeNodeEntriesMax),
      schema.indexes.map(() => new BTree<string, Row>(undefined, compareStrings, storeTreeNodeEntriesMax)),
    );
  }

  /**
   * A live table from rows in strictly increasing key order (a snapshot image), built in bulk: the
   * trees come out of sorted-btree's bulkLoad, O(n) and with fuller leaves than n inserts (measured
   * 15 against 26 bytes per entry; load 2x faster). Unique indexes must already have been checked.
   * Takes `rows` over (the point index may keep it as its array): the caller must not use it afterwards.
   */
  static fromSorted(schema: TableSchema, keys: Key[], rows: Row[]): TableData {
    assert(keys.length === rows.length, 'fromSorted: one key per row');
    const map = PointIndex.fromSorted(integerKey(schema), keys, rows);
    const indexes = schema.indexes.map((index) => {
      const entries = rows.map((row, i) => ({ entry: indexKeyOf(index, row, encodedKey(schema, keys[i] as Key)), row }));
      entries.sort((a, b) => compareStrings(a.entry, b.entry));
      return sortedTree(entries.map((e) => e.entry), entries.map((e) => e.row), compareStrings);
    });
    return new TableData(schema, map, sortedTree(keys, rows, comparatorFor(schema.keyKind)), indexes);
  }

  /** A consistent, read-only view: O(1) now, copy-on-write as the live table changes later. */
  view(): TableData {
    return new TableData(this.schema, undefined, this.tree.clone(), this.indexes.map((index) => index.clone()));
  }

  get size(): number {
    return this.tree.size;
  }

  get(key: Key): Row | undefined {
    return this.rows === undefined ? this.tree.get(key) : this.rows.get(key);
  }

  /** Stores `row` under `key`, replacing the row there if any. */
  put(key: Key, row: Row): void {
    assert(this.rows !== undefined, 'views are read-only');
    // Tables without indexes never need the old row: one hash lookup less per write.
    const old = this.schema.indexes.length === 0 ? undefined : this.rows.get(key);
    this.rows.set(key, row);
    this.tree.set(key, row);
    if (this.schema.indexes.length === 0) return;
    const encoded = encodedKey(this.schema, key);
    for (const index of this.schema.indexes) {
      const tree = this.indexes[index.position] as BTree<string, Row>;
      const entry = indexKeyOf(index, row, encoded);
      if (old !== undefined) {
        const oldEntry = indexKeyOf(index, old, encoded);
        if (oldEntry !== entry) tree.delete(oldEntry);
      }
      tree.set(entry, row);
    }
  }

  /** Removes the row under `key`, if any. */
  remove(key: Key): void {
    assert(this.rows !== undefined, 'views are read-only');
    const old = this.rows.get(key);
    if (old === undefined) return;
    this.rows.delete(key);
    this.tree.delete(key);
    if (this.schema.indexes.length === 0) return;
    const encoded = encodedKey(this.schema, key);
    for (const index of this.schema.indexes) (this.indexes[index.position] as BTree<string, Row>).delete(indexKeyOf(index, old, encoded));
  }

  /** Rows of the primary key range in order (or reverse order) until `visit` returns false. */
  visit(range: KeyRange, reverse: boolean, visit: Visit<Key>): void {
    visitTree(this.tree, comparatorFor(this.schema.keyKind), range, reverse, visit);
  }

  visitIndex(index: IndexSchema, range: KeyRange, reverse: boolean, visit: Visit<string>): void {
    visitTree(this.indexes[index.position] as BTree<string, Row>, compareStrings, range, reverse, visit);
  }

  /** The rows of `index` whose indexed fields encode to `prefix` (a unique index has at most one, barring nulls). */
  withIndexValue(index: IndexSchema, prefix: string, visit: Visit<string>): void {
    visitTree(this.indexes[index.position] as BTree<string, Row>, compareStrings, { low: prefix, lowInclusive: true, high: prefix + keyUpper, highInclusive: false }, false, visit);
  }
}

/** Whether the table's key is one int32 or uint32 field (so the point index may be a dense array). */
function integerKey(schema: TableSchema): boolean {
  const fields = schema.primaryKey;
  return fields.length === 1 && (fields[0]?.scalar === 'int32' || fields[0]?.scalar === 'uint32') && !fields[0].isArray;
}

function sortedTree<K extends Key>(keys: K[], rows: Row[], compare: (a: K, b: K) => number): BTree<K, Row> {
  if (keys.length === 0) return new BTree<K, Row>(undefined, compare, storeTreeNodeEntriesMax);
  return bulkLoad(keys, rows, storeTreeNodeEntriesMax, compare) as BTree<K, Row>;
}

function visitTree<K extends Key>(
  tree: BTree<K, Row>, cmp: (a: K, b: K) => number, range: KeyRange, reverse: boolean, visit: Visit<K>,
): void {
  if (tree.size === 0) return;
  const low = (range.low ?? tree.minKey()) as K;
  const high = (range.high ?? tree.maxKey()) as K;
  const lowInclusive = range.low === undefined || range.lowInclusive;
  const highInclusive = range.high === undefined || range.highInclusive;
  if (cmp(low, high) > 0) return;
  if (!reverse) {
    tree.forRange(low, high, highInclusive, (key, row) => {
      if (!lowInclusive && cmp(key, low) === 0) return undefined;
      return visit(key, row) ? undefined : { break: true };
    });
    return;
  }
  for (const [key, row] of tree.entriesReversed(high, undefined, !highInclusive)) {
    const c = cmp(key, low);
    if (c < 0 || (c === 0 && !lowInclusive)) return;
    if (!visit(key, row)) return;
  }
}
