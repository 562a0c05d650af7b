/**
 * The retention arithmetic (log-retention.ts): how far back the log is kept behind an image, and when
 * the next image is due, in transactions and bytes rather than entries.
 */
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../src/cluster/raft/log.js';
import type { Entry } from '../../../src/cluster/raft/messages.js';
import { ImageInterval, retentionPoint } from '../../../src/cluster/raft/log-retention.js';

/** Entries 1..n; entry i holds `sizes[i-1]` transactions of 10 bytes each. */
function logOf(sizes: readonly number[]): RaftLog {
  const entries: Entry[] = sizes.map((n, i) => ({ term: 1, index: i + 1, data: { kind: 'command', payload: Array.from({ length: n }, () => 'x') } }));
  const log = RaftLog.restore(entries, entries.length);
  log.applied = entries.length;
  return log;
}
const weigh = {
  transactions: (e: Entry) => (e.data.kind === 'command' ? (e.data.payload as unknown[]).length : 1),
  bytes: (e: Entry) => (e.data.kind === 'command' ? 10 * (e.data.payload as unknown[]).length : 0),
};

describe('retentionPoint', () => {
  it('keeps just enough whole entries to hold the retained transactions', () => {
    const log = logOf([64, 64, 64, 64, 64, 64, 64, 64, 64, 64]);
    // 100 transactions behind entry 10: entries 9 and 10 (128) are needed, 10 alone (64) is not enough.
    expect(retentionPoint(log, 10, { transactions: 100, bytes: Infinity }, weigh)).toBe(8);
    expect(retentionPoint(log, 10, { transactions: 128, bytes: Infinity }, weigh)).toBe(8);
    expect(retentionPoint(log, 10, { transactions: 129, bytes: Infinity }, weigh)).toBe(7);
    // Behind an earlier image index, counting from there.
    expect(retentionPoint(log, 5, { transactions: 64, bytes: Infinity }, weigh)).toBe(4);
  });

  it('stops at the byte bound when it comes first', () => {
    const log = logOf([1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(retentionPoint(log, 10, { transactions: 1000, bytes: 30 }, weigh)).toBe(7);
  });

  it('keeps everything when the log holds less than the retention, and never goes behind its compaction point', () => {
    const log = logOf([2, 2, 2, 2]);
    expect(retentionPoint(log, 4, { transactions: 100, bytes: Infinity }, weigh)).toBe(0);
    log.compact(2);
    expect(retentionPoint(log, 4, { transactions: 100, bytes: Infinity }, weigh)).toBe(2);
  });
});

describe('ImageInterval', () => {
  it('is reached after a retention of applied transactions or bytes, and starts again where an image was asked', () => {
    const log = logOf([10, 10, 10, 10, 10, 10]);
    log.applied = 0;
    const interval = new ImageInterval(0, 0, { transactions: 25, bytes: Infinity }, weigh);
    log.applied = 2;
    expect(interval.reached(log)).toBe(false); // 20
    log.applied = 3;
    expect(interval.reached(log)).toBe(true); // 30
    interval.restart(log);
    expect(interval.reached(log)).toBe(false);
    log.applied = 6;
    expect(interval.reached(log)).toBe(true);
    const bytes = new ImageInterval(0, 0, { transactions: 1000, bytes: 350 }, weigh);
    log.applied = 3;
    expect(bytes.reached(log)).toBe(false); // 300 bytes
    log.applied = 4;
    expect(bytes.reached(log)).toBe(true);
  });

  it('counts a head start, and each entry skipped by an installed image as one transaction', () => {
    const log = logOf([10, 10, 10, 10]);
    log.applied = 0;
    expect(new ImageInterval(0, 25, { transactions: 30, bytes: Infinity }, weigh).reached(log)).toBe(false);
    log.applied = 1;
    expect(new ImageInterval(0, 25, { transactions: 30, bytes: Infinity }, weigh).reached(log)).toBe(true);
    const skipped = new ImageInterval(0, 0, { transactions: 3, bytes: Infinity }, weigh);
    log.applied = 4;
    log.compact(3); // three entries gone before they were weighed: three transactions
    expect(skipped.reached(log)).toBe(true);
  });
});
