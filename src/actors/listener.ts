/**
 * The listener actor: the node's peer links as the actors see them. The transport (the in-process
 * network, or TCP) owns the sockets, dials and accepts, authenticates and frames — actors do no I/O —
 * and reports each link's state here: up (the peer is reachable and passed the handshake) or down
 * (closed, refused, cut), with the reason. The listener keeps the link table, logs each change once, and
 * tells the quorum watcher, which joins link state and heartbeats into the cluster view.
 *
 * Routing in: peer traffic is addressed to the actor it is for and the host delivers it there directly.
 * A hop through one more actor costs a thread wake-up on the thread host (50-60 µs measured, see
 * docs/runtime.md) on every message of the commit path; the listener sees link events, not each message.
 *
 * Invariant: the watcher hears every change of a link's state, in order, and nothing else.
 */
import { fromAnotherNode } from './peer-guards.js';
import type { Address } from '../runtime/actor.js';
import { defineActor } from '../runtime/actor.js';
import { assertNever } from '../runtime/assert.js';

export const LISTENER = 'listener';

/** From the transport: the link to `peer` came up or went down. */
export interface LinkChanged {
  readonly type: 'link';
  readonly peer: string;
  readonly up: boolean;
  readonly reason: string;
}
export type ListenerMessage = LinkChanged;

export interface ListenerParams {
  readonly peers: readonly string[];
  /** The local actor that watches the cluster (the quorum watcher). */
  readonly watcher: string;
}

export const listener = defineActor<ListenerMessage, ListenerParams>({
  kind: 'chorus/listener',
  module: import.meta.url,
  create(ctx, params) {
    const watcher: Address = { node: ctx.self.node, actor: params.watcher };
    const links = new Map<string, boolean>(params.peers.map((peer) => [peer, false]));
    return {
      receive(message, from) {
        if (message.type !== 'link') {
          // Link events come from the transport (in the name of the peer's listener); nothing else may come from another node.
          if (fromAnotherNode(ctx.log, ctx.self.node, message, from)) return;
          return assertNever(message.type, 'listener message');
        }
        const known = links.get(message.peer);
        if (known === undefined) {
          ctx.log.warn('link event for a node that is not a peer', { peer: message.peer });
          return;
        }
        if (known === message.up) return;
        links.set(message.peer, message.up);
        ctx.log.info(message.up ? 'peer link up' : 'peer link down', { peer: message.peer, reason: message.reason });
        ctx.send(watcher, message);
      },
    };
  },
});
