/**
 * A test actor for multi-node simulations: a hop travels between nodes, each relay choosing the next
 * node with ctx.random(), until it has made its hops; the last relay reports the path to its node's
 * application. It exercises cross-node delivery, randomness and timers under one seed.
 */
import { APP, defineActor } from '../../src/runtime/actor.js';

export interface Hop {
  readonly type: 'hop';
  readonly id: number;
  readonly left: number;
  readonly path: readonly string[];
}
export interface Later {
  readonly type: 'later';
  readonly hop: Hop;
}
export interface HopDone {
  readonly type: 'hopDone';
  readonly id: number;
  readonly path: readonly string[];
}

export const relay = defineActor<Hop | Later, { readonly nodes: readonly string[] }>({
  kind: 'test/relay',
  module: import.meta.url,
  create(ctx, params) {
    const forward = (hop: Hop) => {
      const path = [...hop.path, ctx.self.node];
      if (hop.left === 0) {
        ctx.send({ node: ctx.self.node, actor: APP }, { type: 'hopDone', id: hop.id, path } satisfies HopDone);
        return;
      }
      const next = params.nodes[Math.floor(ctx.random() * params.nodes.length)]!;
      ctx.send({ node: next, actor: 'relay' }, { type: 'hop', id: hop.id, left: hop.left - 1, path } satisfies Hop);
    };
    return {
      receive(message) {
        // Every other hop waits a random while first, so that timers and messages interleave.
        if (message.type === 'hop' && message.left % 2 === 1) ctx.setTimer(ctx.random() * 3, { type: 'later', hop: message });
        else forward(message.type === 'later' ? message.hop : message);
      },
    };
  },
});
