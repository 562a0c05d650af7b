/**
 * A Journal in memory for the simulator. It survives a simulated crash of its node; the crash keeps the
 * synced records and, of those appended since the last sync, a random prefix (some writes reach the
 * disk without fsync, the rest are lost) — never a record that was not whole.
 */
import type { Journal } from '../src/runtime/journal.js';
import type { Rng } from './rng.js';

export class SimJournal implements Journal {
  private records: Uint8Array[] = [];
  private synced = 0;
  recovered: readonly Uint8Array[] = [];

  append(record: Uint8Array): void {
    this.records.push(record.slice());
  }

  sync(): void {
    this.synced = this.records.length;
  }

  rewrite(records: readonly Uint8Array[]): void {
    this.records = records.map((r) => r.slice());
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
}
