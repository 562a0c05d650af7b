/**
 * Raft's membership changes by joint consensus (§6; the rules and why in membership.ts), as the layer
 * above the shared state (raft-state.ts; raft-reads.ts, raft-images.ts and raft.ts build on it): a node
 * asks the leader to take it out or put it back, the leader appends the joint membership and then the
 * new one, and a leader left out steps down once that commits. The roles supply appending, sending and stepping down.
 */
import type { MembersChange, MembersChangeResp, EntryData } from './messages.js';
import type { NodeId } from './quorum.js';
import type { MembershipResult } from './types.js';
import type { Membership, VersionedMembership } from './membership.js';
import { isJoint, membershipQuorum } from './membership.js';
import { RaftState } from './raft-state.js';

export abstract class RaftMembership extends RaftState {
  /**
   * The latest membership a leader answered this node's request with. It may be newer than this node's
   * log: a node taken out may never hear of the final change, as the leader stops sending to it once
   * that commits.
   */
  protected leaderMembership: VersionedMembership | undefined;
  /** The membership request this node last made, and whether a leader spoke to it since (see membershipDone). */
  protected membershipAsked: 'detach' | 'attach' | undefined;
  protected membershipHeard = false;
  /** The membership version a leader last told this node it was at: the next request is made against it. */
  private leaderVersion: number | undefined;
  /** Why a leader refused the request last made (see changeMembers), until the host forgets the request. */
  private refusal: string | undefined;
  /** Why this leader's changeMembers last returned 'refused'. */
  private refusedBecause = '';
  /**
   * This node in the membership: 'member'; 'joining' or 'leaving' while a change that adds or removes it
   * is under way; 'out' once neither the latest nor the committed membership holds it. Taken out, a node
   * stays a voter until its removal commits: the others may need its vote to finish the change. What a
   * leader answered counts where it is newer than this node's log.
   */
  membershipState(): 'member' | 'joining' | 'leaving' | 'out' {
    // Asked on every tick: read in place, no membership object or list made per call.
    const told = this.leaderMembership;
    let current = this.members.current();
    let currentIndex = this.members.currentIndex();
    if (told !== undefined && told.index > currentIndex) (current = told.membership), (currentIndex = told.index);
    let committed = this.members.at(this.log.committed);
    if (told !== undefined && told.index > committed.index) committed = told;
    if (!counts(current, this.id) && !counts(committed.membership, this.id)) return 'out';
    const inNew = current.members.includes(this.id);
    if (inNew && currentIndex === committed.index && !isJoint(current)) return 'member';
    return inNew ? 'joining' : 'leaving';
  }

  /**
   * Whether the membership request `op` is done: this node is out and not leading (detach), or a member
   * (attach), and a leader answered or replicated to it since the request. Its own log may be stale (it
   * restarted after being taken out, or was let back in while it was down), so only a leader can tell.
   */
  membershipDone(op: 'detach' | 'attach'): boolean {
    const state = this.membershipState();
    // What was heard answers the request last made: after a detach called off, not yet the attach.
    return this.membershipAsked === op && this.membershipHeard && (op === 'detach' ? state === 'out' && this.role !== 'leader' : state === 'member');
  }

  /**
   * The host stood this node still (out of the membership) and now resumes it: whatever it hears first
   * from a leader tells how far behind it is, and its election timer starts afresh.
   */
  resume(): void {
    this.heardLeader = false;
    this.leader = undefined;
    this.resetElection();
  }

  /**
   * Asks for this node to leave the membership (`detach`) or to rejoin it (`attach`). The host repeats
   * the request until `membershipDone(op)`: a request may be lost, or find a change in flight.
   */
  requestMembership(op: 'detach' | 'attach'): MembershipResult {
    if (this.membershipAsked !== op) {
      this.membershipAsked = op;
      this.membershipHeard = false;
      this.refusal = undefined;
    }
    if (this.role === 'leader') {
      this.membershipHeard = true; // the leader is the one who knows
      const result = this.changeMembers(op, this.id);
      if (result === 'refused') this.refusal = this.refusedBecause;
      return result;
    }
    const seen = this.leaderVersion ?? Math.max(this.members.currentIndex(), this.leaderMembership?.index ?? 0);
    const ask = (to: NodeId) => this.send({ type: 'membersChange', term: this.term, from: this.id, to, op, node: this.id, seen });
    // Out of the cluster (or on its way out) a node may know no leader: whoever hears it forwards it.
    if (this.leader !== undefined && this.membershipState() !== 'out') ask(this.leader);
    else if (this.peers.length > 0) this.peers.forEach(ask);
    else return 'noLeader';
    return 'forwarded';
  }

  /**
   * Why a leader refused the request `op` last made, if it did: the change would leave a membership that
   * could never commit anything. The request stands refused until the host forgets it.
   */
  membershipRefused(op: 'detach' | 'attach'): string | undefined {
    return this.membershipAsked === op ? this.refusal : undefined;
  }

  /** The host gave up the request (refused): the next one starts afresh. */
  forgetMembershipRequest(): void {
    this.membershipAsked = undefined;
    this.refusal = undefined;
  }

  protected stepMembers(m: MembersChange | MembersChangeResp): void {
    if (m.type === 'membersChangeResp') {
      if (m.membership.index > (this.leaderMembership?.index ?? 0)) this.leaderMembership = m.membership;
      this.leaderVersion = m.version;
      this.membershipHeard = true;
      if (m.refused !== undefined && m.refused.op === this.membershipAsked) this.refusal = m.refused.reason;
      return;
    }
    if (this.role !== 'leader') {
      if (this.leader !== undefined && this.leader !== m.from) this.send({ ...m, term: this.term, from: this.id, to: this.leader });
      return;
    }
    const version = this.members.currentIndex();
    // A request made against another version is only answered (with this one): the asker asks again.
    const result = m.seen === version ? this.changeMembers(m.op, m.node) : 'done';
    if (result !== 'done' && result !== 'refused') return;
    const refused = result === 'refused' ? { op: m.op, reason: this.refusedBecause } : undefined;
    this.send({ type: 'membersChangeResp', term: this.term, from: this.id, to: m.node, membership: this.members.at(this.log.committed), version: this.members.currentIndex(), ...(refused === undefined ? {} : { refused }) });
  }

  /** Leader: starts the joint membership (old and new) that leads to the one asked for. */
  private changeMembers(op: 'detach' | 'attach', node: NodeId): MembershipResult {
    const current = this.members.current();
    // One change at a time, from a committed membership. (Joint consensus does not need the leader's own
    // term to have committed first, as single-server changes do; an arbiter leading may be unable to
    // commit anything until the data node it lets back in holds it.)
    if (this.transferee !== undefined || isJoint(current) || this.members.currentIndex() > this.log.committed) return 'busy';
    if ((op === 'detach') !== current.members.includes(node)) return 'done';
    const members = this.config.voters.map((v) => v.id).filter((id) => (op === 'detach' ? id !== node && current.members.includes(id) : id === node || current.members.includes(id)));
    const left = `the members left, ${JSON.stringify(members)},`;
    if (members.every((id) => this.arbiters.has(id))) return this.refuse(`${left} would hold no data node (only arbiters)`);
    // A custom rule is not rescaled to a smaller membership (qrank is): refuse a change after which even
    // all its members are no quorum. Its joint entry would commit, and then nothing ever could again.
    if (!membershipQuorum({ members }, this.config.voters, this.customQuorum)(new Set(members))) return this.refuse(`${left} would be no quorum under the custom quorum rule (checkQuorum), and could never commit again`);
    this.appendOwn([{ kind: 'members', membership: { members, old: current.members } }]);
    return 'started';
  }

  private refuse(reason: string): 'refused' {
    this.refusedBecause = reason;
    return 'refused';
  }

  /** Leader: once the joint membership commits, the new one alone rules; once that commits, a leader left out steps down. */
  protected override leaderCommitted(): void {
    this.refreshMembership();
    if (this.members.currentIndex() > this.log.committed) return;
    const current = this.members.current();
    if (isJoint(current)) {
      this.appendOwn([{ kind: 'members', membership: { members: current.members } }]);
    } else if (!current.members.includes(this.id)) {
      for (const peer of this.peers) this.sendAppend(peer, true); // the commit index, before it goes quiet
      this.becomeFollower(this.term, undefined);
    }
  }

  protected abstract appendOwn(data: readonly EntryData[]): void;
  protected abstract sendAppend(to: NodeId, heartbeat: boolean): void;
  protected abstract becomeFollower(term: number, leader: NodeId | undefined, keepTimer?: boolean): void;
}

/** Whether a membership counts `id` (is among membership.ts `involved(m)`), without building that list. */
function counts(m: Membership, id: NodeId): boolean {
  return m.members.includes(id) || (m.old !== undefined && m.old.includes(id));
}
