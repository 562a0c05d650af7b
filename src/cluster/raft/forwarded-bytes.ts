/**
 * The leader's account of proposals other nodes forwarded to it that are not committed yet: the seeds'
 * `clusterRecvBuf` (etcd-io/raft's MaxUncommittedEntriesSize, counted for forwarded proposals only: a
 * node's own are bounded by its `clusterSendBuf`). Without it a leader whose followers stop answering
 * would keep taking every node's writes into its log and memory until an election timeout.
 *
 * Invariants: `bytes` is the sum of the held proposals; a proposal is admitted when nothing is held,
 * whatever its size (so one larger than the bound still commits, alone); held proposals leave once the
 * commit index reaches the last entry each one made. Cleared when leadership begins. A proposal is acted
 * on once: the last `forwardedSeenMax` (origin, incarnation, seq) are remembered, so that a copy delivered
 * twice (the simulator's duplication fault; a transport that resends) is neither taken twice nor taken
 * and also refused; a refusal must mean that nothing of the proposal is in the log.
 */
import { assert } from '../../runtime/assert.js';
import { forwardedSeenMax } from '../../limits.js';

export class ForwardedBytes {
  /** Bytes of forwarded proposals in the log and not yet committed. */
  bytes = 0;
  /** (last log index of a proposal, its bytes), in log order. */
  private readonly held: { readonly last: number; readonly bytes: number }[] = [];
  private head = 0;
  /**
   * Proposals acted on: their sequence numbers by origin and incarnation, and the same oldest first, in a
   * ring of at most `forwardedSeenMax` (origin, incarnation, seq) to forget the oldest by. Not a key
   * string per proposal: its incarnation (a time) printed as text, and a map of 65,536 such strings, were
   * a quarter of what a leader spent taking a forwarded proposal (profiled).
   */
  private readonly seen = new Map<string, Map<number, Set<number>>>();
  private readonly ringOrigins: string[] = [];
  private readonly ringIncarnations: number[] = [];
  private readonly ringSeqs: number[] = [];
  /** Once the ring is full: where its oldest entry is. */
  private ringOldest = 0;

  constructor(readonly bytesMax: number) {
    assert(Number.isInteger(bytesMax) && bytesMax > 0, `ForwardedBytes: bytesMax must be a positive integer, got ${bytesMax}`);
  }

  /** Whether a proposal of `bytes` may go into the log now, with the log committed up to `committed`. */
  admits(bytes: number, committed: number): boolean {
    this.release(committed);
    return this.bytes === 0 || this.bytes + bytes <= this.bytesMax;
  }

  /** A forwarded proposal went into the log, its last entry at `last`. */
  add(last: number, bytes: number): void {
    assert(bytes >= 0 && Number.isFinite(bytes), `ForwardedBytes: bad size ${bytes}`);
    this.held.push({ last, bytes });
    this.bytes += bytes;
  }

  clear(): void {
    this.held.length = 0;
    this.head = 0;
    this.bytes = 0;
  }

  /** True the first time a proposal is seen (until `forwardedSeenMax` later ones push it out). */
  firstSight(origin: string, incarnation: number, seq: number): boolean {
    let byIncarnation = this.seen.get(origin);
    if (byIncarnation === undefined) this.seen.set(origin, (byIncarnation = new Map()));
    let seqs = byIncarnation.get(incarnation);
    if (seqs === undefined) byIncarnation.set(incarnation, (seqs = new Set()));
    if (seqs.has(seq)) return false;
    seqs.add(seq);
    if (this.ringSeqs.length < forwardedSeenMax) {
      this.ringOrigins.push(origin);
      this.ringIncarnations.push(incarnation);
      this.ringSeqs.push(seq);
      return true;
    }
    const at = this.ringOldest;
    this.forget(this.ringOrigins[at]!, this.ringIncarnations[at]!, this.ringSeqs[at]!);
    this.ringOrigins[at] = origin;
    this.ringIncarnations[at] = incarnation;
    this.ringSeqs[at] = seq;
    this.ringOldest = (at + 1) % forwardedSeenMax;
    return true;
  }

  private forget(origin: string, incarnation: number, seq: number): void {
    const byIncarnation = this.seen.get(origin)!;
    const seqs = byIncarnation.get(incarnation)!;
    seqs.delete(seq);
    if (seqs.size > 0) return;
    byIncarnation.delete(incarnation);
    if (byIncarnation.size === 0) this.seen.delete(origin);
  }

  private release(committed: number): void {
    while (this.head < this.held.length && this.held[this.head]!.last <= committed) this.bytes -= this.held[this.head++]!.bytes;
    if (this.head === this.held.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held.splice(0, this.head);
      this.head = 0;
    }
  }
}
