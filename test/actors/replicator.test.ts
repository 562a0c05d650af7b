/**
 * The replicator actor on the real hosts: three nodes in one process, each on its own inline or
 * thread host, linked by the in-process network. The same actor code the simulator tests run.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/runtime/actor.js';
import { APP } from '../../src/runtime/actor.js';
import type { NodeHost } from '../../src/runtime/host.js';
import { startInlineNode } from '../../src/runtime/inline-host.js';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import { REPLICATOR, replicator } from '../../src/actors/replicator.js';
import type { Committed, ProposeRefused, RaftStateChanged } from '../../src/actors/replicator.js';

const names = ['n1', 'n2', 'n3'];
const voters = names.map((id) => ({ id, qrank: 1 }));
const params = { voters, tickMs: 10, electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, appendEntriesMax: 64, inflightAppendsMax: 8, forwardedBytesMax: 1 << 30 };

async function cluster(start: typeof startInlineNode) {
  const net = new InProcessNetwork();
  const applied = new Map<string, unknown[]>(names.map((n) => [n, []]));
  const states: RaftStateChanged[] = [];
  const hosts: NodeHost[] = [];
  for (const node of names) {
    const host = await start({ node, actors: [{ name: REPLICATOR, kind: replicator, params }] }, { outbound: net.outbound(node), log: () => {} });
    host.on('appMessage', (message: Message) => {
      // A node that does not know a leader yet refuses at once; a client retries shortly after.
      if (message.type === 'proposeRefused') setTimeout(() => host.send({ node, actor: REPLICATOR }, { type: 'propose', payloads: (message as ProposeRefused).payloads, replyTo: { node, actor: APP } }), 20);
      if (message.type === 'committed') for (const e of (message as Committed).entries) if (e.data.kind === 'command') applied.get(node)!.push(e.data.payload);
      if (message.type === 'raftState') states.push(message as RaftStateChanged);
    });
    net.attach(host);
    hosts.push(host);
  }
  const until = async (done: () => boolean, what: string) => {
    for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!done()) throw new Error(`timed out waiting for ${what}`);
  };
  return { net, hosts, applied, states, until };
}

describe.each([
  ['inline', startInlineNode],
  ['thread', startThreadNode],
] as const)('replicator on the %s host', (_name, start) => {
  it('elects a leader, replicates proposals from any node in one order, and survives losing a node', async () => {
    const { net, hosts, applied, states, until } = await cluster(start);
    await until(() => states.some((s) => s.role === 'leader'), 'a leader');
    for (let i = 0; i < 30; i++) hosts[i % 3]!.send({ node: names[i % 3]!, actor: REPLICATOR }, { type: 'propose', payloads: [`w${i}`], replyTo: { node: names[i % 3]!, actor: APP } });
    await until(() => names.every((n) => applied.get(n)!.length === 30), 'all 30 writes everywhere');
    const order = applied.get('n1');
    for (const n of names) expect(applied.get(n)).toEqual(order);
    expect([...order!].sort()).toEqual(Array.from({ length: 30 }, (_, i) => `w${i}`).sort());

    // Two of three keep quorum when the third is cut off.
    const leader = states.filter((s) => s.role === 'leader').at(-1)!.leader!;
    const victim = names.find((n) => n !== leader)!;
    for (const other of names) if (other !== victim) net.cut(victim, other);
    hosts[names.indexOf(leader)]!.send({ node: leader, actor: REPLICATOR }, { type: 'propose', payloads: ['during-cut'], replyTo: { node: leader, actor: APP } });
    await until(() => names.filter((n) => n !== victim).every((n) => applied.get(n)!.includes('during-cut')), 'commit by the two');
    expect(applied.get(victim)).not.toContain('during-cut');
    net.heal();
    await until(() => applied.get(victim)!.includes('during-cut'), 'the cut-off node to catch up');
    await Promise.all(hosts.map((h) => h.stop()));
  });
});
