/**
 * What a node needs of the network that joins it to its peers, whatever carries the bytes: the
 * in-process network (`in-process.ts`, nodes of one process) or TCP (`tcp/network.ts`, nodes of
 * several processes or machines). The node's host sends through `outbound(self)`; messages from peers
 * enter the host given to `attach`; after `detach` nothing more is delivered to that node.
 */
import type { Address, Message, SendResult } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';

export interface ClusterNetwork {
  outbound(node: string): (from: Address, to: Address, message: Message) => SendResult;
  attach(host: NodeHost): void;
  detach(node: string): void;
  /** Bytes this node has sent to and received from its peers, where the network serializes them (TCP). */
  traffic?(node: string): { readonly bytesSent: number; readonly bytesReceived: number };
}
