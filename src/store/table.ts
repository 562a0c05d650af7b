/**
 * One table's data: rows by primary key (a Map for point reads, a B+ tree for order) and one B+ tree
 * per secondary index (index key → row).
 *
 * Why sorted-btree and a Map (measured on this machine, 1M random keys, /tmp micro-benchmark recorded in
 * docs/store.md): sorted-btree get 1.0–1.4M/s (numbers) and 0.7M/s (strings), insert 0.9–1.5M/s, full
 * scan 20–50M rows/s, 37–45 B/entry; a hand-written B+ tree measured get 1.2–1.9M/s, insert 1.0–1.6M/s,
 * scan 105–130M rows/s, 29–34 B/entry; a Map get 4.2–6.6M/s at 44–61 B/entry. Point reads go through the
 * Map (the ≥1M/s target is out of reach of either tree on random keys); order needs a tree, and
 * sorted-btree's O(1) copy-on-write clone (10 µs for clone plus the first write on a 1M tree) gives the
 * consistent views that snapshots and long-lived readers need, which our own tree would have to grow.
 *
 * Invariants: `rows`, `tree` and every index hold exactly the same set of rows; rows are frozen and
 * canonical; a view (clone) has no Map and is never mutated.
 */
import BTreeModule from 'sorted-btree';
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
    private readonly rows: Map<Key, Row> | undefined,
    readonly tree: BTree<Key, Row>,
    readonly indexes: readonly BTree<string, Row>[],
  ) {}

  static empty(schema: TableSchema): TableData {
    return new TableData(
      schema,
      new Map(),
      new BTree<Key, Row>(undefined, comparatorFor(schema.keyKind)),
      schema.indexes.map(() => new BTree<string, Row>(undefined, compareStrings)),
    );
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

  /** Stores `row` under `key`, replacing `old` (the row currently there, if any). */
  put(key: Key, row: Row, old: Row | undefined): void {
    assert(this.rows !== undefined, 'views are read-only');
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

  remove(key: Key, old: Row): void {
    assert(this.rows !== undefined, 'views are read-only');
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
