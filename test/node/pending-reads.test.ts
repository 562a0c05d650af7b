/**
 * PendingReads (src/node/pending-reads.ts, the rules of read-core.ts): a read the leader refused because
 * it held readsPendingMax reads already fails at once with OVERLOADED, and is not asked again; one no
 * leader could confirm is asked again after an election, then fails NO_QUORUM.
 */
import { describe, expect, it } from 'vitest';
import { PendingReads } from '../../src/node/pending-reads.js';
import { QuorumGate } from '../../src/node/quorum-gate.js';
import { realTime } from '../../src/node/app-time.js';
import { noLeaderResubmitsMax } from '../../src/limits.js';

function harness() {
  const gate = new QuorumGate(realTime);
  gate.leaderChanged('n1');
  gate.quorumChanged(true, 'all connected');
  const asked: number[] = [];
  const reads = new PendingReads({ nodeId: 'n2', timeoutMs: 60_000, gate, gateWaitMs: 200, ask: (id) => void asked.push(id), stopped: () => undefined });
  return { reads, asked };
}
const outcome = (reads: PendingReads) => reads.ready().then(() => 'ready', (error: Error & { code?: string }) => `${error.code}: ${error.message}`);

describe('linearizable reads refused or not confirmed', () => {
  it('a read the leader refused as overloaded fails OVERLOADED at once, asked once', async () => {
    const { reads, asked } = harness();
    const result = outcome(reads);
    expect(asked).toHaveLength(1);
    reads.answered(asked[0]!, false, true);
    expect(await result).toMatch(/^OVERLOADED: .*readsPendingMax/);
    expect(asked).toHaveLength(1);
  });

  it('a read no leader confirmed is asked again, then fails NO_QUORUM', async () => {
    const { reads, asked } = harness();
    const result = outcome(reads);
    for (let i = 0; i <= noLeaderResubmitsMax; i++) {
      for (let turn = 0; turn < 10 && asked.length <= i; turn++) await new Promise((r) => setImmediate(r));
      reads.answered(asked[i]!, false);
    }
    expect(await result).toMatch(/^NO_QUORUM: /);
    expect(asked).toHaveLength(noLeaderResubmitsMax + 1);
  });
});
