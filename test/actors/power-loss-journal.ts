/**
 * A journal on a disk that keeps, after a power loss, what was synced (a rewrite is synced when it
 * returns) and nothing else. Shared by the tests that restart a node from what survived.
 */
import type { Journal } from '../../src/runtime/journal.js';

export class PowerLossJournal implements Journal {
  records: Uint8Array[];
  /** How many of `records` are on the disk for good. */
  durable: number;

  constructor(readonly recovered: readonly Uint8Array[] = []) {
    this.records = [...recovered];
    this.durable = recovered.length;
  }

  append(record: Uint8Array): void {
    this.records.push(record.slice());
  }

  sync(): void {
    this.durable = this.records.length;
  }

  rewrite(records: readonly Uint8Array[]): void {
    this.records = records.map((r) => r.slice());
    this.durable = this.records.length;
  }

  /** What a restart after the power goes finds: the synced records alone. */
  afterPowerLoss(): Journal {
    return { recovered: this.records.slice(0, this.durable), append() {}, sync() {}, rewrite() {} };
  }
}
