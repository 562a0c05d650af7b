/**
 * PendingReads (src/node/pending-reads.ts, the rules of read-core.ts): a read the leader refused because
 * it held readsPendingMax reads already fails at once with OVERLOADED, and is not asked again; one no
 * leader could confirm is asked again of the next leader, then fails NO_QUORUM.
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
  return { reads, asked, gate };
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

  it('a read no leader confirmed is asked again of each next leader, then fails NO_QUORUM', async () => {
    const { reads, asked, gate } = harness();
    const result = outcome(reads);
    for (let i = 0; i <= noLeaderResubmitsMax; i++) {
      expect(asked).toHaveLength(i + 1); // asked once per leader: not again before the next one
      reads.answered(asked[i]!, false);
      gate.leaderChanged(`n${i + 2}`); // the next election's leader
    }
    expect(await result).toMatch(/^NO_QUORUM: .*noLeaderResubmitsMax/);
    expect(asked).toHaveLength(noLeaderResubmitsMax + 1);
  });
});
