/**
 * Quorums weighted by qrank. A quorum is any set of voters whose qrank sum is more than half of the
 * qrank of all configured voters, online or not: equal qranks give a strict majority, and an exact
 * half split leaves both halves without quorum. A custom rule may replace the arithmetic.
 *
 * Invariant the protocol relies on (Raft §5.2, §5.4): any two quorums intersect. For the qrank rule this
 * holds by construction (two sets each holding more than half of the total must share a member); a
 * custom rule is checked for it when the node opens (see findDisjointQuorums).
 */
import { assert } from '../../runtime/assert.js';

export type NodeId = string;

export interface Voter {
  readonly id: NodeId;
  /** The voter's weight; a positive integer (the seeds' `qrank`, default 1). */
  readonly qrank: number;
  /**
   * An arbiter votes and keeps the log but holds no tables (no state machine, no state images): it
   * campaigns only after data nodes had their chance, and when it does lead, it hands leadership to the
   * first data node that has its whole log.
   */
  readonly arbiter?: boolean;
}

/** Decides whether a set of voters is a quorum. Must be monotone: a superset of a quorum is one. */
export type QuorumRule = (ids: ReadonlySet<NodeId>) => boolean;

/** The weights behind each rule qrankQuorum made, so that quorumIndex can add them up directly. */
const qrankWeights = new WeakMap<QuorumRule, { readonly weight: ReadonlyMap<NodeId, number>; readonly total: number }>();

export function qrankQuorum(voters: readonly Voter[]): QuorumRule {
  const weight = new Map(voters.map((v) => [v.id, v.qrank] as const));
  let total = 0;
  for (const v of voters) {
    assert(Number.isInteger(v.qrank) && v.qrank > 0, `qrank of ${v.id} must be a positive integer, got ${v.qrank}`);
    total += v.qrank;
  }
  const rule: QuorumRule = (ids) => {
    let sum = 0;
    for (const id of ids) sum += weight.get(id) ?? 0;
    return 2 * sum > total;
  };
  qrankWeights.set(rule, { weight, total });
  return rule;
}

/**
 * The highest index that a quorum of voters holds, given each voter's match index (Raft §5.3/§5.4:
 * the leader may commit an entry of its own term once a quorum has it). Returns 0 when no quorum
 * holds anything.
 */
export function quorumIndex(match: ReadonlyMap<NodeId, number>, isQuorum: QuorumRule): number {
  const holders = new QuorumHolders();
  for (const [id, index] of match) holders.add(id, index);
  return holders.quorumIndex(isQuorum);
}

/**
 * quorumIndex's working set, kept by its caller and refilled (clear, then add each voter's match index)
 * on every append response a leader hears, so that no array, set or map is made per call.
 */
export class QuorumHolders {
  // Sorted by index, highest first, as they are added: the holders of an index are those of every
  // higher one plus those at it.
  private readonly ids: NodeId[] = [];
  private readonly indexes: number[] = [];
  private count = 0;

  clear(): void {
    this.count = 0;
  }

  add(id: NodeId, index: number): void {
    const { ids, indexes } = this;
    let i = this.count++;
    for (; i > 0 && indexes[i - 1]! < index; i--) {
      indexes[i] = indexes[i - 1]!;
      ids[i] = ids[i - 1]!;
    }
    indexes[i] = index;
    ids[i] = id;
  }

  /** quorumIndex over the voters added since the last clear. */
  quorumIndex(isQuorum: QuorumRule): number {
    const { ids, indexes, count } = this;
    const qrank = qrankWeights.get(isQuorum);
    if (qrank !== undefined) {
      // The qrank rule, added up in place (the same sums isQuorum would make on each holder set).
      let sum = 0;
      for (let i = 0; i < count; ) {
        const index = indexes[i]!;
        for (; i < count && indexes[i] === index; i++) sum += qrank.weight.get(ids[i]!) ?? 0;
        if (2 * sum > qrank.total) return index;
      }
      return 0;
    }
    const holders = new Set<NodeId>();
    for (let i = 0; i < count; ) {
      const index = indexes[i]!;
      for (; i < count && indexes[i] === index; i++) holders.add(ids[i]!);
      if (isQuorum(holders)) return index;
    }
    return 0;
  }
}

/**
 * For up to 16 voters, two disjoint sets that a rule both calls quorums (so two leaders could be
 * elected at once), or undefined when there are none. Exhaustive: 3^n assignments at most.
 */
export function findDisjointQuorums(ids: readonly NodeId[], isQuorum: QuorumRule): [NodeId[], NodeId[]] | undefined {
  assert(ids.length <= 16, 'findDisjointQuorums: at most 16 voters');
  const n = ids.length;
  const quorums: number[] = [];
  for (let mask = 1; mask < 1 << n; mask++) {
    if (isQuorum(new Set(ids.filter((_, i) => mask & (1 << i))))) quorums.push(mask);
  }
  const isQ = new Set(quorums);
  for (const a of quorums) {
    // Any quorum disjoint from `a` lies within its complement; by monotonicity the complement itself is one.
    const complement = ((1 << n) - 1) & ~a;
    if (complement !== 0 && isQ.has(complement)) {
      const members = (mask: number) => ids.filter((_, i) => mask & (1 << i));
      return [members(a), members(complement)];
    }
  }
  return undefined;
}
