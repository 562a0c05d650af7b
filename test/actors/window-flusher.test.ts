/**
 * The window flusher on virtual time: batches leave when `length`, `bsize` or `timeout` is reached,
 * never later; `length: 0` sends each item at once; the window changes at run time.
 */
import { describe, expect, it } from 'vitest';
import { APP, defineActor } from '../../src/runtime/actor.js';
import type { ProposeRequest } from '../../src/actors/replicator.js';
import { windowFlusher } from '../../src/actors/window-flusher.js';
import type { Window } from '../../src/actors/window-flusher.js';
import { Simulation } from '../../simulate/simulation.js';

/**
 * Stands in for the replicator: tells the application what batches it got and when. A batch is one
 * proposal of one payload (one log entry): its items as an array, or a lone item as itself.
 */
const fakeReplicator = defineActor<ProposeRequest, undefined>({
  kind: 'test/fakeReplicator',
  module: import.meta.url,
  create(ctx) {
    return {
      receive: (m) => {
        const [payload] = m.payloads;
        const items = m.payloads.length === 1 ? (Array.isArray(payload) ? payload : [payload]) : { notOneEntry: m.payloads };
        ctx.send({ node: ctx.self.node, actor: APP }, { type: 'batch', items, atMs: ctx.now() });
      },
    };
  },
});

/** A second sender of submits (the application's link to the flusher has its own bound). */
const feeder = defineActor<{ readonly type: 'feed'; readonly items: readonly string[] }, undefined>({
  kind: 'test/feeder',
  module: import.meta.url,
  create: (ctx) => ({
    receive(message) {
      for (const item of message.items) ctx.send({ node: ctx.self.node, actor: 'flusher' }, { type: 'submit', item, bytes: 10 });
    },
  }),
});

function setup(window: Window, bufferBytesMax = 1 << 20, mailboxMessagesMax = 4096) {
  const sim = new Simulation({ seed: 1, localDelayMs: [0, 0], mailboxMessagesMax });
  const seen: { type: string; items?: unknown[]; atMs?: number; item?: unknown; window?: Window }[] = [];
  sim.on('appMessage', (m) => seen.push(m as never));
  sim.addNode({
    node: 'n',
    actors: [
      { name: 'flusher', kind: windowFlusher, params: { window, replicator: 'replicator', replyTo: 'app', bufferBytesMax } },
      { name: 'replicator', kind: fakeReplicator },
      { name: 'feeder', kind: feeder },
    ],
  });
  const t0 = sim.nowMs;
  const submit = (item: string, bytes = 10) => sim.send({ node: 'n', actor: 'flusher' }, { type: 'submit', item, bytes });
  const batches = () => seen.filter((m) => m.type === 'batch').map((m) => ({ items: m.items, afterMs: Math.round(m.atMs! - Date.UTC(2026, 0, 1) - t0) }));
  return { sim, submit, batches, seen };
}

describe('window flusher', () => {
  it('with no window (length 0) proposes every item on its own, at once', () => {
    const { sim, submit, batches } = setup({ length: 0, bsize: 0, timeoutMs: 1 });
    for (const x of ['a', 'b', 'c']) submit(x);
    sim.runFor(0);
    expect(batches()).toEqual([{ items: ['a'], afterMs: 0 }, { items: ['b'], afterMs: 0 }, { items: ['c'], afterMs: 0 }]);
  });

  it('flushes at `length` items, and the rest after `timeout`', () => {
    const { sim, submit, batches } = setup({ length: 3, bsize: 0, timeoutMs: 5 });
    for (const x of ['a', 'b', 'c', 'd']) submit(x);
    sim.runFor(4.9);
    expect(batches()).toEqual([{ items: ['a', 'b', 'c'], afterMs: 0 }]);
    sim.runFor(0.2);
    expect(batches()).toEqual([{ items: ['a', 'b', 'c'], afterMs: 0 }, { items: ['d'], afterMs: 5 }]);
  });

  it('flushes at `bsize` bytes', () => {
    const { sim, submit, batches } = setup({ length: 100, bsize: 25, timeoutMs: 50 });
    submit('a', 10);
    submit('b', 10);
    sim.runFor(1);
    expect(batches()).toEqual([]);
    submit('c', 10);
    sim.runFor(0);
    expect(batches()).toEqual([{ items: ['a', 'b', 'c'], afterMs: 1 }]);
  });

  it('changes the window at run time, sending what waited under the old one', () => {
    const { sim, submit, batches, seen } = setup({ length: 10, bsize: 0, timeoutMs: 100 });
    submit('a');
    sim.runFor(1);
    sim.send({ node: 'n', actor: 'flusher' }, { type: 'setWindow', window: { length: 0, bsize: 0, timeoutMs: 1 } });
    sim.send({ node: 'n', actor: 'flusher' }, { type: 'getWindow', replyTo: { node: 'n', actor: APP } });
    submit('b');
    sim.runFor(200);
    expect(batches()).toEqual([{ items: ['a'], afterMs: 1 }, { items: ['b'], afterMs: 1 }]);
    expect(seen.find((m) => m.type === 'windowIs')?.window).toEqual({ length: 0, bsize: 0, timeoutMs: 1 });
  });

  it('refuses an item larger than its whole buffer with `overloaded`', () => {
    const { sim, submit, batches, seen } = setup({ length: 10, bsize: 0, timeoutMs: 5 }, 100);
    submit('huge', 101);
    submit('fits', 60);
    submit('next', 60); // would pass 100 bytes: the batch leaves first
    sim.runFor(10);
    expect(seen.filter((m) => m.type === 'overloaded').map((m) => m.item)).toEqual(['huge']);
    expect(batches()).toEqual([{ items: ['fits'], afterMs: 0 }, { items: ['next'], afterMs: 5 }]);
  });

  it('tells the committer when the replicator cannot take a batch (its mailbox full), so that its writers hear OVERLOADED', () => {
    const { sim, submit, batches, seen } = setup({ length: 0, bsize: 0, timeoutMs: 1 }, 1 << 20, 2);
    // Four items in one instant (two from a second sender), each its own proposal: the replicator's
    // mailbox from the flusher (2) takes two before it has taken any.
    sim.send({ node: 'n', actor: 'feeder' }, { type: 'feed', items: ['c', 'd'] });
    submit('a');
    submit('b');
    sim.runFor(1);
    expect(batches().map((b) => b.items)).toEqual([['a'], ['b']]);
    expect(seen.filter((m) => m.type === 'proposeRefused')).toEqual([
      { type: 'proposeRefused', payloads: ['c'], reason: 'overloaded', detail: expect.stringMatching(/^not proposed: mailbox of n\/replicator holds 2/) },
      { type: 'proposeRefused', payloads: ['d'], reason: 'overloaded', detail: expect.stringMatching(/^not proposed: mailbox of n\/replicator holds 2/) },
    ]);
  });
});
