/**
 * An in-process network: several nodes of one process (each on its own inline or thread host) reach
 * each other through their hosts. A message an actor sends to another node leaves through its host's
 * `outbound` and enters the other host through `deliver`, which applies that node's mailbox bound; a
 * message to a node that is not attached (or has stopped) is lost, as on a real network.
 *
 * Link state goes to each node's listener actor as a real transport would report it: a link is up
 * between two attached nodes unless cut, and goes down on `cut` or `detach`, up again on `heal` or
 * `attach`.
 *
 * For tests, demos and embedding several nodes in one process; the TCP transport replaces it between
 * processes.
 */
import { MessageChannel } from 'node:worker_threads';
import type { Address, Message, SendResult } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';
import type { LinkChanged } from '../actors/listener.js';
import { LISTENER } from '../actors/listener.js';

export class InProcessNetwork {
  private readonly hosts = new Map<string, NodeHost>();
  private readonly cuts = new Set<string>();
  /** `${from}>${to}/${actor}`: pairs whose namesake actors talk over a direct link (DirectLinks). */
  private readonly direct = new Set<string>();
  /** Per pair of directly joined nodes (`${a}>${b}`, both orders): the cut flag their links share. */
  private readonly cutFlags = new Map<string, Int32Array>();
  private lost = 0;

  /** The `outbound` option for the host of `node`. */
  outbound(node: string): (from: Address, to: Address, message: Message) => SendResult {
    return (from, to, message) => {
      const host = this.hosts.get(to.node);
      // Like a real network, a node that is gone or a cut link loses the message without telling the
      // sender; the protocols above recover (Raft resends). A full mailbox loses it too, but the sender
      // hears MAILBOX_FULL: a replicator refuses a forwarded proposal to its writers then.
      // A pair joined directly takes no relayed message any more (one sent just before the link came
      // up is lost, as a network may lose it), so that the pair's messages stay in order.
      const relayed = from.actor !== to.actor || !this.direct.has(`${node}>${to.node}/${to.actor}`);
      const error = !relayed || host === undefined || host.state !== 'running' || this.cuts.has(`${node}>${to.node}`) ? null : host.deliver(from, to, message);
      if (error === undefined) return undefined;
      this.lost++;
      return error?.code === 'MAILBOX_FULL' ? error : undefined;
    };
  }

  attach(host: NodeHost): void {
    this.hosts.set(host.node, host);
    this.joinDirectly(host);
    for (const other of this.hosts.keys()) {
      if (other === host.node || this.cuts.has(`${host.node}>${other}`)) continue;
      this.tellLink(host.node, other, true, 'attached');
      this.tellLink(other, host.node, true, 'attached');
    }
  }

  detach(node: string): void {
    this.hosts.delete(node);
    for (const pair of [...this.direct]) if (pair.startsWith(`${node}>`) || pair.split('/')[0]!.endsWith(`>${node}`)) this.direct.delete(pair);
    for (const pair of [...this.cutFlags.keys()]) if (pair.startsWith(`${node}>`) || pair.endsWith(`>${node}`)) this.cutFlags.delete(pair);
    for (const other of this.hosts.values()) other.direct?.disconnect(node);
    for (const other of this.hosts.keys()) this.tellLink(other, node, false, 'detached');
  }

  /** Cuts traffic between the two nodes, both ways, until `heal`. */
  cut(a: string, b: string): void {
    this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
    const flag = this.cutFlags.get(`${a}>${b}`);
    if (flag !== undefined) Atomics.store(flag, 0, 1); // at once: the workers check it on every send and receipt
    this.tellLink(a, b, false, 'cut');
    this.tellLink(b, a, false, 'cut');
  }

  heal(): void {
    const healed = [...this.cuts];
    this.cuts.clear();
    for (const pair of healed) {
      const [a, b] = pair.split('>') as [string, string];
      const flag = this.cutFlags.get(pair);
      if (flag !== undefined) Atomics.store(flag, 0, 0);
      if (this.hosts.has(b)) this.tellLink(a, b, true, 'healed');
    }
  }

  /**
   * Joins `host`'s actors to their namesakes on every other attached host directly, when both can
   * (thread hosts): worker to worker, instead of through both main threads. A cut pair starts cut.
   */
  private joinDirectly(host: NodeHost): void {
    const mine = host.direct;
    if (mine === undefined) return;
    for (const other of this.hosts.values()) {
      const theirs = other.direct;
      if (other === host || theirs === undefined) continue;
      const flag = new Int32Array(new SharedArrayBuffer(4));
      if (this.cuts.has(`${host.node}>${other.node}`) || this.cuts.has(`${other.node}>${host.node}`)) flag[0] = 1;
      this.cutFlags.set(`${host.node}>${other.node}`, flag).set(`${other.node}>${host.node}`, flag);
      for (const actor of mine.actors) {
        if (!theirs.actors.includes(actor)) continue;
        const channel = new MessageChannel();
        mine.connect(other.node, actor, channel.port1, flag);
        theirs.connect(host.node, actor, channel.port2, flag);
        this.direct.add(`${host.node}>${other.node}/${actor}`).add(`${other.node}>${host.node}/${actor}`);
      }
    }
  }

  /** Tells `node`'s listener that its link to `peer` is up or down (lost if its mailbox is full: heartbeats cover it). */
  private tellLink(node: string, peer: string, up: boolean, reason: string): void {
    const host = this.hosts.get(node);
    if (host === undefined || host.state !== 'running') return;
    host.deliver({ node: peer, actor: LISTENER }, { node, actor: LISTENER }, { type: 'link', peer, up, reason } satisfies LinkChanged);
  }

  /** Messages lost on the way (unknown node, cut link, full mailbox). */
  lostMessages(): number {
    return this.lost;
  }
}
