/**
 * Cluster membership and its changes by joint consensus (Raft §6, Ongaro & Ousterhout 2014). Every node
 * configured at open (`voters`) is a possible member; the membership says which of them the cluster runs
 * with now. `detach` takes a node out (its qrank leaves the total) and `attach` puts it back.
 *
 * Why joint consensus and not single-server changes (thesis §4.1): with weighted votes, a quorum of the
 * old membership and one of the new can be disjoint after one server leaves (qranks 3,1,1,1: {x,a} holds
 * 4 of 6; without x, {b,c} holds 2 of 3), so every change goes through a joint membership, in which a
 * decision needs a quorum of both, before the new one alone rules.
 *
 * A membership takes effect on a node as soon as its entry is in that node's log, committed or not (§6),
 * so the tracker follows the log: entries appended, suffixes truncated, compaction folding old changes
 * into the base, a state image bringing its own.
 *
 * Invariants: at most one change is in flight (the leader starts one only when the latest membership is
 * not joint and is committed); a joint membership is followed by the final one only after the joint one
 * committed; the members of a membership are never empty.
 */
import { assert } from '../../runtime/assert.js';
import type { Entry } from './messages.js';
import type { NodeId, QuorumRule, Voter } from './quorum.js';
import { qrankQuorum } from './quorum.js';

/** A membership: `members`, and while changing (joint), the `old` members whose quorum also counts. */
export interface Membership {
  readonly members: readonly NodeId[];
  readonly old?: readonly NodeId[];
}

interface Change {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

export function isJoint(m: Membership): boolean {
  return m.old !== undefined;
}

/** Every node a membership counts (both sides while joint). */
export function involved(m: Membership): NodeId[] {
  return m.old === undefined ? [...m.members] : [...new Set([...m.old, ...m.members])];
}

export function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

/**
 * The quorum rule of a membership: a quorum of `members` (and of `old` while joint), each by the qrank
 * rule over just those nodes, or by `custom` restricted to them (a custom rule is checked at open over
 * every subset, so its quorums intersect whatever the membership).
 */
export function membershipQuorum(m: Membership, voters: readonly Voter[], custom: QuorumRule | undefined): QuorumRule {
  const rule = (ids: readonly NodeId[]): QuorumRule => {
    if (custom === undefined) return qrankQuorum(voters.filter((v) => ids.includes(v.id)));
    const inside = new Set(ids);
    return (set) => custom(new Set([...set].filter((id) => inside.has(id))));
  };
  const next = rule(m.members);
  if (m.old === undefined) return next;
  const old = rule(m.old);
  return (set) => next(set) && old(set);
}

/** A membership and the index of the log entry that set it (0: every configured node, from the start). */
export interface VersionedMembership {
  readonly membership: Membership;
  readonly index: number;
}

/** Follows the memberships in one node's log. */
export class MembershipTracker {
  private changes: Change[] = [];
  private base: VersionedMembership;

  /** `base`: the membership at the compaction point (or of the image the log starts from). */
  constructor(base: VersionedMembership) {
    assert(base.membership.members.length > 0, 'membership: no members');
    this.base = base;
  }

  current(): Membership {
    return this.changes[this.changes.length - 1]?.membership ?? this.base.membership;
  }

  /** Index of the entry that set the current membership: its version, which every change raises. */
  currentIndex(): number {
    return this.changes[this.changes.length - 1]?.index ?? this.base.index;
  }

  /** The membership in force at `index` (which must not be before the base), with its version. */
  at(index: number): VersionedMembership {
    let m = this.base;
    for (const c of this.changes) if (c.index <= index) m = c;
    return m;
  }

  /** Entries were appended to the log (by the leader, or accepted from it). */
  appended(entries: readonly Entry[]): void {
    for (const e of entries) if (e.data.kind === 'members') this.changes.push({ index: e.index, term: e.term, membership: e.data.membership });
  }

  /** The log may have lost a suffix: forget changes whose entries are gone. `termAt` reads the log. */
  truncated(termAt: (index: number) => number | undefined): void {
    while (this.changes.length > 0) {
      const last = this.changes[this.changes.length - 1]!;
      if (termAt(last.index) === last.term) return;
      this.changes.pop();
    }
  }

  /** The log was compacted up to `index`: changes at or before it become the base. */
  compacted(index: number): void {
    while (this.changes.length > 0 && this.changes[0]!.index <= index) this.base = this.changes.shift()!;
  }

  /** A state image at `index` replaced the log up to it, with the membership in force there. */
  installed(index: number, membership: VersionedMembership): void {
    assert(membership.index <= index, `membership: an image at ${index} cannot hold a change made at ${membership.index}`);
    this.changes = this.changes.filter((c) => c.index > index);
    this.base = membership;
  }
}
