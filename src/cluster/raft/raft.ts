/**
 * Raft with votes weighted by qrank, as a sans-IO state machine (the etcd-io/raft shape): it is stepped
 * with messages and abstract ticks and never touches the clock, the network or the disk. Its outputs
 * are data, collected by `ready()` (raft-state.ts, with the rules the host follows for them).
 *
 * Roles are functions swapped on transition (follower, preCandidate, candidate, leader). Extensions:
 * pre-vote (thesis §9.6) and check-quorum with leader lease (§6.2, §4.2.3) so that a node cut off and
 * coming back cannot disrupt a healthy leader; leader transfer (§3.10). Below it,
 * in layers: raft-state.ts (fields, Ready) ← raft-membership.ts (joint consensus, §6) ← raft-reads.ts
 * (ReadIndex for linearizable reads, thesis §6.4) ← raft-images.ts (compaction and state transfer, §7)
 * ← raft.ts.
 *
 * Safety invariants asserted here: at most one leader per term (an append from another leader of our
 * own term is impossible); a committed entry is never truncated (RaftLog); commit only advances, and only
 * by an entry of the leader's own term (§5.4.2).
 */
import { assert, assertNever } from '../../runtime/assert.js';
import type { Append, AppendResp, Entry, Propose, RaftMessage } from './messages.js';
import type { NodeId } from './quorum.js';
import { Progress } from './progress.js';
import { quorumActive, tally } from './election.js';
import type { ProposeResult } from './types.js';
import { involved } from './membership.js';
import { RaftImages } from './raft-images.js';

/** A message being built: its optional fields are set after the literal (see sendAppend). */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type { HardState, ProposeResult, RaftConfig, ReadState, Ready, Role, SoftState, StateImage } from './types.js';

export class Raft extends RaftImages {
  /** Proposals this instance forwarded to a leader (Propose.seq). */
  private proposalsSent = 0;
  private stepRole: (m: RaftMessage) => void = (m) => this.stepFollower(m);

  // ---- inputs -------------------------------------------------------------------------------------

  tick(): void {
    this.electionElapsed++;
    if (this.role !== 'leader') {
      if (this.electionElapsed >= this.randomizedElectionTicks && this.membershipState() !== 'out') this.campaign(this.config.preVote ? 'preCandidate' : 'candidate', false);
      return;
    }
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      this.transferee = undefined; // a transfer not done within an election timeout is abandoned
      if (this.config.checkQuorum && !quorumActive(this.id, this.progress, this.isQuorum)) {
        this.becomeFollower(this.term, undefined);
        return;
      }
    }
    this.tickImages(); // state transfers: a chunk lost is sent again after a while (raft-images.ts)
    if (++this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      for (const peer of this.peers) {
        // A follower sent any append or image chunk since the last round (entries, a commit notice, a
        // read's round) has had this round's heartbeat (§5.2: a heartbeat is an AppendEntries without
        // entries, and each append carries the term, commit index and read round): under load that spares
        // a message each way per follower and tick. One that was not (idle, or its in-flight window full) gets one.
        const pr = this.progress.get(peer)!;
        if (!pr.sentSinceHeartbeat) this.sendAppend(peer, true);
        pr.sentSinceHeartbeat = false;
      }
    }
  }

  /**
   * A client command batch from this node's committer, of `bytes` as it counted them (0 when it does
   * not): a leader that refuses it once forwarded names it in a later ready's `proposalsRefused`.
   */
  propose(payloads: readonly unknown[], bytes = 0): ProposeResult {
    if (payloads.length === 0) return 'appended';
    if (this.role === 'leader') {
      if (this.transferee !== undefined) return 'transferring';
      this.appendOwn(payloads.map((payload) => ({ kind: 'command', payload }) as const));
      return 'appended';
    }
    if (this.leader === undefined) return 'noLeader';
    this.send({ type: 'propose', term: this.term, from: this.id, to: this.leader, payloads, origin: this.id, bytes, incarnation: this.config.incarnation, seq: ++this.proposalsSent });
    return 'forwarded';
  }

  /** §3.10: hand leadership to `target` once its log has caught up. */
  transferLeadership(target: NodeId): boolean {
    if (this.role !== 'leader' || target === this.id || !this.progress.has(target) || !involved(this.members.current()).includes(target)) return false;
    this.transferee = target;
    this.electionElapsed = 0;
    const pr = this.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', term: this.term, from: this.id, to: target });
    else this.sendAppend(target, false);
    return true;
  }

  step(m: RaftMessage): void {
    assert(m.to === this.id, `step: message for ${m.to} delivered to ${this.id}`);
    if (m.type === 'membersChange' || m.type === 'membersChangeResp') {
      this.stepMembers(m); // not bound to a term: a node out of the membership may lag any number of terms
      return;
    }
    if (m.type === 'proposeRefused') {
      // Not bound to a term either: whatever the terms now, none of these payloads is in any log.
      this.proposalsRefused.push({ payloads: m.payloads, reason: `the leader ${m.from} holds ${m.heldBytes} bytes of other nodes' uncommitted writes (clusterRecvBuf ${m.heldBytesMax})` });
      return;
    }
    if (m.term > this.term) {
      if (this.inLease(m)) return; // §4.2.3: a live leader's followers ignore disruptive elections
      const noTermChange = m.type === 'preVote' || (m.type === 'preVoteResp' && m.granted);
      if (!noTermChange) this.becomeFollower(m.term, m.type === 'append' || m.type === 'snapshot' || m.type === 'timeoutNow' ? m.from : undefined, m.type === 'vote');
    } else if (m.term < this.term && m.type !== 'propose' && m.type !== 'readIndex' && m.type !== 'readIndexResp') {
      // Proposals and reads are not bound to a term: a leader takes them from a follower that lags a term
      // behind, and a confirmation stays true for the moment it was made.
      this.answerStale(m);
      return;
    }
    switch (m.type) {
      case 'preVote': {
        // Grant only for a later term: a pre-candidate asks with the term it would campaign in.
        const granted = m.term > this.term && this.log.isUpToDate(m.lastIndex, m.lastTerm);
        this.send({ type: 'preVoteResp', term: granted ? m.term : this.term, from: this.id, to: m.from, granted });
        return;
      }
      case 'vote': {
        const free = this.vote === m.from || (this.vote === undefined && this.leader === undefined);
        const granted = free && this.log.isUpToDate(m.lastIndex, m.lastTerm);
        if (granted) {
          this.vote = m.from;
          this.electionElapsed = 0;
        }
        this.send({ type: 'voteResp', term: this.term, from: this.id, to: m.from, granted });
        return;
      }
      default:
        this.stepRole(m);
    }
  }

  // ---- roles --------------------------------------------------------------------------------------

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleAppend(m);
        return;
      case 'propose':
        if (this.leader !== undefined) this.send({ ...m, term: this.term, from: this.id, to: this.leader });
        return;
      case 'readIndex': // asked of a node that is not the leader (any more): the asker tries again
        this.send({ type: 'readIndexResp', term: this.term, from: this.id, to: m.from, id: m.id, ok: false, index: 0 });
        return;
      case 'readIndexResp':
        this.onReadIndexResp(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.leader = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        this.campaign('candidate', true);
        return;
      case 'preVoteResp':
      case 'voteResp':
      case 'appendResp':
      case 'snapshotResp':
      case 'preVote':
      case 'vote':
      case 'membersChange': // stepped before the roles (stepMembers)
      case 'membersChangeResp':
      case 'proposeRefused':
        return; // stale replies from an earlier role
      default:
        assertNever(m, 'raft message');
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
        this.becomeFollower(this.term, m.from); // §5.2: a leader of our term exists
        this.handleAppend(m);
        return;
      case 'snapshot':
        this.becomeFollower(this.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'preVoteResp':
      case 'voteResp': {
        if ((m.type === 'preVoteResp') !== (this.role === 'preCandidate')) return;
        this.votes.set(m.from, m.granted);
        const outcome = this.tally();
        if (outcome === 'won') {
          if (this.role === 'preCandidate') this.campaign('candidate', false);
          else this.becomeLeader();
        } else if (outcome === 'lost') {
          this.becomeFollower(this.term, undefined);
        }
        return;
      }
      case 'readIndex':
        this.send({ type: 'readIndexResp', term: this.term, from: this.id, to: m.from, id: m.id, ok: false, index: 0 });
        return;
      case 'readIndexResp':
        this.onReadIndexResp(m);
        return;
      case 'propose':
      case 'timeoutNow':
      case 'appendResp':
      case 'snapshotResp':
      case 'preVote':
      case 'vote':
      case 'membersChange':
      case 'membersChangeResp':
      case 'proposeRefused':
        return;
      default:
        assertNever(m, 'raft message');
    }
  }

  private stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case 'append':
      case 'snapshot':
        assert(false, `raft: two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      case 'appendResp':
        this.handleAppendResp(m);
        return;
      case 'snapshotResp':
        this.handleSnapshotResp(m);
        return;
      case 'readIndex':
        this.leaderRead(m.id, m.from);
        return;
      case 'readIndexResp':
        this.onReadIndexResp(m); // answered by an earlier leader of ours: still true for its moment
        return;
      case 'propose':
        this.takeForwarded(m);
        return;
      case 'preVoteResp':
      case 'voteResp':
      case 'timeoutNow':
      case 'preVote':
      case 'vote':
      case 'membersChange':
      case 'membersChangeResp':
      case 'proposeRefused':
        return;
      default:
        assertNever(m, 'raft message');
    }
  }

  // ---- transitions --------------------------------------------------------------------------------

  /**
   * `keepTimer`: a vote request of a later term moves this node to that term, but only a vote it grants
   * restarts its election timer (§5.2); otherwise candidates that cannot win (their logs are behind)
   * would keep the one that can from ever timing out.
   */
  protected becomeFollower(term: number, leader: NodeId | undefined, keepTimer = false): void {
    this.failReads();
    if (term > this.term) {
      this.term = term;
      this.vote = undefined;
    }
    this.role = 'follower';
    this.leader = leader;
    this.stepRole = (m) => this.stepFollower(m);
    this.transferee = undefined;
    if (keepTimer) this.heartbeatElapsed = 0;
    else this.resetElection();
  }

  private campaign(role: 'preCandidate' | 'candidate', transfer: boolean): void {
    this.failReads();
    this.resetElection();
    this.heardLeader = false; // lost touch: the next leader heard from tells how far behind this node is
    this.role = role;
    this.leader = undefined;
    this.stepRole = (m) => this.stepCandidate(m);
    if (role === 'candidate') {
      this.term++;
      this.vote = this.id;
    }
    this.votes = new Map([[this.id, true]]);
    if (this.tally() === 'won') {
      if (role === 'preCandidate') this.campaign('candidate', false);
      else this.becomeLeader();
      return;
    }
    const base = { from: this.id, lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm() };
    for (const to of this.peers) {
      if (role === 'preCandidate') this.send({ type: 'preVote', term: this.term + 1, to, ...base });
      else this.send({ type: 'vote', term: this.term, to, transfer, ...base });
    }
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', `raft: ${this.role} cannot become leader`);
    this.role = 'leader';
    this.leader = this.id;
    this.stepRole = (m) => this.stepLeader(m);
    this.heartbeatElapsed = 0;
    this.electionElapsed = 0;
    this.progress = new Map(this.peers.map((id) => [id, new Progress(this.log.lastIndex() + 1)]));
    this.forwarded.clear();
    this.termStartIndex = this.log.lastIndex() + 1;
    this.appendOwn([{ kind: 'noop' }]); // §5.4.2: commits the entries of earlier terms
  }

  // ---- replication --------------------------------------------------------------------------------

  /** Leader: a proposal forwarded by another node, taken within `clusterRecvBuf` or refused to its origin. */
  private takeForwarded(m: Propose): void {
    if (this.transferee !== undefined) return; // the origin's writes go again to the next leader
    if (!this.forwarded.firstSight(m.origin, m.incarnation, m.seq)) return; // a copy of one acted on
    const bytes = Number.isSafeInteger(m.bytes) && m.bytes > 0 ? m.bytes : 0; // a peer's count: not trusted to be sane
    if (!this.forwarded.admits(bytes, this.log.committed)) {
      this.send({ type: 'proposeRefused', term: this.term, from: this.id, to: m.origin, payloads: m.payloads, heldBytes: this.forwarded.bytes, heldBytesMax: this.forwarded.bytesMax });
      return;
    }
    this.appendOwn(m.payloads.map((payload) => ({ kind: 'command', payload }) as const));
    this.forwarded.add(this.log.lastIndex(), bytes);
  }

  protected appendOwn(data: readonly Entry['data'][]): void {
    let index = this.log.lastIndex();
    const entries = data.map((d) => ({ term: this.term, index: ++index, data: d }));
    this.log.appendNew(entries);
    this.members.appended(entries);
    this.refreshMembership();
    for (const peer of this.peers) this.sendAppend(peer, false);
    this.maybeCommit(); // a single-voter cluster commits on its own (once persisted)
  }

  protected sendAppend(to: NodeId, heartbeat: boolean, commitNotice = false): void {
    const pr = this.progress.get(to)!;
    if (pr.image !== undefined || pr.next <= this.log.compactedIndex) {
      this.sendImageChunk(to, pr, heartbeat);
      return;
    }
    if (!heartbeat && !pr.canSend(this.config.inflightAppendsMax)) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    assert(prevTerm !== undefined, `sendAppend: entry ${prevIndex} for ${to} is compacted`);
    const entries = pr.canSend(this.config.inflightAppendsMax) ? this.appendSlice(pr.next) : [];
    pr.sent(entries.length);
    // A notice that carries nothing else needs no answer (with reads waiting, answers confirm them). It
    // stands in for no heartbeat: a follower that only gets these still has to answer one per round.
    const quiet = commitNotice && entries.length === 0 && this.reads.size === 0;
    if (!quiet) pr.sentSinceHeartbeat = true;
    // The optional fields are set after the others, in this order (encodings and traces depend on it),
    // and only when present: a spread of each into the literal cost an object per append.
    const m: Mutable<Append> = { type: 'append', term: this.term, from: this.id, to, prevIndex, prevTerm, entries, commit: this.log.committed };
    const round = this.reads.currentRound;
    if (round > 0) m.readRound = round;
    if (this.arbiters.size > 0 && this.arbiters.has(to)) m.dataMatch = this.dataMatch();
    if (quiet) m.quiet = quiet;
    this.send(m);
  }

  /** The entries of one append from `from` on: at most appendEntriesMax, and appendBytesMax bytes unless one entry is larger alone. */
  private appendSlice(from: number): Entry[] {
    const { appendEntriesMax, appendBytesMax, entryBytes } = this.config;
    if (appendBytesMax === undefined || entryBytes === undefined) return this.log.slice(from, appendEntriesMax);
    return this.log.sliceBytes(from, appendEntriesMax, appendBytesMax, entryBytes);
  }

  private handleAppend(m: Append): void {
    if (!this.heardLeader && m.commit > this.log.committed) this.behind(m.commit, false);
    this.heardLeader = true;
    if (m.dataMatch !== undefined) this.dataHeld = m.dataMatch; // this leader's word replaces the last one's
    if (m.prevIndex < this.log.committed) {
      this.replyAppend(m, true, this.log.committed, 0); // what we committed matches; the leader resends the rest
      return;
    }
    const last = this.log.tryAppend(m.prevIndex, m.prevTerm, m.entries);
    if (last === undefined) {
      const hint = m.prevIndex > this.log.lastIndex() ? this.log.lastIndex() : this.log.firstIndexOfTerm(m.prevIndex, this.log.committed) - 1;
      this.replyAppend(m, false, m.prevIndex, Math.max(hint, this.log.committed));
      this.behind(m.commit, false);
      return;
    }
    this.members.truncated(this.termAt);
    const entries = m.entries;
    if (entries.length > 0) this.members.appended(entries[0]!.index > this.log.compactedIndex ? entries : entries.filter((e) => e.index > this.log.compactedIndex));
    this.membershipHeard = true;
    this.log.commitTo(Math.min(m.commit, last));
    this.refreshMembership();
    if (m.quiet !== true || entries.length > 0) this.replyAppend(m, true, last, 0);
  }

  /** The log's term at an index, bound once (MembershipTracker.truncated reads it on every append). */
  private readonly termAt = (index: number): number | undefined => this.log.term(index);

  private replyAppend(m: Append, success: boolean, index: number, hint: number): void {
    const resp: Mutable<AppendResp> = { type: 'appendResp', term: this.term, from: this.id, to: m.from, success, index, hint };
    if (m.readRound !== undefined) resp.readRound = m.readRound;
    this.send(resp);
  }

  private handleAppendResp(m: AppendResp): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.readRound !== undefined) {
      // Any answer, accepted or not, shows the follower still takes this node as its leader in this term.
      this.reads.echo(m.from, m.readRound);
      for (const read of this.reads.confirmed(this.id, this.isQuorum)) this.answerRead(read.id, read.from, true, read.index);
    }
    if (!m.success) {
      if (pr.rejected(m.index, m.hint)) this.sendAppend(m.from, false);
      return;
    }
    // An acknowledgement at or below the commit index cannot move it (the second follower's, usually).
    if (pr.acknowledged(m.index) && pr.match > this.log.committed && this.maybeCommit()) {
      if (this.role !== 'leader') return; // it took itself out of the membership (§6)
      for (const peer of this.peers) this.sendAppend(peer, true, true); // tell everyone the new commit index now
    } else if (pr.next <= this.log.lastIndex()) {
      this.sendAppend(m.from, false);
    }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', term: this.term, from: this.id, to: m.from });
    // An arbiter leads only to bring a data node up to date (it cannot send images): then it hands over.
    else if (this.dataless && this.transferee === undefined && !this.arbiters.has(m.from) && pr.match === this.log.lastIndex()) this.transferLeadership(m.from);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private tally(): 'won' | 'lost' | 'pending' {
    return tally(this.votes, involved(this.members.current()), this.isQuorum);
  }

  /** Under check-quorum, a follower that heard from its leader within an election timeout ignores elections. */
  private inLease(m: RaftMessage): boolean {
    const election = (m.type === 'vote' && !m.transfer) || m.type === 'preVote';
    return election && this.config.checkQuorum && this.leader !== undefined && this.electionElapsed < this.config.electionTicks;
  }

  /** A message from an older term: tell a stale leader or pre-candidate the current term. */
  private answerStale(m: RaftMessage): void {
    if (m.type === 'append') this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: false, index: m.prevIndex, hint: this.log.lastIndex() });
    else if (m.type === 'snapshot') this.send({ type: 'appendResp', term: this.term, from: this.id, to: m.from, success: false, index: m.index, hint: this.log.lastIndex() });
    else if (m.type === 'preVote') this.send({ type: 'preVoteResp', term: this.term, from: this.id, to: m.from, granted: false });
  }
}
