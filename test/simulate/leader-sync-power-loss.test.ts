/**
 * A leader whose journal syncs in the background must not count itself toward a commit before its own
 * sync completed (src/cluster/raft/raft-state.ts: maybeCommit counts the leader at its stableIndex, which
 * only `persisted` moves with a background sync). A schedule, not luck, makes the difference show:
 *
 *   3 nodes, journals syncing in the background; the leader's disk is slow (every sync it starts takes
 *   leaderSyncMs) and the third node is cut off, so only the leader and one follower (the holder) get
 *   the write; the holder syncs it at once and acknowledges; the holder's client writes. Before the
 *   leader's sync completes, the leader and the holder lose power, every unsynced record dropped. The
 *   leader comes back at once, the holder much later: the leader and the third node elect a leader
 *   between them and go on without the write.
 *
 * If the leader counted itself on writing, the write was committed by the leader and the holder, the
 * holder applied it and its client heard ok; the holder alone had it durable, and it is gone.
 */
import { describe, expect, it } from 'vitest';
import { SimCluster } from '../../simulate/cluster.js';
import type { Outcome } from '../../simulate/cluster.js';
import { noWindow } from '../../src/actors/window-flusher.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { simElectionTicks, simTickMs } from '../../simulate/limits.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }] };

/** How long each sync the leader's slow disk starts takes (virtual milliseconds): far past the power loss. */
const leaderSyncMs = 400;
/** When the power goes, after the write: past a heartbeat round and the holder's own sync, before the leader's sync and any election timeout. */
const powerGoesMs = 60;
/** How long the leader stays down, and the holder (long enough for the other two to elect a leader and commit). */
const leaderDownMs = 50;
const holderDownMs = 1_500;
/** Virtual milliseconds a setup step may take at most. */
const settleMsMax = 3_000;

interface Scene {
  readonly cluster: SimCluster;
  readonly leader: string;
  readonly holder: string;
  readonly cutOff: string;
  /** The write's outcome, once heard. */
  readonly outcome: () => Outcome | undefined;
}

/** A 3-node cluster settled with a leader; the leader's disk made slow, the third node cut off; the holder's client writes k=1. */
function slowLeaderWrite(seed: number): Scene {
  const nodes = ['n0', 'n1', 'n2'];
  const cluster = new SimCluster({ seed, nodes: nodes.map((addr) => ({ addr })), schema, backgroundSync: true, window: noWindow, clusterRecvBuf: 1 << 27 });
  const { sim } = cluster;
  expect(sim.runUntil(() => cluster.leader() !== undefined && nodes.every((n) => cluster.isReady(n)), settleMsMax)).toBe(true);
  sim.runFor(2 * simElectionTicks * simTickMs); // everything so far committed and synced everywhere
  const leader = cluster.leader()!;
  const [holder, cutOff] = nodes.filter((n) => n !== leader) as [string, string];
  sim.network.partition([[leader, holder], [cutOff]]);
  sim.disks.stall(leader, [leaderSyncMs, leaderSyncMs]);
  let outcome: Outcome | undefined;
  cluster.transact(holder, (tx) => tx.upsert('kv', { k: 1, v: 'written' }), (o) => (outcome = o));
  return { cluster, leader, holder, cutOff, outcome: () => outcome };
}

const seeds = [1, 2, 3, 4, 5];

describe('a leader with a slow disk', () => {
  it('loses no acknowledged write when it and the one follower holding the write lose power before its own sync completed', () => {
    for (const seed of seeds) {
      const { cluster, leader, holder, outcome } = slowLeaderWrite(seed);
      const { sim } = cluster;
      sim.runFor(powerGoesMs);
      const acknowledged = outcome()?.kind === 'ok';
      // The power goes on both: nothing either had not synced survives.
      for (const node of [leader, holder]) {
        sim.disks.dropUnsyncedAtCrash(node);
        cluster.crash(node);
      }
      sim.network.heal();
      sim.runFor(leaderDownMs);
      cluster.restart(leader);
      sim.runFor(holderDownMs);
      cluster.restart(holder);
      const nodes = cluster.nodes;
      expect(sim.runUntil(() => nodes.every((n) => cluster.isReady(n)), settleMsMax), `seed ${seed}: every node back`).toBe(true);
      // The cluster goes on: a later write commits and reaches every node.
      let later: Outcome | undefined;
      cluster.transact(leader, (tx) => tx.upsert('kv', { k: 2, v: 'later' }), (o) => (later = o));
      sim.runFor(settleMsMax);
      expect(later?.kind, `seed ${seed}: a later write`).toBe('ok');
      const held = nodes.map((node) => cluster.stores.get(node)!.read((tx) => [tx.get('kv', 1) !== undefined, tx.get('kv', 2) !== undefined]));
      if (acknowledged) expect(held.map(([k1]) => k1), `seed ${seed}: nodes ${nodes.join(' ')} hold the write acknowledged before the power loss`).toEqual(nodes.map(() => true));
      expect(held.map(([, k2]) => k2), `seed ${seed}: nodes ${nodes.join(' ')} hold the later write`).toEqual(nodes.map(() => true));
      expect(cluster.commits.problems(), `seed ${seed}`).toEqual([]);
    }
  });

  it('acknowledges a write only once its own sync completed, though a follower acknowledged it long before', () => {
    for (const seed of seeds) {
      const { cluster, outcome } = slowLeaderWrite(seed);
      cluster.sim.runFor(leaderSyncMs - 1);
      expect(outcome(), `seed ${seed}: answered before the leader's sync completed`).toBeUndefined();
      cluster.sim.runFor(2 * simTickMs + 1);
      expect(outcome()?.kind, `seed ${seed}`).toBe('ok');
    }
  });
});
