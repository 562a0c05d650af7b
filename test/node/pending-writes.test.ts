/**
 * PendingWrites (src/node/pending-writes.ts): a refusal is the answer for one copy of a write. A write
 * sent again (its leader changed) fails only once every copy was refused; otherwise it settles as the
 * copy that may be in a log does.
 */
import { describe, expect, it } from 'vitest';
import { PendingWrites } from '../../src/node/pending-writes.js';
import type { CommitRequest } from '../../src/actors/committer.js';
import type { ApplyResult } from '../../src/store/store.js';
import type { ChorusError } from '../../src/runtime/errors.js';
import { QuorumGate } from '../../src/node/quorum-gate.js';
import { realTime } from '../../src/node/app-time.js';

/** A gate open for writes: a leader known, a quorum reported. */
function openGate(): QuorumGate {
  const gate = new QuorumGate(realTime);
  gate.leaderChanged('n1');
  gate.quorumChanged(true, 'all connected');
  return gate;
}

function harness() {
  const sent: CommitRequest[] = [];
  let leader = 'n1';
  let term = 1;
  const writes = new PendingWrites({
    nodeId: 'n2', writeTimeoutMs: 60_000,
    send: (request) => void sent.push(request),
    leader: () => leader,
    term: () => term,
    gate: openGate(), gateWaitMs: 200,
    stopped: () => undefined,
  });
  const outcome: { value?: ApplyResult; error?: ChorusError } = {};
  const changeSet = { version: 1, reads: [], writes: [] } as never;
  void writes.submitted(changeSet).then((value) => (outcome.value = value), (error: ChorusError) => (outcome.error = error));
  const newLeader = (id: string, newTerm = term + 1) => {
    leader = id;
    term = newTerm;
    writes.leaderChanged(id, newTerm);
  };
  return { writes, sent, outcome, newLeader };
}
const settled = () => new Promise((r) => setTimeout(r, 5));

describe('PendingWrites', () => {
  it('a write whose only copy was refused fails with the refusal', async () => {
    const { writes, sent, outcome } = harness();
    writes.refused({ type: 'commitRefused', ids: [sent[0]!.id], code: 'OVERLOADED', reason: 'clusterRecvBuf full', retryable: false });
    await settled();
    expect(outcome.error?.code).toBe('OVERLOADED');
  });

  it('sent again after a leader change, one refused copy does not fail it: the other copy commits and the writer hears so', async () => {
    const { writes, sent, outcome, newLeader } = harness();
    newLeader('n3'); // the first copy went to n1, which may have it in its log
    expect(sent.length).toBe(2);
    writes.refused({ type: 'commitRefused', ids: [sent[0]!.id], code: 'OVERLOADED', reason: 'the leader n3 holds too much (clusterRecvBuf)', retryable: false });
    await settled();
    expect(outcome).toEqual({}); // still pending: the copy in n1's log may commit under n3
    const result = { version: 7 } as unknown as ApplyResult;
    writes.settle(sent[0]!.id, result, undefined); // it did
    await settled();
    expect(outcome.value).toBe(result);
    expect(outcome.error).toBeUndefined();
  });

  it('… and once both copies were refused, it fails', async () => {
    const { writes, sent, outcome, newLeader } = harness();
    newLeader('n3');
    for (let i = 0; i < 2; i++) writes.refused({ type: 'commitRefused', ids: [sent[0]!.id], code: 'OVERLOADED', reason: 'full', retryable: false });
    await settled();
    expect(outcome.error?.code).toBe('OVERLOADED');
  });
});

describe('PendingWrites across leaders, terms and runs', () => {
  it('the same leader in a later term gets the write again (entries of its earlier term may have been overwritten meanwhile); the same term does not', () => {
    const { sent, newLeader } = harness();
    newLeader('n1', 1); // what it was sent under: nothing to do
    expect(sent.length).toBe(1);
    newLeader('n1', 3); // n1 again, after a term this node never saw a leader of
    expect(sent.length).toBe(2);
    expect(sent[1]).toBe(sent[0]);
  });

  it("an applied entry settles a write only when it carries that write's bytes: one of an earlier run with the same id does not", async () => {
    const { writes, sent, outcome } = harness();
    const own = sent[0]!;
    const earlier = new Uint8Array(own.changeSet.byteLength + 1); // another change-set under the same id
    writes.applied(own.id, earlier, { version: 5 } as unknown as ApplyResult, undefined);
    await settled();
    expect(outcome).toEqual({}); // still pending
    const copied = own.changeSet.slice(); // the same bytes, copied by a host
    const result = { version: 9 } as unknown as ApplyResult;
    writes.applied(own.id, copied, result, undefined);
    await settled();
    expect(outcome.value).toBe(result);
  });

  it('write ids of two runs of a node do not start at the same place', () => {
    const first = harness().sent[0]!.id;
    const second = harness().sent[0]!.id;
    expect(first).not.toBe(second);
    expect(Number.isSafeInteger(first) && Number.isSafeInteger(second)).toBe(true);
  });
});

describe('PendingWrites timeouts', () => {
  it('each write fails with TIMEOUT once writeTimeoutMs has passed since its submit, not before; one that settled does not', async () => {
    const sent: CommitRequest[] = [];
    const writes = new PendingWrites({
      nodeId: 'n2', writeTimeoutMs: 60, send: (request) => void sent.push(request), leader: () => 'n1', term: () => 1, gate: openGate(), gateWaitMs: 200, stopped: () => undefined,
    });
    const changeSet = { version: 1, reads: [], writes: [] } as never;
    const outcomes: { at?: number; code?: string; ok?: boolean }[] = [];
    const start = performance.now();
    const track = (i: number, p: Promise<unknown>) => {
      outcomes[i] = {};
      p.then(() => (outcomes[i] = { at: performance.now() - start, ok: true }), (e: ChorusError) => (outcomes[i] = { at: performance.now() - start, code: e.code }));
    };
    track(0, writes.submitted(changeSet));
    await new Promise((r) => setTimeout(r, 25));
    track(1, writes.submitted(changeSet));
    track(2, writes.submitted(changeSet));
    writes.settle(sent[1]!.id, { version: 3 } as unknown as ApplyResult, undefined);
    await new Promise((r) => setTimeout(r, 45)); // ~70 ms: the first timed out, the third not yet
    expect(outcomes[0]!.code).toBe('TIMEOUT');
    expect(outcomes[0]!.at).toBeGreaterThanOrEqual(59);
    expect(outcomes[1]!.ok).toBe(true);
    if (performance.now() - start < 84) expect(outcomes[2]).toEqual({}); // (a loaded machine may wake us later)
    await new Promise((r) => setTimeout(r, 40));
    expect(outcomes[2]!.code).toBe('TIMEOUT');
    expect(outcomes[2]!.at).toBeGreaterThanOrEqual(84);
    expect(writes.size).toBe(0);
  });
});
