/**
 * An in-process network: several nodes of one process (each on its own inline or thread host) reach
 * each other through their hosts. A message an actor sends to another node leaves through its host's
 * `outbound` and enters the other host through `deliver`, which applies that node's mailbox bound; a
 * message to a node that is not attached (or has stopped) is lost, as on a real network.
 *
 * For tests, demos and embedding several nodes in one process; the TCP transport replaces it between
 * processes.
 */
import type { Address, Message, SendResult } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';

export class InProcessNetwork {
  private readonly hosts = new Map<string, NodeHost>();
  private readonly cuts = new Set<string>();
  private lost = 0;

  /** The `outbound` option for the host of `node`. */
  outbound(node: string): (from: Address, to: Address, message: Message) => SendResult {
    return (from, to, message) => {
      const host = this.hosts.get(to.node);
      // Like a real network, a node that is gone, a cut link or a full mailbox loses the message
      // without telling the sender; the protocols above recover (Raft resends).
      if (host === undefined || host.state !== 'running' || this.cuts.has(`${node}>${to.node}`) || host.deliver(from, to, message) !== undefined) {
        this.lost++;
      }
      return undefined;
    };
  }

  attach(host: NodeHost): void {
    this.hosts.set(host.node, host);
  }

  detach(node: string): void {
    this.hosts.delete(node);
  }

  /** Cuts traffic between the two nodes, both ways, until `heal`. */
  cut(a: string, b: string): void {
    this.cuts.add(`${a}>${b}`).add(`${b}>${a}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  /** Messages lost on the way (unknown node, cut link, full mailbox). */
  lostMessages(): number {
    return this.lost;
  }
}
