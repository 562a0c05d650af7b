/**
 * Certification: decides whether a change-set may apply, from the change-set and the store's recent
 * write history alone — never wall time or hash-map iteration order — so every replica decides alike.
 *
 * The window remembers, for the most recent versions, which primary keys each version wrote. A change-set
 * with snapshot S conflicts when a key it read or wrote, or a key inside a range it scanned, was written
 * by a version after S. A snapshot older than the window's horizon is refused as too old (we no longer
 * know what changed since).
 *
 * Invariants: entries are in increasing version order; once built, `last[t]` maps a key of table
 * position t to the newest version in the window that wrote it, and holds no key that no entry holds; the window holds at most
 * certifyWindowVersionsMax versions and about certifyWindowKeysMax keys (one change-set may exceed it).
 */
import { certifyDirectComparesMax, certifyScanKeysMax, certifyWindowKeysMax, certifyWindowVersionsMax, storeTablesMax } from '../limits.js';
import { assert } from '../runtime/assert.js';
import type { ConflictReason } from './errors.js';
import { ConflictError } from './errors.js';
import type { Key, KeyRange } from './keys.js';
import { comparatorFor, compareStrings, decodeKey, encodedKey, inRange, indexKeyOf } from './keys.js';
import type { IndexSchema, TableSchema } from './schema.js';
import type { WindowItem } from './image-frames.js';
import type { Row } from './values.js';

export interface Touched {
  readonly table: TableSchema;
  readonly key: Key;
}

export interface WindowEntry {
  readonly version: number;
  readonly keys: readonly Touched[];
}

/** A written key as an image stores it: [table name, key values]. */
type WindowKey = readonly [string, readonly unknown[]];

/** A scanned range, over the primary key (`index` undefined) or a secondary index (index-entry space). */
export interface RangeRead {
  readonly table: TableSchema;
  readonly index?: IndexSchema | undefined;
  readonly range: KeyRange;
}

/** What a change-set asks certification about, in this store's key space. */
export interface CertifyRequest {
  readonly snapshot: number;
  readonly reads: readonly Touched[];
  readonly writes: readonly Touched[];
  readonly ranges: readonly RangeRead[];
}

/** The row a key holds now (the state the change-set would apply to), for index-range certification. */
export type CurrentRow = (table: TableSchema, key: Key) => Row | undefined;

type VersionOf = (table: TableSchema, key: Key) => number | undefined;

// The window keeps each key's table position in a byte.
assert(storeTablesMax <= 256, 'certify.ts keeps table positions in a Uint8Array');

/** Keys held before the key arrays are compacted (their dead prefix dropped). */
const compactKeysMin = 4096;

export class CertWindow {
  /**
   * Per table position: key -> newest version in the window that wrote it. Built only when a
   * certification looks back over more than certifyScanKeysMax keys, then kept up to date. Until then
   * the entries are scanned: keeping the index on every write (a hash insert and delete per key)
   * cost ~15% of log replay and local commits, which never look back (profiled).
   */
  private last: Map<Key, number>[] | undefined;
  /**
   * The window, flat: entry i (live from `head`) is version `versions[i]`, whose keys are those with
   * absolute numbers `starts[i]` up to the next entry's start (or `recorded`). Key number n sits at
   * `keys[n - keyBase]`, its table's position at `tables[n - keyBase]`. No object per entry or per key:
   * the window's ~131k keys cost 9 bytes each instead of ~48, and a replayed change-set leaves nothing
   * behind that must be promoted and collected later (measured: 6 -> ~1.5 bytes per record in the
   * 1M-row benchmark, and fewer old-generation collections during replay).
   */
  private versions: number[] = [];
  private starts: number[] = [];
  private head = 0;
  private keys: Key[] = [];
  private tables = new Uint8Array(1024);
  private keyBase = 0;
  private keyHead = 0;
  private recorded = 0;
  /** Tables by position, as recorded (the window belongs to one schema). */
  private readonly tableAt: TableSchema[] = [];

  /** Change-sets whose snapshot is below the horizon are too old to certify. */
  constructor(private horizonVersion = 0) {}

  get horizon(): number {
    return this.horizonVersion;
  }

  /**
   * Throws ConflictError when `request` may not apply at store version `version`. A key read or
   * written, or inside a scanned primary-key range, conflicts when written after the snapshot. A
   * secondary-index range conflicts when a key written after the snapshot now holds a row inside it
   * (a phantom moved or inserted in); rows the scan returned, and so their moving out or away, are
   * certified as read keys. Both depend only on the window and the current state: alike on replicas.
   */
  certify(request: CertifyRequest, version: number, current: CurrentRow): void {
    const snapshot = request.snapshot;
    if (snapshot > version) throw new ConflictError(undefined, undefined, 'snapshot-ahead', snapshot, version);
    if (snapshot < this.horizonVersion) throw new ConflictError(undefined, undefined, 'snapshot-too-old', snapshot, version);
    if (snapshot === version) return; // nothing applied since the snapshot
    const versionOf = this.versionsSince(snapshot, request.writes.length + request.reads.length);
    this.checkKeys(request.writes, snapshot, 'write', versionOf);
    this.checkKeys(request.reads, snapshot, 'read', versionOf);
    for (const { table, index, range } of request.ranges) {
      if (index === undefined) {
        const compare = comparatorFor(table.keyKind);
        this.checkWritten(table, snapshot, 'range', (key) => inRange(key, range, compare));
        continue;
      }
      this.checkWritten(table, snapshot, 'index-range', (key) => {
        const row = current(table, key);
        return row !== undefined && inRange(indexKeyOf(index, row, encodedKey(table, key)), range, compareStrings as (a: Key, b: Key) => number);
      });
    }
  }

  /**
   * Throws ConflictError (`reason`) when a key of `table` written after `snapshot` satisfies `hit`;
   * newest first, so that the error names the newest such write.
   */
  checkWritten(table: TableSchema, snapshot: number, reason: ConflictReason, hit: (key: Key) => boolean): void {
    for (let i = this.versions.length - 1; i >= this.head; i--) {
      const version = this.versions[i] as number;
      if (version <= snapshot) return;
      const end = i + 1 < this.versions.length ? (this.starts[i + 1] as number) : this.recorded;
      for (let n = this.starts[i] as number; n < end; n++) {
        const at = n - this.keyBase;
        if (this.tables[at] !== table.position || this.tableAt[table.position] !== table) continue;
        const key = this.keys[at] as Key;
        if (hit(key)) throw new ConflictError(table.name, decodeKey(table, key), reason, snapshot, version);
      }
    }
  }

  /**
   * Newest writer of a key, exact for every version after `snapshot`: the index when built; for a few
   * `lookups` over few keys, a scan per lookup (a windowed writer's snapshot is a few dozen versions
   * behind: building a map of those keys for one or two lookups cost ~15% of a commit, profiled);
   * otherwise a map of the keys written since, built once for this certification.
   */
  private versionsSince(snapshot: number, lookups: number): VersionOf {
    const first = this.firstAfter(snapshot);
    const since = first < this.versions.length ? this.recorded - (this.starts[first] as number) : 0;
    if (this.last === undefined && since > certifyScanKeysMax) this.last = this.buildIndex();
    const index = this.last;
    if (index !== undefined) return (table, key) => index[table.position]?.get(key);
    if (since * lookups <= certifyDirectComparesMax) return (table, key) => this.newestWriter(first, table, key);
    const seen: Map<Key, number>[] = [];
    for (let i = this.versions.length - 1; i >= first; i--) {
      const version = this.versions[i] as number;
      const end = i + 1 < this.versions.length ? (this.starts[i + 1] as number) : this.recorded;
      for (let n = this.starts[i] as number; n < end; n++) {
        const map = (seen[this.tables[n - this.keyBase] as number] ??= new Map());
        const key = this.keys[n - this.keyBase] as Key;
        if (!map.has(key)) map.set(key, version);
      }
    }
    return (table, key) => (this.tableAt[table.position] === table ? seen[table.position]?.get(key) : undefined);
  }

  /** The newest version from entry `first` on that wrote `key` of `table` (a scan, newest first). */
  private newestWriter(first: number, table: TableSchema, key: Key): number | undefined {
    if (this.tableAt[table.position] !== table) return undefined;
    const position = table.position;
    const keys = this.keys;
    const tables = this.tables;
    const base = this.keyBase;
    let end = this.recorded;
    for (let i = this.versions.length - 1; i >= first; i--) {
      const start = this.starts[i] as number;
      for (let n = end - 1; n >= start; n--) if (keys[n - base] === key && tables[n - base] === position) return this.versions[i] as number;
      end = start;
    }
    return undefined;
  }

  /** Index of the first live entry with a version above `snapshot` (versions.length when none). */
  private firstAfter(snapshot: number): number {
    let low = this.head;
    let high = this.versions.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.versions[mid] as number) <= snapshot) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private buildIndex(): Map<Key, number>[] {
    const index: Map<Key, number>[] = [];
    for (let i = this.head; i < this.versions.length; i++) {
      const version = this.versions[i] as number;
      const end = i + 1 < this.versions.length ? (this.starts[i + 1] as number) : this.recorded;
      for (let n = this.starts[i] as number; n < end; n++) (index[this.tables[n - this.keyBase] as number] ??= new Map()).set(this.keys[n - this.keyBase] as Key, version);
    }
    return index;
  }

  private checkKeys(keys: readonly Touched[], snapshot: number, reason: 'read' | 'write', versionOf: VersionOf): void {
    for (const { table, key } of keys) {
      const changedAt = versionOf(table, key);
      if (changedAt !== undefined && changedAt > snapshot) throw new ConflictError(table.name, decodeKey(table, key), reason, snapshot, changedAt);
    }
  }

  /** Remembers what `version` wrote, then forgets what falls out of the window. */
  record(version: number, keys: readonly Touched[]): void {
    this.versions.push(version);
    this.starts.push(this.recorded);
    const at = this.recorded - this.keyBase;
    if (at + keys.length > this.tables.length) this.growTables(at + keys.length);
    const index = this.last;
    for (let i = 0; i < keys.length; i++) {
      const { table, key } = keys[i] as Touched;
      this.tableAt[table.position] = table;
      this.tables[at + i] = table.position;
      this.keys.push(key);
      if (index !== undefined) (index[table.position] ??= new Map()).set(key, version);
    }
    this.recorded += keys.length;
    this.prune(version);
  }

  /**
   * Restoring a window from an image, key by key: starts the entry of `version`, above every version
   * recorded; restoreKey adds its keys, and settle() then forgets what falls out of the window (the
   * same window as recording each entry would give: pruning only ever drops the oldest entries).
   */
  restoreEntry(version: number): void {
    assert(this.head === this.versions.length || version > (this.versions[this.versions.length - 1] as number), 'restoreEntry: versions increase');
    this.versions.push(version);
    this.starts.push(this.recorded);
  }

  /** A key written by the entry restoreEntry started last. */
  restoreKey(table: TableSchema, key: Key): void {
    assert(this.head < this.versions.length, 'restoreKey: restoreEntry first');
    const at = this.recorded - this.keyBase;
    if (at >= this.tables.length) this.growTables(at + 1);
    this.tableAt[table.position] = table;
    this.tables[at] = table.position;
    this.keys.push(key);
    if (this.last !== undefined) (this.last[table.position] ??= new Map()).set(key, this.versions[this.versions.length - 1] as number);
    this.recorded++;
  }

  /** Ends a restore (restoreEntry, restoreKey): prunes as record does. */
  settle(): void {
    const newest = this.versions[this.versions.length - 1];
    if (newest !== undefined) this.prune(newest);
  }

  private growTables(needed: number): void {
    const grown = new Uint8Array(Math.max(needed, this.tables.length * 2));
    grown.set(this.tables);
    this.tables = grown;
  }

  private prune(version: number): void {
    while (this.head < this.versions.length) {
      const oldest = this.versions[this.head] as number;
      if (oldest > version - certifyWindowVersionsMax && this.size <= certifyWindowKeysMax) break;
      const end = this.head + 1 < this.versions.length ? (this.starts[this.head + 1] as number) : this.recorded;
      const index = this.last;
      for (let n = this.starts[this.head] as number; n < end; n++) {
        const at = n - this.keyBase;
        if (index !== undefined) {
          const map = index[this.tables[at] as number] as Map<Key, number>;
          if (map.get(this.keys[at] as Key) === oldest) map.delete(this.keys[at] as Key);
        }
        this.keys[at] = 0; // release the key (strings) now rather than at the next compaction
      }
      this.keyHead = end - this.keyBase;
      this.horizonVersion = oldest;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.versions.length) {
      this.versions = this.versions.slice(this.head);
      this.starts = this.starts.slice(this.head);
      this.head = 0;
    }
    if (this.keyHead > compactKeysMin && this.keyHead * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.keyHead);
      this.tables.copyWithin(0, this.keyHead, this.keyHead + this.keys.length);
      this.keyBase += this.keyHead;
      this.keyHead = 0;
    }
  }

  /** The live entries, oldest first (for snapshot images). */
  liveEntries(): readonly WindowEntry[] {
    const out: WindowEntry[] = [];
    for (let i = this.head; i < this.versions.length; i++) {
      const end = i + 1 < this.versions.length ? (this.starts[i + 1] as number) : this.recorded;
      const keys: Touched[] = [];
      for (let n = this.starts[i] as number; n < end; n++) {
        keys.push({ table: this.tableAt[this.tables[n - this.keyBase] as number] as TableSchema, key: this.keys[n - this.keyBase] as Key });
      }
      out.push({ version: this.versions[i] as number, keys });
    }
    return out;
  }

  /**
   * The live entries as an image stores them, oldest first: each version's keys as [table name, key
   * values]. Built in one pass (liveEntries, then mapped, made two objects per key and per version over a
   * window of up to 65,536 versions, at every image).
   */
  liveItems(): WindowItem[] {
    const out: WindowItem[] = [];
    // A key written by many versions is decoded once: its [table name, values], and the list of it alone
    // (a version that wrote one key), are shared (read only), so the list of versions, held whole while
    // the image is written, is smaller to build and to keep.
    const decoded: (Map<Key, WindowKey> | undefined)[] = [];
    const alone = new Map<WindowKey, readonly WindowKey[]>();
    for (let i = this.head; i < this.versions.length; i++) {
      const start = this.starts[i] as number;
      const end = i + 1 < this.versions.length ? (this.starts[i + 1] as number) : this.recorded;
      const version = this.versions[i] as number;
      if (end - start === 1) {
        const pair = this.windowKey(decoded, start);
        let only = alone.get(pair);
        if (only === undefined) alone.set(pair, (only = [pair]));
        out.push({ version, keys: only });
        continue;
      }
      const keys: WindowKey[] = [];
      for (let n = start; n < end; n++) keys.push(this.windowKey(decoded, n));
      out.push({ version, keys });
    }
    return out;
  }

  /** Recorded key `n` as an image stores it, decoded once per liveItems (`decoded`, by table position). */
  private windowKey(decoded: (Map<Key, WindowKey> | undefined)[], n: number): WindowKey {
    const position = this.tables[n - this.keyBase] as number;
    const key = this.keys[n - this.keyBase] as Key;
    const byKey = (decoded[position] ??= new Map());
    let pair = byKey.get(key);
    if (pair === undefined) {
      const table = this.tableAt[position] as TableSchema;
      byKey.set(key, (pair = [table.name, decodeKey(table, key)]));
    }
    return pair;
  }

  /** Keys in the window. */
  get size(): number {
    return this.recorded - this.keyBase - this.keyHead;
  }
}
