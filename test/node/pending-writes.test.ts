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

function harness() {
  const sent: CommitRequest[] = [];
  let leader = 'n1';
  const writes = new PendingWrites({
    nodeId: 'n2', writeTimeoutMs: 60_000,
    send: (request) => void sent.push(request),
    leader: () => leader,
    leaderSoon: () => Promise.resolve(),
    stopped: () => false,
  });
  const outcome: { value?: ApplyResult; error?: ChorusError } = {};
  const changeSet = { version: 1, reads: [], writes: [] } as never;
  void writes.submit(changeSet).then((value) => (outcome.value = value), (error: ChorusError) => (outcome.error = error));
  return { writes, sent, outcome, newLeader: (id: string) => { leader = id; writes.leaderChanged(id); } };
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

describe('PendingWrites timeouts', () => {
  it('each write fails with TIMEOUT once writeTimeoutMs has passed since its submit, not before; one that settled does not', async () => {
    const sent: CommitRequest[] = [];
    const writes = new PendingWrites({
      nodeId: 'n2', writeTimeoutMs: 60, send: (request) => void sent.push(request), leader: () => 'n1', leaderSoon: () => Promise.resolve(), stopped: () => false,
    });
    const changeSet = { version: 1, reads: [], writes: [] } as never;
    const outcomes: { at?: number; code?: string; ok?: boolean }[] = [];
    const start = performance.now();
    const track = (i: number, p: Promise<unknown>) => {
      outcomes[i] = {};
      p.then(() => (outcomes[i] = { at: performance.now() - start, ok: true }), (e: ChorusError) => (outcomes[i] = { at: performance.now() - start, code: e.code }));
    };
    track(0, writes.submit(changeSet));
    await new Promise((r) => setTimeout(r, 25));
    track(1, writes.submit(changeSet));
    track(2, writes.submit(changeSet));
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
