/**
 * Certification: decides whether a change-set may apply, from the change-set and the store's recent
 * write history alone — never wall time or hash-map iteration order — so every replica decides alike.
 *
 * The window remembers, for the most recent versions, which primary keys each version wrote. A change-set
 * with snapshot S conflicts when a key it read or wrote, or a key inside a range it scanned, was written
 * by a version after S. A snapshot older than the window's horizon is refused as too old (we no longer
 * know what changed since).
 *
 * Invariants: entries are in increasing version order; `last` maps a key to the newest version in the
 * window that wrote it, and holds no key that no entry holds; the window holds at most
 * certifyWindowVersionsMax versions and about certifyWindowKeysMax keys (one change-set may exceed it).
 */
import { certifyWindowKeysMax, certifyWindowVersionsMax } from '../limits.js';
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

export class CertWindow {
  private readonly last = new Map<string, number>();
  private entries: WindowEntry[] = [];
  private head = 0;
  private keyCount = 0;

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
    this.checkKeys(request.writes, snapshot, 'write');
    this.checkKeys(request.reads, snapshot, 'read');
    for (const { table, range } of request.ranges) this.checkRange(table, range, snapshot);
  }

  private checkKeys(keys: readonly Touched[], snapshot: number, reason: 'read' | 'write'): void {
    for (const { table, key } of keys) {
      const changedAt = this.last.get(ns(table, key));
      if (changedAt !== undefined && changedAt > snapshot) throw new ConflictError(table.name, decodeKey(table, key), reason, snapshot, changedAt);
    }
  }

  private checkRange(table: TableSchema, range: KeyRange, snapshot: number): void {
    const compare = comparatorFor(table.keyKind);
    for (let i = this.entries.length - 1; i >= this.head; i--) {
      const entry = this.entries[i] as WindowEntry;
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
    this.entries.push({ version, keys });
    this.keyCount += keys.length;
    for (const touched of keys) this.last.set(ns(touched.table, touched.key), version);
    this.prune(version);
  }

  private prune(version: number): void {
    while (this.head < this.entries.length) {
      const oldest = this.entries[this.head] as WindowEntry;
      if (oldest.version > version - certifyWindowVersionsMax && this.keyCount <= certifyWindowKeysMax) break;
      for (const touched of oldest.keys) {
        const name = ns(touched.table, touched.key);
        if (this.last.get(name) === oldest.version) this.last.delete(name);
      }
      this.keyCount -= oldest.keys.length;
      this.horizonVersion = oldest.version;
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

/** One string per (table, key): table position, then the key (numbers print injectively; -0 never occurs). */
function ns(table: TableSchema, key: Key): string {
  return `${table.position}:${key}`;
}
