/**
 * How much of the log is kept behind a state image, and when the host's next image is due, counted in
 * transactions and bytes rather than entries: a window batch is one entry holding up to the window's
 * length of transactions, so a bound in entries let the log hold that many times more (the seeds'
 * `trans_log_length` counts transactions). Both walks look at each entry about once per image interval.
 *
 * Invariant: the retained part reaches back at least `transactions` transactions behind the image, or
 * `bytes` bytes if that comes first (by at most one entry more), or to the compaction point.
 */
import type { Entry } from './messages.js';
import type { RaftLog } from './log.js';

/** The two bounds, each a multiple of the configured retention (an arbiter keeps several). */
export interface Retention {
  readonly transactions: number;
  readonly bytes: number;
}

/** What one entry weighs. */
export interface Weigh {
  transactions(entry: Entry): number;
  bytes(entry: Entry): number;
}

/**
 * Where the log may be compacted to behind an image at `index` so that the entries after that point
 * hold at least `keep.transactions` transactions or `keep.bytes` bytes (whichever is reached first);
 * the compaction point itself when the log holds less.
 */
export function retentionPoint(log: RaftLog, index: number, keep: Retention, weigh: Weigh): number {
  let transactions = 0;
  let bytes = 0;
  for (let i = index; i > log.compactedIndex; i--) {
    const entry = log.entry(i)!;
    transactions += weigh.transactions(entry);
    if (transactions >= keep.transactions) return i - 1;
    bytes += weigh.bytes(entry);
    if (bytes >= keep.bytes) return i - 1;
  }
  return log.compactedIndex;
}

/**
 * Whether the entries in (`hold`, `point`] weigh at most `bytesMax`, each counted as its bytes plus
 * `transactionBytes` per transaction (what holding them costs in memory): a leader keeps them for a state
 * transfer under way only then (raft-images.ts). Walks at most the entries that fit, and one more.
 */
export function heldWithin(log: RaftLog, hold: number, point: number, bytesMax: number, transactionBytes: number, weigh: Weigh): boolean {
  let bytes = 0;
  for (let i = point; i > hold && i > log.compactedIndex; i--) {
    const entry = log.entry(i)!;
    bytes += weigh.bytes(entry) + transactionBytes * weigh.transactions(entry);
    if (bytes > bytesMax) return false;
  }
  return true;
}

/**
 * The transactions and bytes applied since the host last asked for an image: the next is due once
 * either reaches the retention. Each applied entry is weighed once, when it is first seen applied; entries
 * skipped by an installed image (compacted before they were weighed) count one transaction each.
 */
export class ImageInterval {
  private weighedTo: number;
  private transactions: number;
  private bytes = 0;

  /** `headStart` transactions count as applied already (nodes in step would otherwise image at the same index). */
  constructor(from: number, headStart: number, private readonly keep: Retention, private readonly weigh: Weigh) {
    this.weighedTo = from;
    this.transactions = headStart;
  }

  /** Has the log applied a retention's worth since the interval began? */
  reached(log: RaftLog): boolean {
    if (this.weighedTo < log.compactedIndex) {
      this.transactions += log.compactedIndex - this.weighedTo;
      this.weighedTo = log.compactedIndex;
    }
    while (this.weighedTo < log.applied && this.transactions < this.keep.transactions && this.bytes < this.keep.bytes) {
      const entry = log.entry(++this.weighedTo)!;
      this.transactions += this.weigh.transactions(entry);
      this.bytes += this.weigh.bytes(entry);
    }
    return this.transactions >= this.keep.transactions || this.bytes >= this.keep.bytes;
  }

  /** An image was asked for at the applied index: the next interval starts there. */
  restart(log: RaftLog): void {
    this.weighedTo = log.applied; // never behind what was weighed: weighing stops at applied
    this.transactions = 0;
    this.bytes = 0;
  }
}
