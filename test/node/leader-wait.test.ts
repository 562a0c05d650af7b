/**
 * Writes and linearizable reads refused for want of a leader (write-core.ts, read-core.ts, the gate's
 * whenNextLeader): they wait for the next leader, at most gateWaitMs at a time, instead of going again at
 * once and spending their resends within one election; a quorum lost fails them at once. On a manual
 * clock: this node's application still names its old leader (it has not heard it go) while its
 * replicator knows none, so every copy sent before the election ends is refused within a millisecond.
 */
import { describe, expect, it } from 'vitest';
import { WriteCore } from '../../src/node/write-core.js';
import { ReadCore } from '../../src/node/read-core.js';
import { QuorumGate } from '../../src/node/quorum-gate.js';
import type { CommitRequest } from '../../src/actors/committer.js';
import type { ApplyResult } from '../../src/store/store.js';
import { noLeaderResubmitsMax } from '../../src/limits.js';
import { ManualTime } from './manual-time.js';

const gateWaitMs = 200;
const noLeader = 'this node knows no leader (an election is under way, or its side has no quorum)';

/** Node n2: its application knows n1 as leader, term 1, with a quorum; its replicator knows no leader. */
function node() {
  const time = new ManualTime();
  const gate = new QuorumGate(time);
  gate.leaderChanged('n1');
  gate.quorumChanged(true, 'n1 and n3 connected');
  const known = { leader: 'n1' as string | undefined, term: 1, raftLeader: undefined as string | undefined };
  /** A leader elected: the replicator knows it, then the application hears it (as ClusterNode.onRaftState). */
  const elect = (leader: string, term: number) => {
    Object.assign(known, { leader, term, raftLeader: leader });
    writes.leaderChanged(leader, term);
    gate.leaderChanged(leader);
  };
  const sent: CommitRequest[] = [];
  const writes = new WriteCore({
    nodeId: 'n2', writeTimeoutMs: 10_000, gateWaitMs, gate, time, idStart: 1, leader: () => known.leader, term: () => known.term, stopped: () => undefined,
    send: (request) => {
      sent.push(request);
      // The committer hands it on; with no leader the replicator refuses it (retryable while a quorum is held).
      if (known.raftLeader === undefined) time.setTimer(1, () => writes.refused({ type: 'commitRefused', ids: [request.id], code: 'NO_QUORUM', reason: noLeader, retryable: gate.hasQuorum }));
      return undefined;
    },
  });
  const asked: number[] = [];
  const reads = new ReadCore({
    nodeId: 'n2', timeoutMs: 10_000, gateWaitMs, gate, time, idStart: 1, stopped: () => undefined,
    ask: (id) => {
      asked.push(id);
      time.setTimer(1, () => reads.answered(id, known.raftLeader !== undefined));
      return undefined;
    },
  });
  return { time, gate, known, elect, writes, sent, reads, asked };
}

function write(writes: WriteCore) {
  const outcome: { result?: ApplyResult; error?: Error & { code?: string } } = {};
  writes.start(() => ({ version: 1, reads: [], writes: [] }) as never, undefined, (result, error) => Object.assign(outcome, { result, error }));
  return outcome;
}

describe('a write refused for want of a leader', () => {
  it('waits for the next leader, even with its gate open, and commits through it: the refusals of one election spend one resend', () => {
    const { time, gate, elect, writes, sent } = node();
    const outcome = write(writes);
    time.advance(100); // an election of 150 ms: no copy goes into it after the first is refused
    gate.quorumChanged(true, 'n3 connected'); // the watcher's news (still a quorum) is no leader
    time.advance(50);
    expect(outcome).toEqual({});
    expect(sent).toHaveLength(1);
    elect('n3', 2);
    expect(sent).toHaveLength(2);
    const result = { version: 4 } as unknown as ApplyResult;
    writes.applied(sent[1]!.id, sent[1]!.changeSet, result, undefined);
    expect(outcome).toEqual({ result, error: undefined });
  });

  it('with no leader at all fails NO_QUORUM once it has waited gateWaitMs noLeaderResubmitsMax times, naming both, not before', () => {
    const { time, gate, known, writes, sent } = node();
    const outcome = write(writes);
    time.advance(1); // refused; then the application hears that n1 went
    known.leader = undefined;
    gate.leaderChanged(undefined);
    time.advance(noLeaderResubmitsMax * gateWaitMs - 1);
    expect(outcome).toEqual({});
    time.advance(1);
    expect(outcome.error?.code).toBe('NO_QUORUM');
    expect(outcome.error?.message).toMatch(new RegExp(`knows no leader.*${gateWaitMs} ms \\(gateWaitMs\\), ${noLeaderResubmitsMax} times over \\(noLeaderResubmitsMax\\)`));
    expect(sent).toHaveLength(1);
  });

  it('fails NO_QUORUM at once, with the watcher\'s reason, when its side loses its quorum while it waits', () => {
    const { time, gate, writes } = node();
    const outcome = write(writes);
    time.advance(1);
    gate.quorumChanged(false, 'n1 and n3 unreachable');
    expect(outcome.error?.code).toBe('NO_QUORUM');
    expect(outcome.error?.message).toMatch(/n1 and n3 unreachable/);
  });

  it('a leader known at the end of a wait with none reported meanwhile (a transfer given up) takes it', () => {
    const { time, known, writes, sent } = node();
    const outcome = write(writes);
    time.advance(1 + gateWaitMs - 1);
    expect(sent).toHaveLength(1);
    known.raftLeader = 'n1'; // n1 leads on, no change reported: its replicator takes the copy sent at the timeout
    time.advance(1);
    expect(sent).toHaveLength(2);
    const result = { version: 2 } as unknown as ApplyResult;
    writes.applied(sent[1]!.id, sent[1]!.changeSet, result, undefined);
    expect(outcome).toEqual({ result, error: undefined });
  });
});

describe('a linearizable read no leader confirmed', () => {
  it('waits for the next leader, even with its gate open, and runs once it confirms', () => {
    const { time, elect, reads, asked } = node();
    let outcome: Error | undefined | 'pending' = 'pending';
    reads.start((error) => (outcome = error));
    time.advance(150);
    expect(outcome).toBe('pending');
    expect(asked).toHaveLength(1);
    elect('n3', 2);
    time.advance(1);
    expect(outcome).toBeUndefined();
    expect(asked).toHaveLength(2);
  });

  it('fails NO_QUORUM at once when its side loses its quorum while it waits', () => {
    const { time, gate, reads } = node();
    let outcome: (Error & { code?: string }) | undefined | 'pending' = 'pending';
    reads.start((error) => (outcome = error));
    time.advance(1);
    gate.quorumChanged(false, 'n1 and n3 unreachable');
    expect(outcome).toMatchObject({ code: 'NO_QUORUM', message: expect.stringMatching(/n1 and n3 unreachable/) });
  });
});

describe('stopping the node', () => {
  /** A read on n2 that waits, either for the next leader (not confirmed) or at the gate (no quorum reported yet). */
  function waitingRead(at: 'nextLeader' | 'gate') {
    const time = new ManualTime();
    const gate = new QuorumGate(time);
    if (at === 'nextLeader') {
      gate.leaderChanged('n1');
      gate.quorumChanged(true, 'n1 and n3 connected');
    }
    const state: { stopped?: Error; outcome: Error | undefined | 'pending' } = { outcome: 'pending' };
    const reads = new ReadCore({
      nodeId: 'n2', timeoutMs: 10_000, gateWaitMs, gate, time, idStart: 1, stopped: () => state.stopped,
      ask: (id) => {
        time.setTimer(1, () => reads.answered(id, false));
        return undefined;
      },
    });
    reads.start((error) => (state.outcome = error));
    time.advance(2);
    return { time, gate, reads, state };
  }

  for (const at of ['nextLeader', 'gate'] as const) {
    it(`fails a read waiting ${at === 'gate' ? 'at the gate' : 'for the next leader'} at once, with no timer left behind (the node releases the gate)`, () => {
      const { time, gate, reads, state } = waitingRead(at);
      expect(state.outcome).toBe('pending');
      state.stopped = new Error('node n2 stopped');
      reads.failAll(() => state.stopped!); // as ClusterNode.stopOnce, then:
      gate.releaseAll();
      expect(state.outcome).toBe(state.stopped);
      expect(time.timersPending).toBe(0);
    });
  }
});

