/**
 * Thread-host nodes of one process on an InProcessNetwork: an actor and its namesake on another node
 * talk over a direct link, worker to worker. What the application can tell: messages arrive in the
 * order sent (some may be lost while the link comes up, as on a network, never reordered), none sent
 * after `cut` returns, again after heal, and again to a node restarted under the same name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
import type { NodeHost } from '../../src/runtime/host.js';
import type { ActorKind } from '../../src/runtime/actor.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
// @ts-expect-error a plain JavaScript fixture (worker threads load it without compiling)
import { namesake } from './fixtures/namesake-actor.mjs';

const hosts: NodeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function start(network: InProcessNetwork, node: string): Promise<{ host: NodeHost; got: { from: string; n: number }[] }> {
  const host = await startThreadNode({ node, actors: [{ name: 'echo', kind: namesake as ActorKind, params: {} }] }, { outbound: network.outbound(node) });
  hosts.push(host);
  const got: { from: string; n: number }[] = [];
  host.on('appMessage', (message) => {
    if (message.type === 'got') got.push(message as unknown as { from: string; n: number });
  });
  network.attach(host);
  return { host, got };
}

const send = (host: NodeHost, to: string, first: number, count: number) => host.send({ node: host.node, actor: 'echo' }, { type: 'send', to, first, count });
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));
const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('in-process network between thread hosts', () => {
  it('keeps order, honours cuts and heals, and reaches a node restarted under the same name', async () => {
    const network = new InProcessNetwork();
    const a = await start(network, 'a');
    const b = await start(network, 'b');
    send(a.host, 'b', 0, 2000); // right away: some may be lost while the link comes up
    await settle();
    const ns = b.got.map((g) => g.n);
    expect(ns).toEqual([...ns].sort((x, y) => x - y));
    send(a.host, 'b', 10_000, 100);
    await until(() => b.got.some((g) => g.n === 10_099));
    expect(b.got.filter((g) => g.n >= 10_000).map((g) => g.n)).toEqual(Array.from({ length: 100 }, (_, i) => 10_000 + i));

    network.cut('a', 'b'); // in force at once, as for relayed messages: nothing sent after it arrives
    const before = b.got.length;
    send(a.host, 'b', 20_000, 10);
    send(b.host, 'a', 20_000, 10);
    await settle();
    expect(b.got.length).toBe(before);
    expect(a.got.filter((g) => g.n >= 20_000)).toEqual([]);

    network.heal();
    await settle();
    send(a.host, 'b', 30_000, 5);
    send(b.host, 'a', 30_000, 5);
    await until(() => b.got.some((g) => g.n === 30_004) && a.got.some((g) => g.n === 30_004));
    expect(b.got.filter((g) => g.n >= 30_000).map((g) => g.n)).toEqual([30_000, 30_001, 30_002, 30_003, 30_004]);

    network.detach('b');
    await b.host.stop();
    const b2 = await start(network, 'b');
    await settle();
    send(a.host, 'b', 40_000, 5);
    await until(() => b2.got.some((g) => g.n === 40_004));
    expect(b2.got.map((g) => g.n)).toEqual([40_000, 40_001, 40_002, 40_003, 40_004]);
  });
});
