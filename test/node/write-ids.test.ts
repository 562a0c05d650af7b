/**
 * A node's write ids are its run's own (src/node/pending-writes.ts). They used to restart at 1 when a
 * node reopened, and apply settled this node's pending write by id alone: an entry written by the
 * node's EARLIER run that commits (or becomes known as committed) after the reopen settled the NEW
 * write of the same id with the old one's outcome.
 *
 * Scenario: f writes x=1 (id 1); the leader commits it but f never hears the commit (L->f replicator
 * traffic dropped); f stops (its write fails STOPPED, yet it is committed). f reopens from its dataDir;
 * the leader's traffic to f is held back a little longer, so f's watcher reports a quorum first; then
 * f writes x=2 (id 1 again). When L's traffic resumes, f learns that its old x=1 committed, applies
 * it, and settles the new write with the OLD write's result: x=2 is acknowledged. x=2 is then
 * certified as a CONFLICT everywhere (x changed after its snapshot): every node holds x=1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ClusterNode, openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { Address, Message, SendResult } from '../../src/runtime/actor.js';
import type { SchemaDef } from '../../src/store/schema.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const addrs = ['n1', 'n2', 'n3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class FilteringNetwork extends InProcessNetwork {
  /** Drop Raft traffic from -> to while set. */
  drop: { from: string; to: string } | undefined;
  /** Set `drop` as soon as an append carrying an entry written by `origin` is delivered to it. */
  dropAfterOwnEntry: { leader: string; origin: string } | undefined;
  override outbound(node: string): (from: Address, to: Address, message: Message) => SendResult {
    const inner = super.outbound(node);
    return (from, to, message) => {
      const d = this.drop;
      if (d !== undefined && d.from === node && d.to === to.node && to.actor === 'replicator') return undefined;
      const result = inner(from, to, message);
      const w = this.dropAfterOwnEntry;
      if (w !== undefined && node === w.leader && to.node === w.origin && to.actor === 'replicator') {
        const msg = (message as { msg?: { type: string; entries?: { data: { kind: string; payload?: unknown } }[] } }).msg;
        if (msg?.type === 'append' && msg.entries?.some((e) => e.data.kind === 'command' && JSON.stringify(Object.keys(e.data.payload as object)).includes('origin') && (e.data.payload as { origin: string }).origin === w.origin)) {
          this.drop = { from: w.leader, to: w.origin };
          this.dropAfterOwnEntry = undefined;
        }
      }
      return result;
    };
  }
}

it("a reopened node's write is not settled by its earlier run's entry: it fails with CONFLICT (its snapshot predates that entry) and nothing acknowledged is lost", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chorus-write-ids-'));
  const network = new FilteringNetwork();
  const open = (nodeId: number) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, network, dataDir, host: 'inline', writeTimeoutMs: 5000 });
  let nodes: ClusterNode[] = [];
  try {
    nodes = await Promise.all(addrs.map((_, i) => open(i)));
    let leader: ClusterNode | undefined;
    for (let i = 0; i < 300 && leader === undefined; i++) {
      leader = nodes.find((n) => n.info().role === 'leader' && nodes.every((m) => m.info().leader === n.nodeId));
      if (leader === undefined) await sleep(10);
    }
    expect(leader).toBeDefined();
    await leader!.write((tx) => void tx.upsert('kv', { k: 'warm', v: 0 }));
    const fIndex = nodes.findIndex((n) => n !== leader);
    const f = nodes[fIndex]!;
    await sleep(200);

    // 1. f writes x=1 (its write id 1); f takes the entry, but never hears that it committed.
    network.dropAfterOwnEntry = { leader: leader!.nodeId, origin: f.nodeId };
    const old = f.write((tx) => void tx.upsert('kv', { k: 'x', v: 1 })).then(() => 'ok', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    for (let i = 0; i < 1000 && leader!.read((tx) => tx.get('kv', 'x')) === undefined; i++) await sleep(5);
    expect(leader!.read((tx) => tx.get('kv', 'x'))?.['v']).toBe(1); // committed and applied on the leader
    expect(f.read((tx) => tx.get('kv', 'x'))).toBeUndefined();        // not on f
    await f.stop({ scope: 'local' });
    expect(await old).toMatch(/^STOPPED: .*may still commit \(its outcome is unknown\)/); // and it was committed

    // 2. f reopens; L's Raft traffic to f stays dropped until f's watcher has a quorum, then resumes.
    const f2 = await open(fIndex);
    nodes[fIndex] = f2;
    for (let i = 0; i < 500 && !f2.info().hasQuorum; i++) await sleep(10); // its watcher hears the others (their heartbeats are not dropped)
    expect(f2.info().hasQuorum).toBe(true);
    const fresh = f2.write((tx) => void tx.upsert('kv', { k: 'x', v: 2 })); // with ids from 1: id 1 again
    await sleep(50);
    network.drop = undefined;
    const outcome = await fresh.then(() => 'ok', (e: { code?: string }) => e.code);
    // wait for everything to settle
    for (let i = 0; i < 1000; i++) {
      if (new Set(nodes.map((n) => n.contentHash())).size === 1) break;
      await sleep(20);
    }
    await sleep(300);
    const values = nodes.map((n) => n.read((tx) => tx.get('kv', 'x'))?.['v']);
    // With the bug the write was acknowledged ('ok'), yet x was 1 everywhere.
    expect({ outcome, values }).toEqual({ outcome: 'CONFLICT', values: [1, 1, 1] });
  } finally {
    await Promise.all(nodes.map((n) => n.stop({ scope: 'local' })));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
