/**
 * How one node is wired to its cluster network: the shared in-process network (nwType 'local') or a TCP
 * network it opens itself (nwType 'tcp'); what its actors send goes out through it (logged one line per
 * message with modeMask.debugOutput), and what arrives is delivered into its host once it joins. Started
 * detached, a node opens none of this until attach(): until then what its actors send is dropped.
 */
import type { Address, LogRecord, Message, SendResult } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';
import type { ClusterNetwork } from '../transport/network.js';
import type { ResolvedParams } from './params.js';
import { isSharedNetwork } from './params.js';
import type { OwnedNetwork } from './tcp.js';
import { openTcpNetwork } from './tcp.js';
import { loggingDeliveries, loggingSends } from './debug-output.js';

export class NetworkLink {
  private network: ClusterNetwork | undefined;
  private send: ((from: Address, to: Address, message: Message) => SendResult) | undefined;
  /** Whether the network delivers to this node's host. */
  private joinedHost = false;
  /** The network this node opened itself (nwType 'tcp'); closed when it stops. */
  private own: OwnedNetwork | undefined;

  constructor(private readonly params: ResolvedParams) {}

  /** For the host: where the node's actors' messages to other nodes go. */
  readonly outbound = (from: Address, to: Address, message: Message): SendResult => (this.send === undefined ? undefined : this.send(from, to, message));

  get opened(): boolean {
    return this.network !== undefined;
  }

  get joined(): boolean {
    return this.joinedHost;
  }

  async open(): Promise<void> {
    const p = this.params;
    if (this.network !== undefined) return;
    if (isSharedNetwork(p.network)) this.network = p.network;
    else {
      this.own = await openTcpNetwork(p.network);
      this.network = this.own.network;
    }
    const outbound = this.network.outbound(p.self);
    this.send = p.modeMask.debugOutput ? loggingSends(p.self, outbound, this.debugLog()) : outbound;
  }

  /** From now on the network delivers to `host`. */
  join(host: NodeHost): void {
    if (this.joinedHost || this.network === undefined) return;
    this.network.attach(this.params.modeMask.debugOutput ? loggingDeliveries(host, this.debugLog()) : host);
    this.joinedHost = true;
  }

  /** Bytes sent and received (TCP), per this node's peers; undefined on the in-process network. */
  traffic(): ReturnType<NonNullable<ClusterNetwork['traffic']>> | undefined {
    return this.network?.traffic?.(this.params.self);
  }

  /** Stops deliveries to this node (the node is stopping). */
  leave(): void {
    if (this.joinedHost) this.network?.detach(this.params.self);
    this.joinedHost = false;
  }

  /** Closes what this node opened itself (its TCP listener and connections). */
  async close(): Promise<void> {
    await this.own?.close();
  }

  private debugLog(): (record: LogRecord) => void {
    return this.params.log ?? ((record) => process.stderr.write(`${JSON.stringify(record)}\n`));
  }
}
