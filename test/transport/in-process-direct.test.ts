/**
 * Thread-host nodes of one process on an InProcessNetwork: an actor and its namesake on another node
 * talk over a direct link, worker to worker. What the application can tell: messages arrive in the
 * order sent (some may be lost while the link comes up, as on a network, never reordered), none sent
 * after `cut` returns, again after heal, and again to a node restarted under the same name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
import { startInlineNode } from '../../src/runtime/inline-host.js';
import type { NodeHost } from '../../src/runtime/host.js';
import type { ActorKind } from '../../src/runtime/actor.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
// @ts-expect-error a plain JavaScript fixture (worker threads load it without compiling)
import { namesake } from './fixtures/namesake-actor.mjs';

const hosts: NodeHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
});

async function start(network: InProcessNetwork, node: string, options: { host?: 'thread' | 'inline'; mailboxMessagesMax?: number } = {}) {
  const begin = options.host === 'inline' ? startInlineNode : startThreadNode;
  const host = await begin({ node, actors: [{ name: 'echo', kind: namesake as ActorKind, params: {} }] }, { outbound: network.outbound(node), ...(options.mailboxMessagesMax === undefined ? {} : { mailboxMessagesMax: options.mailboxMessagesMax }) });
  hosts.push(host);
  const got: { from: string; n: number }[] = [];
  const sent: Record<string, number>[] = [];
  host.on('appMessage', (message) => {
    if (message.type === 'got') got.push(message as unknown as { from: string; n: number });
    if (message.type === 'sent') sent.push((message as unknown as { refused: Record<string, number> }).refused);
  });
  network.attach(host);
  return { host, got, sent };
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

  it.each(['thread', 'inline'] as const)('tells the sender MAILBOX_FULL past the receiver\'s bound (%s hosts; direct link or relayed), and loses the message', async (kind) => {
    const network = new InProcessNetwork();
    const a = await start(network, 'a', { host: kind, mailboxMessagesMax: 8 });
    const b = await start(network, 'b', { host: kind, mailboxMessagesMax: 8 });
    await settle(); // the direct link is up (thread hosts)
    send(a.host, 'b', 0, 20); // in one turn: the receiver takes 8 before it has processed any
    await until(() => a.sent.length > 0 && b.got.length >= 8);
    await settle();
    expect(a.sent).toEqual([{ MAILBOX_FULL: 12 }]);
    expect(b.got.map((g) => g.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
