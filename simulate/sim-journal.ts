/**
 * A Journal in memory for the simulator. It survives a simulated crash of its node; the crash keeps the
 * synced records and, of those appended since the last sync, a random prefix (some writes reach the
 * disk without fsync, the rest are lost) — never a record that was not whole. (FileJournal cuts a torn
 * last frame off when it opens, so a torn append recovers exactly as a lost one does here.)
 *
 * Records are copied on append, as a file keeps what was written whatever the caller does with its
 * buffer afterwards. The copies go into slabs (one allocation per slab, not one ArrayBuffer per record,
 * which was 2% of a 5-node run); a slab is never written twice, so a record, or a view a decoder kept of
 * it, stays valid however the journal changes afterwards.
 */
import type { Journal } from '../src/runtime/journal.js';
import type { Rng } from './rng.js';

import { simJournalSlabBytes } from './limits.js';

export { simJournalSlabBytes };

export class SimJournal implements Journal {
  private records: Uint8Array[] = [];
  private synced = 0;
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  recovered: readonly Uint8Array[] = [];

  append(record: Uint8Array): void {
    this.records.push(this.copy(record));
  }

  sync(): void {
    this.synced = this.records.length;
  }

  rewrite(records: readonly Uint8Array[]): void {
    this.records = records.map((r) => this.copy(r));
    this.synced = this.records.length;
  }

  /** The node crashed: unsynced records may be lost. */
  crash(rng: Rng): void {
    const kept = this.synced + rng.int(this.records.length - this.synced + 1);
    this.records.length = kept;
    this.synced = kept;
  }

  /** The node restarts: what survived is what the actor recovers. */
  reopen(): void {
    this.recovered = [...this.records];
  }

  get bytes(): number {
    return this.records.reduce((sum, r) => sum + r.length, 0);
  }

  private copy(record: Uint8Array): Uint8Array {
    if (this.slabUsed + record.length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(simJournalSlabBytes, record.length));
      this.slabUsed = 0;
    }
    const copy = this.slab.subarray(this.slabUsed, this.slabUsed + record.length);
    copy.set(record);
    this.slabUsed += record.length;
    return copy;
  }
}
