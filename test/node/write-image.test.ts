/**
 * A write whose copy applied inside a state image this node installed (a state transfer) is never told
 * it failed (write-core.ts, `imageInstalled`). Found by the simulator (`npx chorus sim --seed 41 --nodes
 * 3 --time 3000ms --workload bank`): a transfer sent twice (the second copy after a leader change), whose
 * first copy committed into an image n1 installed, was reported CONFLICT when the second copy was rejected
 * at apply, and its row was in every node's tables.
 */
import { describe, expect, it } from 'vitest';
import { WriteCore } from '../../src/node/write-core.js';
import { QuorumGate } from '../../src/node/quorum-gate.js';
import { ChorusError } from '../../src/runtime/errors.js';
import type { CommitRequest } from '../../src/actors/committer.js';
import type { ApplyResult } from '../../src/store/store.js';
import { ManualTime } from './manual-time.js';

const writeTimeoutMs = 5_000;

/** n2 with a quorum and leader n1; a write made, sent, then sent again through n3 after a leader change. */
function resentWrite() {
  const time = new ManualTime();
  const gate = new QuorumGate(time);
  gate.leaderChanged('n1');
  gate.quorumChanged(true, 'n1 and n3 connected');
  const sent: CommitRequest[] = [];
  const writes = new WriteCore({
    nodeId: 'n2', writeTimeoutMs, gateWaitMs: 200, gate, time, idStart: 1, leader: () => 'n1', term: () => 1, stopped: () => undefined,
    send: (request) => void sent.push(request),
  });
  const outcome: { result?: ApplyResult; error?: Error & { code?: string } } = {};
  writes.start(() => ({ version: 1, reads: [], writes: [] }) as never, undefined, (result, error) => Object.assign(outcome, { result, error }));
  writes.leaderChanged('n3', 2); // the first copy may be lost with n1, or committed: it goes again
  expect(sent).toHaveLength(2);
  const conflict = new ChorusError('CONFLICT', 'a key it read was written since its snapshot');
  const rejectAtApply = () => writes.applied(sent[1]!.id, sent[1]!.changeSet, undefined, conflict);
  return { time, writes, outcome, rejectAtApply, sent };
}

describe('a write sent twice, with a state image installed meanwhile', () => {
  it('is not reported failed when a copy is rejected at apply (the other may be in the image): it ends TIMEOUT, outcome unknown', () => {
    const { time, writes, outcome, rejectAtApply } = resentWrite();
    writes.imageInstalled();
    rejectAtApply();
    expect(outcome).toEqual({});
    time.advance(writeTimeoutMs);
    expect(outcome.error).toMatchObject({ code: 'TIMEOUT' });
  });

  it('still settles ok when a copy applies after the image', () => {
    const { writes, outcome, rejectAtApply, sent } = resentWrite();
    writes.imageInstalled();
    rejectAtApply();
    const applied = { version: 7 } as unknown as ApplyResult;
    writes.applied(sent[1]!.id, sent[1]!.changeSet, applied, undefined);
    expect(outcome).toEqual({ result: applied });
  });

  it('with an image, but the other copy refused (so in no log), a copy rejected at apply fails the write at once', () => {
    const { writes, outcome, rejectAtApply, sent } = resentWrite();
    writes.refused({ type: 'commitRefused', ids: [sent[0]!.id], code: 'NO_QUORUM', reason: 'no leader', retryable: false });
    expect(outcome).toEqual({}); // the second copy is still out
    writes.imageInstalled();
    rejectAtApply();
    expect(outcome.error).toMatchObject({ code: 'CONFLICT' });
  });

  it('without an image, a copy rejected at apply fails the write at once (no earlier copy applied unseen)', () => {
    const { outcome, rejectAtApply } = resentWrite();
    rejectAtApply();
    expect(outcome.error).toMatchObject({ code: 'CONFLICT' });
  });
});
