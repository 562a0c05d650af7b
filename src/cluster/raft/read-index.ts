/**
 * Linearizable reads without writing to the log: ReadIndex (Ongaro's thesis §6.4). A leader takes the
 * read's index (its commit index, or the start of its term if that is not committed yet), then proves it
 * is still the leader by a round of heartbeats that a quorum acknowledges; once this node has applied
 * that index, the read sees every write acknowledged before it began.
 *
 * This queue is the leader's bookkeeping: each read gets the next round number; every append the
 * leader sends carries the latest round number, and followers echo it; a read is confirmed when this
 * node and a quorum's worth of followers have echoed its round (or a later one).
 *
 * Invariants: reads are confirmed in the order they arrived; rounds only grow; pending reads are bounded
 * (`readIndexPendingMax`) and dropped, reported, when the leader steps down.
 */
import type { NodeId, QuorumRule } from './quorum.js';

export interface PendingRead {
  readonly id: number;
  /** The node that asked (this one, or a follower that forwarded it). */
  readonly from: NodeId;
  readonly index: number;
  readonly round: number;
}

export class ReadIndexQueue {
  private round = 0;
  private pending: PendingRead[] = [];
  private readonly echoed = new Map<NodeId, number>();

  /** The round number appends carry (0: no read has been asked yet). */
  get currentRound(): number {
    return this.round;
  }

  get size(): number {
    return this.pending.length;
  }

  add(id: number, from: NodeId, index: number): void {
    this.pending.push({ id, from, index, round: ++this.round });
  }

  /** A follower answered an append that carried `round`. */
  echo(from: NodeId, round: number): void {
    if (round > (this.echoed.get(from) ?? 0)) this.echoed.set(from, round);
  }

  /** Takes the reads whose round this node and a quorum of followers have acknowledged. */
  confirmed(self: NodeId, isQuorum: QuorumRule): PendingRead[] {
    let count = 0;
    for (const read of this.pending) {
      const holders = new Set<NodeId>([self]);
      for (const [id, round] of this.echoed) if (round >= read.round) holders.add(id);
      if (!isQuorum(holders)) break;
      count++;
    }
    return count === 0 ? [] : this.pending.splice(0, count);
  }

  /** Leadership is lost: every pending read fails. */
  drain(): PendingRead[] {
    const all = this.pending;
    this.pending = [];
    this.echoed.clear();
    return all;
  }
}
