/**
 * Linearizable reads by ReadIndex (Raft thesis §6.4), as the layer between membership changes
 * (raft-membership.ts) and the roles (raft.ts): a read asked on any node goes to the leader, which takes
 * its commit index (or its term's start, before its noop commits) and answers once a quorum's heartbeat
 * answers confirmed it is still the leader (read-index.ts counts the echoes). The reads come out of
 * ready(): `reads` with the index to wait for, or `readsFailed` when no leader could confirm them.
 */
import type { ReadIndexResp } from './messages.js';
import type { NodeId } from './quorum.js';
import { RaftMembership } from './raft-membership.js';

export abstract class RaftReads extends RaftMembership {
  /** A linearizable read asked on this node. */
  readIndex(id: number): void {
    if (this.role === 'leader') this.leaderRead(id, this.id);
    else if (this.leader !== undefined) this.send({ type: 'readIndex', term: this.term, from: this.id, to: this.leader, id });
    else this.readsFailed.push(id);
  }

  /** Leader: a read asked here or by `from`; confirmed by the next heartbeat round, or at once alone. */
  protected leaderRead(id: number, from: NodeId): void {
    // Before its noop commits, a new leader may not know the latest commit: read from its term's start.
    const index = Math.max(this.log.committed, this.termStartIndex);
    if (this.isQuorum(new Set([this.id]))) {
      this.answerRead(id, from, true, index);
      return;
    }
    if (this.reads.size >= this.config.readsPendingMax) {
      this.answerRead(id, from, false, 0, true); // the reader hears OVERLOADED, not that no leader could confirm it
      return;
    }
    this.reads.add(id, from, index);
    for (const peer of this.peers) this.sendAppend(peer, true); // the round that confirms it
  }

  protected answerRead(id: number, from: NodeId, ok: boolean, index: number, overloaded = false): void {
    if (from !== this.id) this.send({ type: 'readIndexResp', term: this.term, from: this.id, to: from, id, ok, index, ...(overloaded ? { overloaded } : {}) });
    else if (ok) this.readStates.push({ id, index });
    else if (overloaded) this.readsRefused.push(id);
    else this.readsFailed.push(id);
  }

  protected onReadIndexResp(m: ReadIndexResp): void {
    if (m.ok) this.readStates.push({ id: m.id, index: m.index });
    else if (m.overloaded === true) this.readsRefused.push(m.id);
    else this.readsFailed.push(m.id);
  }

  /** No longer leader: the reads it held cannot be confirmed by it. */
  protected failReads(): void {
    if (this.role !== 'leader') return;
    for (const read of this.reads.drain()) this.answerRead(read.id, read.from, false, 0);
  }
}
