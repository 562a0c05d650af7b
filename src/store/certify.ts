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
import { certifyScanKeysMax, certifyWindowKeysMax, certifyWindowVersionsMax } from '../limits.js';
import { ConflictError } from './errors.js';
import type { Key, KeyRange } from './keys.js';
import { comparatorFor, decodeKey, inRange } from './keys.js';
import type { TableSchema } from './schema.js';

export interface Touched {
  readonly table: TableSchema;
  readonly key: Key;
}

export interface WindowEntry {
  readonly version: number;
  readonly keys: readonly Touched[];
}

/** What a change-set asks certification about, in this store's key space. */
export interface CertifyRequest {
  readonly snapshot: number;
  readonly reads: readonly Touched[];
  readonly writes: readonly Touched[];
  readonly ranges: readonly { readonly table: TableSchema; readonly range: KeyRange }[];
}

/** A window entry with the number of keys recorded before it (to count keys written since a snapshot). */
interface Entry extends WindowEntry {
  readonly keysBefore: number;
}

/** What a pruned slot below `head` holds until the array is compacted. */
const pruned: Entry = Object.freeze({ version: -1, keys: Object.freeze([]), keysBefore: 0 });

type VersionOf = (table: TableSchema, key: Key) => number | undefined;

export class CertWindow {
  /**
   * Per table position: key -> newest version in the window that wrote it. Built only when a
   * certification looks back over more than certifyScanKeysMax keys, then kept up to date. Until then
   * the entries are scanned: keeping the index on every write (a hash insert and delete per key)
   * cost ~15% of log replay and local commits, which never look back (profiled).
   */
  private last: Map<Key, number>[] | undefined;
  private entries: Entry[] = [];
  private head = 0;
  private keyCount = 0;
  private recorded = 0;

  /** Change-sets whose snapshot is below the horizon are too old to certify. */
  constructor(private horizonVersion = 0) {}

  get horizon(): number {
    return this.horizonVersion;
  }

  /** Throws ConflictError when `request` may not apply at store version `version`. */
  certify(request: CertifyRequest, version: number): void {
    const snapshot = request.snapshot;
    if (snapshot > version) throw new ConflictError(undefined, undefined, 'snapshot-ahead', snapshot, version);
    if (snapshot < this.horizonVersion) throw new ConflictError(undefined, undefined, 'snapshot-too-old', snapshot, version);
    if (snapshot === version) return; // nothing applied since the snapshot
    const versionOf = this.versionsSince(snapshot);
    this.checkKeys(request.writes, snapshot, 'write', versionOf);
    this.checkKeys(request.reads, snapshot, 'read', versionOf);
    for (const { table, range } of request.ranges) this.checkRange(table, range, snapshot);
  }

  /** Newest writer of a key, exact for every version after `snapshot` (the index, or a scan of them). */
  private versionsSince(snapshot: number): VersionOf {
    const first = this.firstAfter(snapshot);
    const since = first < this.entries.length ? this.recorded - (this.entries[first] as Entry).keysBefore : 0;
    if (this.last === undefined && since > certifyScanKeysMax) this.last = this.buildIndex();
    const index = this.last;
    if (index !== undefined) return (table, key) => index[table.position]?.get(key);
    const seen: Map<Key, number>[] = [];
    for (let i = this.entries.length - 1; i >= first; i--) {
      const entry = this.entries[i] as Entry;
      for (const { table, key } of entry.keys) {
        const map = (seen[table.position] ??= new Map());
        if (!map.has(key)) map.set(key, entry.version);
      }
    }
    return (table, key) => seen[table.position]?.get(key);
  }

  /** Index of the first live entry with a version above `snapshot` (entries.length when none). */
  private firstAfter(snapshot: number): number {
    let low = this.head;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.entries[mid] as Entry).version <= snapshot) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private buildIndex(): Map<Key, number>[] {
    const index: Map<Key, number>[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i] as Entry;
      for (const { table, key } of entry.keys) (index[table.position] ??= new Map()).set(key, entry.version);
    }
    return index;
  }

  private checkKeys(keys: readonly Touched[], snapshot: number, reason: 'read' | 'write', versionOf: VersionOf): void {
    for (const { table, key } of keys) {
      const changedAt = versionOf(table, key);
      if (changedAt !== undefined && changedAt > snapshot) throw new ConflictError(table.name, decodeKey(table, key), reason, snapshot, changedAt);
    }
  }

  private checkRange(table: TableSchema, range: KeyRange, snapshot: number): void {
    const compare = comparatorFor(table.keyKind);
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      const entry = this.entries[i] as Entry;
      if (entry.version <= snapshot) return;
      for (const touched of entry.keys) {
        if (touched.table === table && inRange(touched.key, range, compare)) {
          throw new ConflictError(table.name, decodeKey(table, touched.key), 'range', snapshot, entry.version);
        }
      }
    }
  }

  /** Remembers what `version` wrote, then forgets what falls out of the window. */
  record(version: number, keys: readonly Touched[]): void {
    this.entries.push({ version, keys, keysBefore: this.recorded });
    this.recorded += keys.length;
    this.keyCount += keys.length;
    const index = this.last;
    if (index !== undefined) for (const { table, key } of keys) (index[table.position] ??= new Map()).set(key, version);
    this.prune(version);
  }

  private prune(version: number): void {
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head] as Entry;
      if (oldest.version > version - certifyWindowVersionsMax && this.keyCount <= certifyWindowKeysMax) break;
      const index = this.last;
      if (index !== undefined) {
        for (const { table, key } of oldest.keys) {
          const map = index[table.position] as Map<Key, number>;
          if (map.get(key) === oldest.version) map.delete(key);
        }
      }
      this.keyCount -= oldest.keys.length;
      this.horizonVersion = oldest.version;
      // Drop the entry now, not at the next compaction: with large change-sets, up to 1024 pruned
      // entries held ~48 MB of keys alive in the 1M-row benchmark.
      this.entries[this.head] = pruned;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The live entries, oldest first (for snapshot images). */
  liveEntries(): readonly WindowEntry[] {
    return this.entries.slice(this.head);
  }

  get size(): number {
    return this.keyCount;
  }
}
