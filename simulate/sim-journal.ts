/**
 * A Journal in memory for the simulator. It survives a simulated crash of its node; the crash keeps the
 * synced records and, of those appended since the last sync, a random prefix (some writes reach the
 * disk without fsync, the rest are lost); the first record after that prefix may be torn: written in
 * part, or whole in length with its last bytes never written. Reopening recovers a torn tail as
 * FileJournal does — the same FrameReader over the framed bytes (`[u32 length][u32 crc32][payload]`):
 * whole checksummed frames are records, a torn frame at the end is cut off.
 *
 * The replicator syncs at the end of every Ready, so unsynced records exist only inside a receive: the
 * simulator makes them matter by crashing a node inside a sync (`crashArmed`, SimulatedCrash).
 *
 * Records are copied on append, as a file keeps what was written whatever the caller does with its
 * buffer afterwards. The copies go into slabs (one allocation per slab, not one ArrayBuffer per record,
 * which was 2% of a 5-node run); a slab is never written twice, so a record, or a view a decoder kept of
 * it, stays valid however the journal changes afterwards. A record is kept as where it lies (its slab,
 * offset and length), not as a view: views are made only for what a reopen recovers. A view per record
 * lived until the next image, long enough to be copied by the young-generation collector and promoted:
 * a tenth of what a 5-node run promoted (sampled), for records hardly ever read.
 */
import type { Journal } from '../src/runtime/journal.js';
import type { Rng } from './rng.js';

import { simJournalSlabBytes, simJournalTornChance } from './limits.js';
import { frame } from '../src/store/codec.js';
import { FrameReader } from '../src/store/frames.js';

export { simJournalSlabBytes };

/** Thrown by `sync` when the node is to crash mid-write; the simulator crashes the node (not an actor failure). */
export const simulatedCrash: Error = Object.freeze(Object.assign(Object.create(Error.prototype) as Error, { name: 'SimulatedCrash', message: 'the node crashed during a journal sync' }));

export class SimJournal implements Journal {
  /** Record i is slabOf[i].subarray(offsetOf[i], offsetOf[i] + lengthOf[i]). */
  private slabOf: Uint8Array[] = [];
  private offsetOf: number[] = [];
  private lengthOf: number[] = [];
  private synced = 0;
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  /** A torn last record (framed bytes, in part), cut off when the journal reopens. */
  private tail: Uint8Array | undefined;
  recovered: readonly Uint8Array[] = [];
  /** Crashes that tore a record, and torn frames the recovery cut off (for tests and reports). */
  readonly torn = { made: 0, cut: 0 };

  /** `crashArmed()` true makes the next sync throw `simulatedCrash` before anything it covers is durable. */
  constructor(private readonly crashArmed: () => boolean = () => false) {}

  append(record: Uint8Array): void {
    this.copy(record);
  }

  sync(): void {
    if (this.crashArmed()) throw simulatedCrash;
    this.synced = this.slabOf.length;
  }

  rewrite(records: readonly Uint8Array[]): void {
    this.truncate(0);
    for (const record of records) this.copy(record);
    this.synced = this.slabOf.length;
  }

  /** The node crashed: unsynced records may be lost, and the first one lost may be torn instead. */
  crash(rng: Rng): void {
    const count = this.slabOf.length;
    const kept = this.synced + rng.int(count - this.synced + 1);
    const tear = rng.chance(simJournalTornChance);
    const cut = rng.next();
    this.tail = tear && kept < count ? tornFrame(frame(this.record(kept)), cut) : undefined;
    if (this.tail !== undefined) this.torn.made++;
    this.truncate(kept);
    this.synced = kept;
  }

  /** The node restarts: what survived is what the actor recovers (a torn tail read, and cut off, as FileJournal does). */
  reopen(): void {
    const tail = this.tail === undefined ? [] : recoverTail(this.tail);
    if (this.tail !== undefined && tail.length === 0) this.torn.cut++;
    this.tail = undefined; // FileJournal truncates the file to its whole frames
    for (const record of tail) this.copy(record);
    this.synced = this.slabOf.length;
    this.recovered = this.slabOf.map((_, i) => this.record(i));
  }

  releaseRecovered(): void {
    this.recovered = [];
  }

  get bytes(): number {
    return this.lengthOf.reduce((sum, length) => sum + length, 0);
  }

  /** A view of record `i` (the bytes stay where they are: a slab is never written twice). */
  private record(i: number): Uint8Array {
    const offset = this.offsetOf[i]!;
    return this.slabOf[i]!.subarray(offset, offset + this.lengthOf[i]!);
  }

  private truncate(count: number): void {
    this.slabOf.length = count;
    this.offsetOf.length = count;
    this.lengthOf.length = count;
  }

  private copy(record: Uint8Array): void {
    if (this.slabUsed + record.length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(simJournalSlabBytes, record.length));
      this.slabUsed = 0;
    }
    this.slab.set(record, this.slabUsed);
    this.slabOf.push(this.slab);
    this.offsetOf.push(this.slabUsed);
    this.lengthOf.push(record.length);
    this.slabUsed += record.length;
  }
}

/**
 * A frame as a crash mid-write leaves it: `cut` in [0, 1) picks how. Below one half, only a prefix reached
 * the disk (at least a byte, never all of it); otherwise all of its length did, but its last bytes (a
 * sector the disk never wrote) are zeros.
 */
function tornFrame(framed: Uint8Array, cut: number): Uint8Array {
  if (cut < 0.5) return framed.slice(0, 1 + Math.floor(2 * cut * (framed.length - 1)));
  const torn = framed.slice();
  const unwritten = 1 + Math.floor((2 * cut - 1) * Math.min(512, framed.length - 8));
  torn.fill(0, framed.length - unwritten);
  return torn;
}

/**
 * FileJournal's recovery over a journal's last bytes: whole, checksummed frames are records; a bad or
 * partial frame at the end is cut off. (A torn frame whose zeroed bytes were zeros already is whole.)
 */
function recoverTail(bytes: Uint8Array): Uint8Array[] {
  const reader = new FrameReader();
  reader.push(bytes);
  const records: Uint8Array[] = [];
  for (let result = reader.next(); result.kind === 'frame'; result = reader.next()) records.push(result.payload.slice());
  return records;
}
