/**
 * A latency recorder with bounded memory, for the demo and the benchmarks: log-spaced buckets, each
 * 2% wider than the one before, from 1 µs up to 100 s (about 930 counters whatever the number of
 * samples). A quantile is the upper edge of its bucket, so it reads at most 2% high; a sample past
 * the last bucket counts in it.
 */
const growth = 1.02;
const firstUs = 1;
const lastUs = 100_000_000;
const bucketsCount = Math.ceil(Math.log(lastUs / firstUs) / Math.log(growth)) + 1;

export class LatencyHistogram {
  private readonly counts = new Float64Array(bucketsCount);
  private total = 0;

  get count(): number {
    return this.total;
  }

  record(ms: number): void {
    const us = Math.max(firstUs, ms * 1000);
    const bucket = Math.min(bucketsCount - 1, Math.ceil(Math.log(us / firstUs) / Math.log(growth)));
    this.counts[bucket]! += 1;
    this.total++;
  }

  /** The latency at or below which a fraction `q` of the samples lie, in ms; NaN without samples. */
  quantileMs(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < bucketsCount; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return (firstUs * growth ** bucket) / 1000;
    }
    return lastUs / 1000;
  }

  add(other: LatencyHistogram): void {
    for (let bucket = 0; bucket < bucketsCount; bucket++) this.counts[bucket]! += other.counts[bucket]!;
    this.total += other.total;
  }
}
