/**
 * Point reads by primary key on a live table: a dense array indexed by the key while the keys are
 * small non-negative integers packed closely enough (auto-assigned ids, the common case), else a Map.
 *
 * Why: a Map costs 29 bytes per row (measured on 1M rows) and an array slot 8, so a table of 1M
 * records of 100 bytes holds ~21 bytes less per row with dense integer keys (260 -> ~239 B/record in
 * bench/store.ts); lookups are an array load instead of a hash probe. Keys of any other kind (strings,
 * encoded composites, negative or fractional or huge numbers) use the Map, as before.
 *
 * Invariants: holds exactly the rows of its table; in array form every key is an integer in
 * [0, storeDenseKeysMax) and at most about half the slots beyond storeDenseSlotsMin are holes (a set
 * that would break this moves everything to a Map; a Map whose integer keys became dense enough moves
 * back, checked at doubling sizes); the form never changes what a lookup returns.
 */
import { storeDenseKeysMax, storeDenseSlotsMin } from '../limits.js';
import type { Key } from './keys.js';
import type { Row } from './values.js';

const denseKey = (key: Key): key is number => typeof key === 'number' && Number.isInteger(key) && key >= 0 && key < storeDenseKeysMax;

export class PointIndex {
  private dense: (Row | undefined)[] | undefined;
  private map: Map<Key, Row> | undefined;
  private count = 0;
  /** Map form: whether every key stored so far could go in the array, and the largest of them. */
  private integerKeys = true;
  private keyMax = -1;
  private nextCheck = storeDenseSlotsMin;

  /**
   * `integers`: the table's key is one integer field (int32 or uint32), so the array form may serve;
   * `dense`: start in array form.
   */
  constructor(integers: boolean, dense = integers) {
    if (dense) this.dense = [];
    else this.map = new Map();
    this.integerKeys = integers;
  }

  get size(): number {
    return this.dense === undefined ? (this.map as Map<Key, Row>).size : this.count;
  }

  get(key: Key): Row | undefined {
    const dense = this.dense;
    if (dense !== undefined) return denseKey(key) ? dense[key] : undefined;
    return (this.map as Map<Key, Row>).get(key);
  }

  set(key: Key, row: Row): void {
    const dense = this.dense;
    if (dense !== undefined) {
      if (denseKey(key) && key < Math.max(storeDenseSlotsMin, 2 * (this.count + 1))) {
        // push, not a store past the end: a far store turns a V8 array into a slow dictionary.
        while (dense.length < key) dense.push(undefined);
        if (key === dense.length) {
          dense.push(row);
          this.count++;
        } else {
          if (dense[key] === undefined) this.count++;
          dense[key] = row;
        }
        return;
      }
      this.toMap();
    }
    const map = this.map as Map<Key, Row>;
    map.set(key, row);
    if (this.integerKeys) {
      if (!denseKey(key)) this.integerKeys = false;
      else if (key > this.keyMax) this.keyMax = key;
    }
    if (map.size >= this.nextCheck) {
      this.nextCheck *= 2;
      if (this.integerKeys && this.keyMax < 2 * map.size) this.toDense();
    }
  }

  delete(key: Key): void {
    const dense = this.dense;
    if (dense === undefined) {
      (this.map as Map<Key, Row>).delete(key);
      return;
    }
    if (!denseKey(key) || dense[key] === undefined) return;
    dense[key] = undefined;
    this.count--;
    while (dense.length > 0 && dense[dense.length - 1] === undefined) dense.pop();
    if (dense.length > storeDenseSlotsMin && this.count * 4 < dense.length) this.toMap();
  }

  private toMap(): void {
    const dense = this.dense as (Row | undefined)[];
    const map = new Map<Key, Row>();
    for (let key = 0; key < dense.length; key++) {
      const row = dense[key];
      if (row !== undefined) map.set(key, row);
    }
    this.keyMax = dense.length - 1;
    this.nextCheck = Math.max(storeDenseSlotsMin, 2 * map.size);
    this.map = map;
    this.dense = undefined;
  }

  private toDense(): void {
    const map = this.map as Map<Key, Row>;
    const dense: (Row | undefined)[] = [];
    for (let key = 0; key <= this.keyMax; key++) dense.push(map.get(key));
    this.count = map.size;
    this.dense = dense;
    this.map = undefined;
  }

  /**
   * An index of rows in strictly increasing key order (a snapshot being restored). Takes `rows` over
   * when the keys are exactly 0..n-1 (auto-assigned ids): that array already is the dense form, so a
   * million-row load copies nothing (the caller must not use `rows` afterwards).
   */
  static fromSorted(integers: boolean, keys: readonly Key[], rows: Row[]): PointIndex {
    const first = keys[0];
    const last = keys[keys.length - 1];
    // Integer keys in strictly increasing order all fit the array when the first and the last do.
    const fits = integers && (last === undefined || (denseKey(first as Key) && denseKey(last) && last < Math.max(storeDenseSlotsMin, 2 * keys.length)));
    const index = new PointIndex(integers, fits);
    if (!fits) {
      for (let i = 0; i < keys.length; i++) index.set(keys[i] as Key, rows[i] as Row);
      return index;
    }
    index.count = keys.length;
    if (first === 0 && last === keys.length - 1) {
      index.dense = rows;
      return index;
    }
    const dense = index.dense as (Row | undefined)[];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as number;
      while (dense.length < key) dense.push(undefined);
      dense.push(rows[i]);
    }
    return index;
  }
}
