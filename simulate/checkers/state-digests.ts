/**
 * Replicas agree at every log index, not only at the end: a node's tables after applying the log up to
 * index i are a function of the log alone (Store's invariant: the same change-sets in the same order give
 * the same content), so any two nodes — or two runs of one node — that hold index i must hold the same
 * rows. The end-state comparison (convergenceProblem) misses a divergence that a later state transfer or
 * journal replay wipes out: a state image that lost a row, an apply that skipped a change later
 * overwritten.
 *
 * The simulated cluster records a digest of a node's tables (storeDigest: the store version and every
 * row, in key order) at the points where it knows their log index: after an apply batch that ends on a
 * checkpoint index (digestCheckpoint), when the node takes a state image (the sender's state at that
 * index), and when it installs one (from the leader or from its journal). Each digest is compared with
 * the first one recorded at that index; a difference names both nodes, how each got there, and the seed.
 *
 * Checkpoints thin out as the log grows (every index up to 2 × simStateDigestDenseIndexes, then every 2nd
 * up to twice that, and so on), so that the cost stays linear in the run even where the tables grow
 * with it (bank's transfer rows, list-append's lists); image points are always recorded.
 *
 * The digest is a 32-bit FNV-1a: a collision could hide a difference (odds 2^-32 each), never invent one.
 * The certification window is left out (it costs a walk of up to 65,536 versions per digest); a window
 * that differs shows as soon as it certifies a change-set differently, in the rows and the version.
 * Bound: the first `simStateDigestConflictsReportedMax` differences are described, later ones counted.
 */
import type { Store } from '../../src/store/store.js';
import type { Row } from '../../src/store/values.js';
import { assert } from '../../src/runtime/assert.js';

/** Differences described in full; later ones are only counted. */
export const simStateDigestConflictsReportedMax = 10;
/** Log indexes recorded densely (every one) before the checkpoints start to thin out. */
export const simStateDigestDenseIndexes = 32;

/** How a node's tables came to a recorded index. */
export type DigestPoint = 'applied' | 'image taken' | 'image installed';

/** Whether apply batches ending at `index` are recorded: every index at first, then every 2^k-th. */
export function digestCheckpoint(index: number): boolean {
  if (index <= 2 * simStateDigestDenseIndexes) return true;
  const spacing = 2 ** Math.floor(Math.log2(index / simStateDigestDenseIndexes));
  return index % spacing === 0;
}

interface Recorded {
  readonly digest: number;
  readonly version: number;
  readonly node: string;
  readonly point: DigestPoint;
  readonly atMs: number;
}

export class StateDigests {
  private readonly first = new Map<number, Recorded>();
  private readonly conflicts: string[] = [];
  private conflictCount = 0;
  /** Digests recorded, those compared with an earlier one at their index, and the rows they hashed (their cost). */
  recorded = 0;
  compared = 0;
  rowsHashed = 0;

  constructor(private readonly seed: number) {}

  /** `node`'s tables hold the log up to `index` (reached as `point`, at virtual time `atMs`). */
  record(node: string, index: number, store: Store, point: DigestPoint, atMs: number): void {
    this.recorded++;
    const hasher = new RowHasher();
    const digest = hasher.store(store);
    this.rowsHashed += hasher.rows;
    const first = this.first.get(index);
    if (first === undefined) {
      this.first.set(index, { digest, version: store.version, node, point, atMs });
      return;
    }
    this.compared++;
    if (first.digest === digest && first.version === store.version) return;
    this.conflictCount++;
    if (this.conflicts.length >= simStateDigestConflictsReportedMax) return;
    this.conflicts.push(
      `seed ${this.seed}: ${node}'s tables at log index ${index} (${point}, at ${atMs.toFixed(3)} ms) are version ${store.version} digest ${hex(digest)}, ` +
        `but ${first.node}'s at that index (${first.point}, at ${first.atMs.toFixed(3)} ms) were version ${first.version} digest ${hex(first.digest)}`,
    );
  }

  /** What went wrong, if anything: one line, describing the first differences. */
  problems(): string[] {
    if (this.conflictCount === 0) return [];
    const more = this.conflictCount - this.conflicts.length;
    return [`nodes held different tables at the same log index: ${this.conflicts.join('; ')}${more > 0 ? `; and ${more} more` : ''}`];
  }
}

/**
 * FNV-1a over the store version and every table's rows in primary-key order (each value with a tag for
 * its type, so that 1 and "1" differ). Equal on replicas that agree; any row missing, extra or different
 * changes it.
 */
export function storeDigest(store: Store): number {
  return new RowHasher().store(store);
}

const float = new Float64Array(1);
const floatWords = new Int32Array(float.buffer);

class RowHasher {
  h = 0x811c9dc5;
  rows = 0;

  store(store: Store): number {
    this.number(store.version);
    store.read((tx) => {
      for (const table of store.schema.tables) {
        this.text(table.name);
        const fields = table.fields.map((field) => field.name);
        tx.each(table.name, undefined, (row) => void this.row(row, fields));
      }
    });
    return this.h >>> 0;
  }

  row(row: Row, fields: readonly string[]): void {
    this.rows++;
    this.word(0x52); // 'R': a row starts
    for (const name of fields) this.value(row[name]);
  }

  value(value: unknown): void {
    if (value === null || value === undefined) return this.word(0);
    switch (typeof value) {
      case 'number':
        return this.number(value);
      case 'string':
        return this.text(value);
      case 'boolean':
        return this.word(value ? 3 : 4);
      case 'bigint':
        this.word(5);
        return this.text(value.toString());
      default:
        if (value instanceof Uint8Array) {
          this.word(6);
          this.word(value.length);
          for (let i = 0; i < value.length; i++) this.word(value[i]!);
          return;
        }
        if (Array.isArray(value)) {
          this.word(7);
          this.word(value.length);
          for (const item of value) this.value(item);
          return;
        }
        assert(false, `storeDigest: a stored value of an unexpected kind (${typeof value})`);
    }
  }

  number(value: number): void {
    if ((value | 0) === value && !Object.is(value, -0)) {
      this.word(8); // a 32-bit integer, most values: one word
      return this.word(value);
    }
    this.word(1);
    float[0] = value;
    this.word(floatWords[0]!);
    this.word(floatWords[1]!);
  }

  text(value: string): void {
    this.word(2);
    this.word(value.length);
    for (let i = 0; i < value.length; i++) this.word(value.charCodeAt(i));
  }

  private word(w: number): void {
    this.h = Math.imul(this.h ^ w, 0x01000193);
  }
}

function hex(digest: number): string {
  return digest.toString(16).padStart(8, '0');
}
