/**
 * Protocol scenarios, read as transcripts: each names the section of the Raft paper (Ongaro &
 * Ousterhout 2014) or of Ongaro's thesis that it exercises.
 */
import { describe, expect, it } from 'vitest';
import { RaftLog } from '../../../src/cluster/raft/log.js';
import { Raft } from '../../../src/cluster/raft/raft.js';
import { RaftNet, equalVoters } from './net.js';
import { arbiterTransLogLengthsMax } from '../../../src/limits.js';
import type { RaftConfig } from '../../../src/cluster/raft/raft.js';
import { quorumTable, tableRule } from '../../../src/cluster/raft/custom-quorum.js';

describe('Raft with weighted votes', () => {
  it('§5.2 elects one leader; pre-vote does not spend terms', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    expect(net.leader()).toBe('a');
    expect(net.ids().map((id) => [id, net.node(id).role, net.node(id).term, net.node(id).leader])).toEqual([
      ['a', 'leader', 1, 'a'],
      ['b', 'follower', 1, 'a'],
      ['c', 'follower', 1, 'a'],
    ]);
  });

  it('§5.3 replicates proposals made on the leader and on followers, in one order everywhere', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    expect(net.propose('a', 'x=1')).toBe('appended');
    expect(net.propose('b', 'x=2')).toBe('forwarded');
    expect(net.propose('c', 'x=3')).toBe('forwarded');
    net.stabilize();
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['x=1', 'x=2', 'x=3']);
  });

  it('§5.3 followers learn a new commit index at once, from a notice they need not answer', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.stabilize();
    expect(net.propose('a', 'x=1')).toBe('appended');
    const delivered: string[] = [];
    for (let m = net.inFlight[0]; m !== undefined; m = net.inFlight[0]) {
      delivered.push(`${m.type}${m.type === 'append' && m.quiet ? ' (quiet)' : ''} ${m.from}>${m.to}`);
      net.deliverOne();
    }
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['x=1']);
    // One append and one answer per follower, then the commit notices, unanswered.
    expect(delivered.sort()).toEqual(['append (quiet) a>b', 'append (quiet) a>c', 'append a>b', 'append a>c', 'appendResp b>a', 'appendResp c>a']);
  });

  it('§5.4.2 a new leader commits earlier terms only through an entry of its own (the noop)', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.partition(['a'], ['b', 'c']);
    net.propose('a', 'lost'); // never reaches a quorum
    net.tickAll(40); // a steps down (check-quorum); b or c wins term 2
    const leader = net.leader()!;
    expect(['b', 'c']).toContain(leader);
    const raft = net.node(leader);
    expect(raft.log.term(raft.log.committed)).toBe(raft.term);
    expect(raft.log.slice(raft.log.committed, 1)[0]?.data).toEqual({ kind: 'noop' });
    net.heal();
    net.tickAll(30);
    expect(net.leader()).toBe(leader);
    for (const id of net.ids()) expect(net.commands(id)).toEqual([]); // 'lost' was never committed, and is gone
    expect(net.node('a').log.lastTerm()).toBe(raft.term);
  });

  it('qrank: a node holding more than half of the total qrank is a quorum on its own', () => {
    const net = new RaftNet({ voters: [{ id: 'a', qrank: 3 }, { id: 'b', qrank: 1 }, { id: 'c', qrank: 1 }] });
    net.elect('a');
    net.partition(['a'], ['b', 'c']);
    expect(net.propose('a', 'alone')).toBe('appended');
    net.stabilize();
    expect(net.commands('a')).toEqual(['alone']);
    net.tickAll(50); // b and c (2 of 5) can never elect a leader, and a keeps its leadership
    expect(net.leader()).toBe('a');
    expect(net.node('b').role === 'leader' || net.node('c').role === 'leader').toBe(false);
  });

  it('qrank: an exact half split stops both sides', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c', 'd') });
    net.elect('a');
    net.partition(['a', 'b'], ['c', 'd']);
    net.tickAll(50);
    expect(net.leader()).toBeUndefined(); // §6.2 check-quorum: a stepped down, and nobody could win
    expect(net.propose('a', 'nope')).toBe('noLeader');
  });

  it('thesis §9.6 pre-vote: a node cut off and coming back does not disrupt a healthy leader', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    const term = net.node('a').term;
    net.partition(['c'], ['a', 'b']);
    net.tickAll(100); // c keeps campaigning alone
    expect(net.node('c').term).toBe(term); // pre-votes fail without spending terms
    net.heal();
    net.tickAll(20);
    expect(net.leader()).toBe('a');
    expect(net.node('a').term).toBe(term);
    net.propose('a', 'after');
    net.stabilize();
    expect(net.commands('c')).toEqual(['after']);
  });

  it('thesis §6.2 check-quorum: a leader cut off from the majority steps down; the majority goes on', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c', 'd', 'e') });
    net.elect('a');
    net.partition(['a', 'b'], ['c', 'd', 'e']);
    net.tickAll(40);
    expect(net.node('a').role).not.toBe('leader');
    const leader = net.leader();
    expect(['c', 'd', 'e']).toContain(leader);
    net.propose(leader!, 'majority');
    net.stabilize();
    net.heal();
    net.tickAll(30);
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['majority']);
  });

  it('thesis §3.10 leader transfer hands leadership to a caught-up follower', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.propose('a', 'one');
    net.stabilize();
    expect(net.node('a').transferLeadership('c')).toBe(true);
    expect(net.propose('a', 'during')).toBe('transferring');
    net.stabilize();
    expect(net.leader()).toBe('c');
    expect(net.node('c').term).toBe(2);
    net.propose('b', 'two');
    net.stabilize();
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['one', 'two']);
  });

  it('§5.3 a follower that crashed catches up from the log; §5.4 a leader crash loses nothing committed', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.propose('a', 1);
    net.stabilize();
    net.crash('c');
    for (let i = 2; i <= 50; i++) net.propose('a', i);
    net.stabilize();
    net.boot('c');
    net.tickAll(5);
    expect(net.commands('c')).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    net.crash('a');
    net.tickAll(40);
    const leader = net.leader();
    expect(['b', 'c']).toContain(leader);
    net.propose(leader!, 51);
    net.stabilize();
    net.boot('a');
    net.tickAll(10);
    for (const id of net.ids()) expect(net.commands(id)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
  });
});

describe('clusterRecvBuf: a leader bounds the bytes of other nodes’ proposals it holds uncommitted (etcd MaxUncommittedEntriesSize)', () => {
  it('refuses a forwarded proposal past the bound back to its origin, takes one again once the held ones commit, and always takes one when none is held', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), forwardedBytesMax: 100 });
    net.elect('a');
    expect(net.propose('b', 'p1', 60)).toBe('forwarded');
    expect(net.propose('b', 'p2', 60)).toBe('forwarded');
    net.deliverOne(); // a takes p1: 60 bytes held, replicated but not committed yet
    net.deliverOne(); // p2 would make 120 > 100: refused to b
    net.stabilize();
    expect(net.refused.get('b')).toEqual(['p2']);
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['p1']);
    // p1 committed, so nothing is held: p3 goes in, and so does p4 though it alone is over the bound.
    net.propose('b', 'p3', 60);
    net.stabilize();
    net.propose('c', 'p4', 500);
    net.stabilize();
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['p1', 'p3', 'p4']);
    expect(net.refused.get('b')).toEqual(['p2']);
    expect(net.refused.get('c')).toEqual([]);
    // The leader's own proposals are bounded by its own clusterSendBuf, not by this one: 'own' does not
    // count, p5 (90 bytes) is held, and p6 (20 more) would pass 100.
    net.propose('c', 'p5', 90);
    net.propose('a', 'own', 1000);
    net.propose('c', 'p6', 20);
    net.stabilize();
    expect(net.commands('a')).toEqual(['p1', 'p3', 'p4', 'own', 'p5']);
    expect(net.refused.get('c')).toEqual(['p6']);
  });
});

describe('§5.2 heartbeats', () => {
  /** Followers the leader's in-flight empty appends (heartbeats, commit notices) go to. */
  const emptyAppendsTo = (net: RaftNet) => net.inFlight.filter((m) => m.type === 'append' && m.entries.length === 0).map((m) => m.to).sort();

  it('a follower sent an append since the last heartbeat round gets no heartbeat in it; an idle one does', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.tick('a'); // the round the noop's appends stood in for
    expect(emptyAppendsTo(net)).toEqual([]);
    net.tick('a');
    expect(emptyAppendsTo(net)).toEqual(['b', 'c']); // idle: both get their heartbeat
    net.stabilize();
    net.propose('a', 'x=1');
    net.stabilize(); // replicated, committed, and the new commit index told to both
    net.tick('a');
    expect(emptyAppendsTo(net)).toEqual([]); // those appends were this round's heartbeats
    net.tick('a');
    expect(emptyAppendsTo(net)).toEqual(['b', 'c']); // idle again
    net.stabilize();
    // Under steady writes no follower misses its leader: no election, every write everywhere.
    for (let i = 0; i < 40; i++) {
      net.propose('a', i);
      net.tickAll(1);
    }
    expect(net.ids().map((id) => [net.node(id).term, net.node(id).leader])).toEqual([[1, 'a'], [1, 'a'], [1, 'a']]);
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['x=1', ...Array.from({ length: 40 }, (_, i) => i)]);
  });

  it('a follower that only gets commit notices (its answers lost, its in-flight window full) still gets its heartbeat', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.cutOneWay('c', 'a');
    for (let i = 0; i < 20; i++) {
      net.propose('a', i); // b commits each; c gets entries until 8 are unanswered, then only quiet notices
      net.stabilize();
    }
    expect(net.commands('b')).toHaveLength(20);
    net.heal();
    // Writes keep committing through b, so c keeps getting notices; they stand in for no heartbeat, and
    // the heartbeat's answer gets c going again.
    for (let i = 20; i < 25; i++) {
      net.propose('a', i);
      net.stabilize();
      net.tick('a');
      net.stabilize();
    }
    expect(net.commands('c')).toEqual(net.commands('a'));
  });

  it('a follower whose appends are lost still hears a heartbeat within two rounds, and catches up', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.cutOneWay('a', 'c');
    net.propose('a', 'x=1'); // c's copy is lost
    net.stabilize();
    net.heal();
    net.tick('a'); // the lost append stood in for this round
    net.tick('a');
    expect(emptyAppendsTo(net)).toEqual(['b', 'c']);
    net.stabilize(); // c rejects the heartbeat's prevIndex, and the leader sends it x=1
    expect(net.commands('c')).toEqual(['x=1']);
  });
});

describe('clusterRecvBuf: a refusal means that nothing of the proposal is in the log', () => {
  it('a forward delivered twice is taken once, and its copy is neither taken again nor refused', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), forwardedBytesMax: 100 });
    net.elect('a');
    net.propose('b', 'p1', 60);
    const forward = net.inFlight.find((m) => m.type === 'propose')!;
    net.inFlight.push({ ...forward }); // the transport delivers it twice
    net.stabilize();
    for (const id of net.ids()) expect(net.commands(id)).toEqual(['p1']);
    expect(net.refused.get('b')).toEqual([]);
  });

  it('a node restarted keeps forwarding: its proposals are told from its earlier run’s', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), forwardedBytesMax: 100 });
    net.elect('a');
    net.propose('b', 'before', 10);
    net.stabilize();
    net.crash('b');
    net.boot('b');
    net.tickAll(5);
    net.propose('b', 'after', 10); // the same count (1) as 'before', from a new instance
    net.stabilize();
    expect(net.commands('a')).toEqual(['before', 'after']);
  });
});

describe('§5.4.2 Figure 8: counting replicas never commits an entry of an earlier term', () => {
  it('holds back index 2 (term 1) though a quorum has it, until the leader’s own entry commits', () => {
    const entry = (index: number, term: number) => ({ index, term, data: { kind: 'command' as const, payload: `e${index}` } });
    const config = { id: 's1', voters: equalVoters('s1', 's2', 's3'), electionTicks: 10, heartbeatTicks: 1, random: () => 0, preVote: false, checkQuorum: false, appendEntriesMax: 64, inflightAppendsMax: 8, logTransactionsRetained: 1000, readsPendingMax: 100, forwardedBytesMax: 1 << 30, incarnation: 1 };
    const s1 = new Raft(config, { hardState: { term: 2, vote: undefined, commit: 1 }, log: RaftLog.restore([entry(1, 1), entry(2, 1)], 1) });
    for (let i = 0; i < 20 && s1.role !== 'candidate'; i++) s1.tick();
    expect([s1.role, s1.term]).toEqual(['candidate', 3]);
    s1.step({ type: 'voteResp', term: 3, from: 's2', to: 's1', granted: true });
    expect(s1.role).toBe('leader');
    s1.advance(s1.ready()); // the leader's noop (3@3) is on its disk
    const ack = (from: string, index: number) => s1.step({ type: 'appendResp', term: 3, from, to: 's1', success: true, index, hint: 0 });
    ack('s2', 2);
    ack('s3', 2);
    s1.advance(s1.ready());
    expect(s1.log.committed).toBe(1); // 2@1 sits on all three nodes, yet is not committed
    ack('s2', 3);
    s1.advance(s1.ready());
    expect(s1.log.committed).toBe(3); // the noop of term 3 commits, and 2@1 with it
  });
});

describe('appends bounded by bytes (etcd MaxSizePerMsg)', () => {
  it('feeds a follower that fell behind in appends of at most appendBytesMax bytes; an entry larger on its own goes alone', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), appendBytesMax: 100 });
    net.elect('a');
    net.partition(['c'], ['a', 'b']);
    const commands = [30, 30, 30, 30, 150, 30, 30, 30].map((bytes, i) => `${i}`.padEnd(bytes, '.'));
    for (const command of commands) net.propose('a', command);
    net.stabilize();
    net.heal();
    net.sent.length = 0;
    net.tickAll(3);
    net.stabilize();
    expect(net.commands('c')).toEqual(commands);
    const appends = net.sent.flatMap((m) => (m.type === 'append' && m.to === 'c' && m.entries.length > 0 ? [m.entries.map((e) => String((e.data as { payload: unknown }).payload).length)] : []));
    expect(appends.some((sizes) => sizes.length > 1)).toBe(true); // small entries still travel together
    for (const sizes of appends) if (sizes.length > 1) expect(sizes.reduce((a, b) => a + b)).toBeLessThanOrEqual(100);
    expect(appends).toContainEqual([150]);
  });
});

describe('§7 log compaction and state transfer', () => {
  it('feeds a follower that fell behind the compacted log the leader’s image in chunks, then the log', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), logTransactionsRetained: 2 });
    net.elect('a');
    net.partition(['c'], ['a', 'b']);
    for (let i = 1; i <= 10; i++) net.propose('a', `x=${i}`);
    net.stabilize();
    net.compact('a'); // image of 11 applied entries (noop + 10), log keeps the last 2
    expect([net.node('a').log.compactedIndex, net.node('a').image?.index, net.node('a').image?.frames.length]).toEqual([9, 11, 4]);
    net.heal();
    net.propose('a', 'x=11');
    net.tickAll(3);
    // c's next entry (2) is gone from a's log: it got the image (4 chunks) and then entry 12 from the log.
    expect(net.commands('c')).toEqual(net.commands('a'));
    expect(net.commands('c')).toHaveLength(11);
    expect(net.node('c').log.compactedIndex).toBe(11);
    expect(net.node('c').catchingUp).toEqual({ target: 12, image: true }); // the leader had committed x=11 when c first answered
  });

  it('keeps the image and the compacted log across a restart', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), logTransactionsRetained: 1 });
    net.elect('a');
    for (let i = 1; i <= 5; i++) net.propose('a', `x=${i}`);
    net.stabilize();
    net.compact('b');
    net.crash('b');
    net.boot('b');
    expect(net.commands('b')).toEqual(['x=1', 'x=2', 'x=3', 'x=4', 'x=5']);
    net.propose('a', 'x=6');
    net.tickAll(2);
    expect(net.commands('b')).toEqual(net.commands('a'));
  });
});

describe('thesis §6.4 ReadIndex: linearizable reads without log entries', () => {
  it('a leader confirms a read by a quorum’s heartbeat answers; a deposed leader cut off cannot', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.propose('a', 'x=1');
    net.stabilize();
    net.node('a').readIndex(1);
    net.node('c').readIndex(2); // a follower asks its leader
    net.stabilize();
    const commit = net.node('a').log.committed;
    expect(net.reads.get('a')).toEqual([{ id: 1, index: commit }]);
    expect(net.reads.get('c')).toEqual([{ id: 2, index: commit }]);

    // Cut off, a still believes it leads until check-quorum deposes it; its read must not be confirmed.
    net.partition(['a'], ['b', 'c']);
    net.node('a').readIndex(3);
    net.stabilize();
    expect(net.reads.get('a')).toHaveLength(1);
    net.tickAll(40); // a steps down; b or c leads in a later term and commits a write a cannot see
    const leader = net.leader()!;
    net.propose(leader, 'x=2');
    net.stabilize();
    expect(net.readsFailed.get('a')).toEqual([3]); // failed when it stepped down, never answered stale
    net.node(leader).readIndex(4);
    net.stabilize();
    expect(net.reads.get(leader)!.at(-1)).toEqual({ id: 4, index: net.node(leader).log.committed });
  });

  it('a leader holding readsPendingMax reads refuses more as overloaded, not as unconfirmed (the reader must not take it for no quorum)', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), readsPendingMax: 1 });
    net.elect('a');
    net.stabilize();
    net.node('a').readIndex(1); // held until a quorum's heartbeat answers come
    net.node('a').readIndex(2); // asked on the leader: refused at once
    net.node('c').readIndex(3); // forwarded: refused in the answer
    net.stabilize();
    expect(net.reads.get('a')).toEqual([{ id: 1, index: net.node('a').log.committed }]);
    expect(net.readsRefused.get('a')).toEqual([2]);
    expect(net.readsRefused.get('c')).toEqual([3]);
    expect([...net.readsFailed.values()].flat()).toEqual([]);
  });
});

describe('arbiters: voters that keep the log but no tables (db-minder arbitrator, Galera garbd)', () => {
  const voters = [{ id: 'a', qrank: 1 }, { id: 'b', qrank: 1 }, { id: 'z', qrank: 1, arbiter: true }];

  it('§5.3 with one data node down, the other and the arbiter still commit', () => {
    const net = new RaftNet({ voters });
    net.elect('a');
    net.crash('b');
    expect(net.propose('a', 'x=1')).toBe('appended');
    net.stabilize();
    expect(net.commands('a')).toEqual(['x=1']);
    expect(net.node('z').log.committed).toBe(net.node('a').log.committed);
  });

  it('§5.4.1 when only the arbiter holds the latest entries, it leads just long enough to hand them to a data node', () => {
    const net = new RaftNet({ voters });
    net.elect('a');
    net.partition(['b'], ['a', 'z']);
    net.propose('a', 'only-a-and-z');
    net.stabilize(); // committed by a and z; b never saw it
    net.crash('a');
    net.heal();
    // b cannot win z's vote (z's log is more up to date, §5.4.1), so z campaigns, brings b up to date
    // and hands leadership over (§3.10).
    net.tickAll(80);
    expect(net.leader()).toBe('b');
    expect(net.commands('b')).toEqual(['only-a-and-z']);
    expect(net.propose('b', 'after')).toBe('appended');
    net.stabilize();
    expect(net.commands('b')).toEqual(['only-a-and-z', 'after']);
  });

  it('§7 an arbiter compacts without an image of tables, and is caught up past a compacted log with one empty chunk', () => {
    const net = new RaftNet({ voters, logTransactionsRetained: 2 });
    net.elect('a');
    net.propose('a', 'first');
    net.tickAll(1); // z learns the commit index
    net.compact('z');
    expect(net.node('z').image?.frames).toEqual([]); // taken, with nothing in it
    net.partition(['z'], ['a', 'b']);
    for (let i = 0; i < 10; i++) net.propose('a', `x=${i}`);
    net.stabilize();
    net.compact('a');
    net.heal();
    net.tickAll(5);
    const z = net.node('z');
    expect(z.log.committed).toBe(net.node('a').log.committed);
    expect(z.image?.index).toBe(net.node('a').image?.index);
    expect(z.image?.frames).toEqual([]);
    expect(net.inFlight.filter((m) => m.type === 'snapshot' && m.data.byteLength > 0 && m.to === 'z')).toEqual([]);
  });

  it('§7 an arbiter compacts only what every data node holds: leading with the up-to-date data node down, it feeds the lagging one from its log', () => {
    // The simulator's sweep (seed 41013, list-append, 3 nodes, n1 left down): the arbiter had compacted
    // past the lagging data node's log, could send it no image, and nothing committed until n1 came back.
    const net = new RaftNet({ voters, logTransactionsRetained: 2 });
    net.elect('a');
    net.partition(['b'], ['a', 'z']);
    for (let i = 0; i < 10; i++) net.propose('a', `x=${i}`);
    net.stabilize(); // committed by a and z; b has none of it
    net.tickAll(1); // z learns the commit index, and what the data nodes hold
    net.compact('z'); // z has applied 10 entries more than it keeps behind an image
    net.compact('a');
    net.crash('a');
    net.heal();
    net.tickAll(80);
    expect(net.leader()).toBe('b');
    expect(net.commands('b')).toEqual(Array.from({ length: 10 }, (_, i) => `x=${i}`));
    expect(net.propose('b', 'after')).toBe('appended');
    net.stabilize();
    expect(net.commands('b').at(-1)).toBe('after');
    // a is still down: z keeps what a may lack. Once a is back and holds it all, z compacts as before.
    net.compact('z');
    expect(net.node('z').log.compactedIndex).toBe(1);
    net.boot('a');
    net.tickAll(20);
    for (let i = 0; i < 3; i++) net.propose('b', `y=${i}`);
    net.stabilize();
    net.tickAll(1);
    net.compact('z');
    expect(net.node('z').log.compactedIndex).toBe(net.node('z').log.applied - 2);
  });

  it('§7 an arbiter keeps entries for a data node that is down only up to its bound (arbiterTransLogLengthsMax)', () => {
    const net = new RaftNet({ voters, logTransactionsRetained: 2 });
    net.elect('a');
    net.crash('b');
    const z = net.node('z');
    for (let i = 0; i < 60; i++) {
      net.propose('a', `x=${i}`);
      net.stabilize();
      net.tickAll(1);
      net.compact('z');
      expect(z.log.lastIndex() - z.log.compactedIndex).toBeLessThanOrEqual(arbiterTransLogLengthsMax * 2 + 1);
    }
    expect(z.log.compactedIndex).toBeGreaterThan(2); // b holds the first entry at most: z kept more than that, not all
  });

  it('§7 an arbiter leading compacts by its own progress: nothing a data node it has not heard from may lack', () => {
    const net = new RaftNet({ voters, logTransactionsRetained: 2 });
    net.elect('a');
    net.partition(['b'], ['a', 'z']);
    for (let i = 0; i < 10; i++) net.propose('a', `x=${i}`);
    net.stabilize();
    net.tickAll(1);
    net.crash('a');
    net.heal();
    // Step b and z one message at a time until z leads, before its first append reaches b.
    const z = net.node('z');
    const leading = () => z.role === 'leader';
    for (let i = 0; i < 300 && !leading(); i++) {
      net.tick(i % 2 === 0 ? 'z' : 'b');
      while (!leading() && net.deliverOne());
    }
    expect(leading()).toBe(true);
    net.compact('z'); // z has applied far more than it keeps behind an image; b holds none of it
    expect(z.log.compactedIndex).toBeLessThanOrEqual(net.node('b').log.lastIndex());
    net.tickAll(80);
    expect(net.commands('b')).toEqual(Array.from({ length: 10 }, (_, i) => `x=${i}`));
  });
});

describe('§6 membership changes by joint consensus: detach and attach', () => {
  const membersEntries = (net: RaftNet, id: string) =>
    net.node(id).log.slice(1, 1000).flatMap((e) => (e.data.kind === 'members' ? [e.data.membership] : []));

  it('a detached node’s qrank leaves the total, so the rest keep a quorum it would have been needed for', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c', 'd', 'e') });
    net.elect('a');
    net.detach('d');
    net.tickAll(5);
    net.detach('e');
    net.tickAll(5);
    expect([...net.frozen].sort()).toEqual(['d', 'e']);
    expect(net.node('a').members.current()).toEqual({ members: ['a', 'b', 'c'] });
    net.crash('c'); // a and b: 2 of 5 configured, but 2 of the 3 members
    expect(net.propose('a', 'x=1')).toBe('appended');
    net.stabilize();
    expect(net.commands('a')).toEqual(['x=1']);
    expect(net.commands('b')).toEqual(['x=1']);
  });

  it('with weighted votes, every change passes through a joint membership (old and new quorums both)', () => {
    const net = new RaftNet({ voters: [{ id: 'x', qrank: 3 }, { id: 'a', qrank: 1 }, { id: 'b', qrank: 1 }, { id: 'c', qrank: 1 }] });
    net.elect('a');
    net.detach('x');
    net.tickAll(5);
    expect(membersEntries(net, 'a')).toEqual([{ members: ['a', 'b', 'c'], old: ['x', 'a', 'b', 'c'] }, { members: ['a', 'b', 'c'] }]);
    // Under the old rule {x, a} would be a quorum (4 of 6) and {b, c} not; now {b, c} is (2 of 3).
    net.crash('a');
    net.tickAll(60);
    expect(['b', 'c']).toContain(net.leader());
  });

  it('a leader that detaches itself steps down once the new membership commits; the rest elect one of their own', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c') });
    net.elect('a');
    net.propose('a', 'before');
    net.stabilize();
    net.detach('a');
    net.tickAll(60);
    expect(net.frozen.has('a')).toBe(true);
    const leader = net.leader()!;
    expect(['b', 'c']).toContain(leader);
    expect(net.propose(leader, 'after')).toBe('appended');
    net.stabilize();
    expect(net.commands('b')).toEqual(['before', 'after']);
    expect(net.commands('a')).toEqual(['before']); // standing still, out of the cluster
  });

  it('an attached node rejoins and is caught up, past a compacted log by the image (§7)', () => {
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), logTransactionsRetained: 1 });
    net.elect('a');
    net.detach('c');
    net.tickAll(5);
    expect(net.frozen.has('c')).toBe(true);
    for (let i = 0; i < 6; i++) net.propose('a', `x=${i}`);
    net.stabilize();
    net.compact('a');
    net.attach('c');
    net.tickAll(10);
    expect(net.node('c').membershipState()).toBe('member');
    expect(net.node('a').members.current()).toEqual({ members: ['a', 'b', 'c'] });
    expect(net.commands('c')).toEqual(net.commands('a'));
    // c counts again: with b down, a and c commit.
    net.crash('b');
    net.propose('a', 'with-c');
    net.stabilize();
    expect(net.commands('c')).toContain('with-c');
  });

  it('a node holding a deposed leader’s uncommitted change that lets it back in still gets back in (the request carries the version the leader last told it)', () => {
    // Found by the simulator's sweep: e asks to rejoin; leader a appends the joint membership, but only e
    // receives it before a is cut off; b leads without that entry and does not replicate to e (not a
    // member in its log). e's log names a version b never had: b must still take e's request.
    const net = new RaftNet({ voters: equalVoters('a', 'b', 'c', 'd', 'e') });
    net.elect('a');
    net.detach('e');
    net.tickAll(5);
    expect(net.frozen.has('e')).toBe(true);
    net.partition(['a'], ['b', 'c', 'd']);
    net.attach('e');
    net.stabilize();
    expect(membersEntries(net, 'e').at(-1)).toEqual({ members: ['a', 'b', 'c', 'd', 'e'], old: ['a', 'b', 'c', 'd'] }); // uncommitted, from a
    net.tickAll(40); // a steps down (check-quorum); b, c and d elect one of their own
    const leader = net.leader()!;
    expect(['b', 'c', 'd']).toContain(leader);
    net.heal();
    net.tickAll(60);
    expect(net.node('e').membershipState()).toBe('member');
    expect(net.asking.has('e')).toBe(false);
    expect(net.node(net.leader()!).members.current()).toEqual({ members: ['a', 'b', 'c', 'd', 'e'] });
  });

  it('refuses to take the last data node out', () => {
    const net = new RaftNet({ voters: [{ id: 'a', qrank: 1 }, { id: 'z', qrank: 1, arbiter: true }] });
    net.elect('a');
    net.tickAll(2);
    expect(net.node('a').requestMembership('detach')).toBe('refused');
    expect(net.node('a').membershipRefused('detach')).toMatch(/would hold no data node \(only arbiters\)/);
  });

  it('with a custom quorum rule, refuses a detach after which the members left could never form a quorum (the cluster would be wedged for good)', () => {
    // A rule a user might write: any 3 of the 5 configured nodes. It is not rescaled as nodes leave.
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const rule = tableRule(ids, quorumTable(ids, (nodeIds) => nodeIds.length >= 3));
    class CustomNet extends RaftNet {
      override config(id: string): RaftConfig {
        return { ...super.config(id), quorum: rule };
      }
    }
    const net = new CustomNet({ voters: equalVoters(...ids) });
    net.elect('a');
    net.propose('a', 'x=0');
    net.stabilize();
    net.detach('e');
    net.tickAll(10);
    net.detach('d');
    net.tickAll(10);
    expect(net.node('a').members.current()).toEqual({ members: ['a', 'b', 'c'] });
    net.detach('c'); // {a, b} would need a third node: refused, c stays
    net.tickAll(50);
    expect(net.node(net.leader()!).members.current()).toEqual({ members: ['a', 'b', 'c'] });
    // The leader told c why, so that its caller hears it at once rather than a timeout.
    expect(net.node('c').membershipRefused('detach')).toMatch(/\["a","b"\], would be no quorum under the custom quorum rule/);
    net.node('c').forgetMembershipRequest();
    expect(net.node('c').membershipRefused('detach')).toBeUndefined();
    net.propose(net.leader()!, 'x=1');
    net.tickAll(20);
    expect(net.commands('a')).toContain('x=1'); // and the cluster still commits
  });
});