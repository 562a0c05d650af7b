/**
 * The committer (src/actors/committer.ts), as the application sees it: a write that cannot be handed on
 * is refused at once (OVERLOADED) rather than left to time out; a write lost on the way gives its
 * clusterSendBuf bytes back once the application has timed it out; and committed entries reach the
 * application in order and every one, even when its thread is too busy to take them for a while (they
 * used to be dropped, and the node's tables fell silently behind the others').
 */
import { describe, expect, it } from 'vitest';
import { defineActor } from '../../src/runtime/actor.js';
import type { ActorKind, Message } from '../../src/runtime/actor.js';
import { committer } from '../../src/actors/committer.js';
import type { ApplyEntries, CommitRefused, CommitRequest } from '../../src/actors/committer.js';
import { Simulation } from '../../simulate/simulation.js';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
// @ts-expect-error a plain JavaScript fixture (worker threads load it without compiling)
import { committedSource } from './fixtures/committed-source.mjs';

/** Stands in for the window flusher: takes every submit and proposes nothing (as if the network lost it). */
const blackHole = defineActor<Message, undefined>({ kind: 'test/blackHole', module: import.meta.url, create: () => ({ receive() {} }) });

/** A second sender of commit requests (the application's link to the committer has its own bound). */
const feeder = defineActor<{ readonly type: 'feed'; readonly ids: readonly number[] }, undefined>({
  kind: 'test/feeder',
  module: import.meta.url,
  create: (ctx) => ({
    receive(message) {
      for (const id of message.ids) ctx.send({ node: ctx.self.node, actor: 'committer' }, { type: 'commit', id, changeSet: new Uint8Array(1), bytes: 100 } satisfies CommitRequest);
    },
  }),
});

function simCommitter(options: { mailboxMessagesMax?: number; pendingBytesMax?: number; pendingMsMax?: number } = {}) {
  const sim = new Simulation({ seed: 1, localDelayMs: [0, 0], mailboxMessagesMax: options.mailboxMessagesMax ?? 4096 });
  const refused: CommitRefused[] = [];
  sim.on('appMessage', (m) => void (m.type === 'commitRefused' && refused.push(m as CommitRefused)));
  sim.addNode({
    node: 'n',
    actors: [
      { name: 'committer', kind: committer, params: { flusher: 'flusher', pendingBytesMax: options.pendingBytesMax ?? 1 << 20, pendingMsMax: options.pendingMsMax ?? 1000 } },
      { name: 'flusher', kind: blackHole },
      { name: 'feeder', kind: feeder },
    ],
  });
  sim.send({ node: 'n', actor: 'committer' }, { type: 'quorum', hasQuorum: true, reason: 'test' });
  const commit = (id: number, bytes = 100) => sim.send({ node: 'n', actor: 'committer' }, { type: 'commit', id, changeSet: new Uint8Array(1), bytes } satisfies CommitRequest);
  return { sim, refused, commit };
}

describe('committer', () => {
  it('refuses a write the window flusher cannot take (its mailbox full) with OVERLOADED at once, and keeps no bytes for it', () => {
    const { sim, refused, commit } = simCommitter({ mailboxMessagesMax: 2, pendingBytesMax: 450 });
    sim.runFor(1);
    // Four commits in one instant (two from the application, two from a second sender), before the flusher
    // took any submit: its mailbox from the committer (2) takes two.
    sim.send({ node: 'n', actor: 'feeder' }, { type: 'feed', ids: [3, 4] });
    commit(1);
    commit(2);
    sim.runFor(1);
    expect(refused.map((r) => [r.ids, r.code])).toEqual([[[3], 'OVERLOADED'], [[4], 'OVERLOADED']]);
    expect(refused[0]!.reason).toMatch(/^write not taken: mailbox of n\/flusher holds 2 unprocessed messages/);
    commit(5); // 1, 2 and 5 are pending (300 bytes): 3 and 4 hold none
    sim.runFor(1);
    expect(refused).toHaveLength(2);
  });

  it('gives back the bytes of a write pending past pendingMsMax (the application timed it out): an idle node takes writes again', () => {
    const { sim, refused, commit } = simCommitter({ pendingBytesMax: 250, pendingMsMax: 500 });
    sim.runFor(1);
    commit(1);
    commit(2);
    commit(3); // past clusterSendBuf: the first two are lost on the way, and hold their bytes
    sim.runFor(10);
    expect(refused.map((r) => [r.ids, r.code])).toEqual([[[3], 'OVERLOADED']]);
    sim.runFor(500);
    commit(4);
    commit(5);
    sim.runFor(10);
    expect(refused).toHaveLength(1); // 4 and 5 were taken
  });
});

describe('committer on the thread host', () => {
  it('hands every committed entry to the application, in order, while its thread is too busy to take them', async () => {
    const host = await startThreadNode(
      { node: 'n', actors: [{ name: 'replicator', kind: committedSource as ActorKind }, { name: 'committer', kind: committer, params: { flusher: 'replicator', pendingBytesMax: 1 << 20, pendingMsMax: 1000 } }] },
      { mailboxMessagesMax: 16, spinUs: 0, log: () => {} },
    );
    const from: number[] = [];
    let failure: string | undefined;
    host.on('appMessage', (m) => {
      if (m.type !== 'apply') return;
      from.push((m as ApplyEntries).from);
      if (from.length > 1) return;
      // Once the entries flow, the application's thread is busy for a while (its own synchronous work):
      // the committer's mailbox to it fills (16) while the rest are committed.
      const busyUntil = performance.now() + 300;
      while (performance.now() < busyUntil) {
        /* busy */
      }
    });
    host.on('actorFailed', (_actor, error) => (failure = error.message));
    const count = 200;
    host.send({ node: 'n', actor: 'replicator' }, { type: 'burst', to: 'committer', count });
    for (let i = 0; i < 500 && from.length < count && failure === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    await host.stop();
    expect(failure).toBeUndefined();
    expect(from).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });
});
