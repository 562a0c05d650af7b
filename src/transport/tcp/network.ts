/**
 * TcpNetwork: this node's side of a cluster over TCP (or TLS), in the role InProcessNetwork plays within
 * one process. The host of this node sends through `outbound(node)`; messages from peers are handed to
 * the attached host's `deliver`.
 *
 * One connection per direction: this node dials every peer and sends only on its own outbound
 * connections; it accepts peers' connections and only receives on them. Why not one connection per
 * pair (lower id dials higher)? Each direction then has exactly one owner that orders its bytes, so
 * per-link FIFO is one TCP stream by construction; there is no tie-break race when two nodes dial each
 * other at once or one restarts; and a one-way fault cuts exactly one direction, as on a real network.
 * The cost is two sockets per pair, nothing at cluster sizes.
 *
 * Ordering across reconnects: when a peer's new inbound connection is admitted, its older one is cut
 * before any frame of the new one is read, so older frames can be lost but never arrive after newer.
 *
 * Bounds: outgoing bytes per connection (outgoingBytesMax, then counted drops), frame size
 * (frameBytesMax; tcpHandshakeFrameBytesMax before authentication), inbound connections in their
 * handshake (tcpPendingHandshakesMax). Incoming messages go straight to the host's mailbox, whose own
 * bound drops (and counts) what does not fit: nothing queues here without bound.
 */
import { createNanoEvents } from 'nanoevents';
import type { Unsubscribe } from 'nanoevents';
import type { Address, LogLevel, Message, SendResult } from '../../runtime/actor.js';
import { invalidArgument, NoRouteError } from '../../runtime/errors.js';
import { defaultLogSink, type NodeHost } from '../../runtime/host.js';
import type { Endpoint, ResolvedTcpConfig, TcpNetworkConfig } from './config.js';
import { resolveTcpConfig } from './config.js';
import type { CloseKind, ConnectionOwner, Counters } from './connection.js';
import { Connection } from './connection.js';
import { FrameCodec } from './framing.js';
import type { Prover } from './handshake.js';
import { makeProver } from './handshake.js';
import { peerKey } from './keys.js';
import type { LinkState } from './link.js';
import { OutboundLink } from './link.js';
import { frameToWire, type Envelope } from './protocol.js';
import type { TlsMaterial } from './tls.js';
import { loadTls } from './tls.js';
import type { AcceptorHost } from './acceptor.js';
import { Acceptor } from './acceptor.js';
import type { ClusterNetwork } from '../network.js';
import type { LinkChanged } from '../../actors/listener.js';
import { LISTENER } from '../../actors/listener.js';

export type LinkDirection = 'outbound' | 'inbound';

export interface TcpNetworkEvents {
  /** A link to or from `peer` passed the handshake. */
  connect: (peer: string, direction: LinkDirection) => void;
  /** That link is gone (the outbound one will be redialed). */
  disconnect: (peer: string, direction: LinkDirection, reason: string) => void;
}

export interface PeerStats {
  readonly outbound: LinkState;
  readonly inbound: 'connected' | 'disconnected';
  /** Bytes waiting to leave on the outbound connection. */
  readonly queuedBytes: number;
  /** Why the outbound link last went down or failed to come up. */
  readonly lastError: string | undefined;
}

export interface TcpNetworkStats extends Counters {
  /** Messages dropped because their connection's queue was past outgoingBytesMax. */
  readonly dropsQueueFull: number;
  /** Messages dropped because the link to their node was down. */
  readonly dropsDisconnected: number;
  /** Messages that arrived but found no running host, no such actor or a full mailbox. */
  readonly dropsUndeliverable: number;
  /** Messages that could not be encoded (not msgpack-able, or larger than frameBytesMax). */
  readonly dropsUnencodable: number;
  /** Connections (either direction) that failed TLS or the handshake: wrong secret, cluster, node, version. */
  readonly handshakeFailures: number;
  /** Admitted connections closed for bad input (bad length, truncation, garbage, wrong shape). */
  readonly badInputClosures: number;
  /** Inbound connections refused at once because tcpPendingHandshakesMax were already handshaking. */
  readonly refusedPending: number;
  readonly peers: Readonly<Record<string, PeerStats>>;
}

export class TcpNetwork implements ClusterNetwork {
  private readonly config: ResolvedTcpConfig;
  private readonly prover: Prover;
  private readonly codec: FrameCodec;
  private readonly emitter = createNanoEvents<TcpNetworkEvents>();
  private readonly counters: Counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  private readonly drops = { dropsQueueFull: 0, dropsDisconnected: 0, dropsUndeliverable: 0, dropsUnencodable: 0 };
  private handshakeFailures = 0;
  private badInputClosures = 0;
  private refusedPending = 0;
  private readonly links = new Map<string, OutboundLink>();
  private readonly inbound = new Map<string, Connection>();
  private host: NodeHost | undefined;
  private acceptor: Acceptor | undefined;
  private tls: TlsMaterial | undefined;
  private state: 'new' | 'listening' | 'closed' = 'new';
  /** Each peer's link state as last told to the attached host's listener actor. */
  private readonly told = new Map<string, boolean>();

  constructor(config: TcpNetworkConfig) {
    this.config = resolveTcpConfig(config);
    this.prover = makeProver(peerKey(this.config.secret)); // never the secret itself: keys.ts
    this.codec = new FrameCodec(this.config.frameBytesMax);
  }

  get self(): string {
    return this.config.self;
  }

  /** The `outbound` option for this node's host. */
  outbound(node: string): (from: Address, to: Address, message: Message) => SendResult {
    if (node !== this.config.self) throw invalidArgument('TcpNetwork.outbound', `this network is node ${JSON.stringify(this.config.self)}, not ${JSON.stringify(node)}`);
    return (from, to, message) => this.send(from, to, message);
  }

  /** Messages from peers go to this host from now on. */
  attach(host: NodeHost): void {
    if (host.node !== this.config.self) throw invalidArgument('TcpNetwork.attach', `host is node ${JSON.stringify(host.node)}, but this network is ${JSON.stringify(this.config.self)}`);
    this.host = host;
    this.told.clear();
    for (const peer of this.config.peers.keys()) this.tellLink(peer, 'attached');
  }

  /** Messages from peers are dropped (counted) until a host is attached again. */
  detach(node: string): void {
    if (this.host?.node !== node) return;
    this.host = undefined;
    this.told.clear();
  }

  /** Application bytes this node sent to and received from its peers (under TLS, the plaintext). */
  traffic(node: string): { readonly bytesSent: number; readonly bytesReceived: number } {
    if (node !== this.config.self) throw invalidArgument('TcpNetwork.traffic', `this network is node ${JSON.stringify(this.config.self)}, not ${JSON.stringify(node)}`);
    return { bytesSent: this.counters.bytesSent, bytesReceived: this.counters.bytesReceived };
  }

  on<E extends keyof TcpNetworkEvents>(event: E, listener: TcpNetworkEvents[E]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /**
   * Loads TLS material, binds the listen address and starts dialing every peer. Resolves with the bound
   * address (the real port when `listen` asked for port 0); rejects with INVALID_ARGUMENT for bad
   * sslParams files and with TransportListenError when the address cannot be bound.
   */
  async listen(): Promise<Endpoint> {
    if (this.state !== 'new') throw invalidArgument('TcpNetwork.listen', `called on a network that is ${this.state}`);
    this.state = 'listening';
    try {
      this.tls = this.config.ssl === undefined ? undefined : await loadTls(this.config.ssl);
      this.acceptor = new Acceptor('peers', this.acceptorHost());
      await this.acceptor.listen(this.config.listen);
    } catch (error) {
      this.state = 'closed';
      await this.acceptor?.close();
      throw error;
    }
    if (this.config.keepAliveProbes !== undefined && this.config.keepAliveProbes !== 10) {
      this.log('info', 'keepAliveProbes cannot be set from Node; the OS sends 10 probes 1 s apart (libuv)', { keepAliveProbes: this.config.keepAliveProbes });
    }
    for (const [peer, endpoint] of this.config.peers) {
      const link = new OutboundLink(peer, endpoint, this.linkHost());
      this.links.set(peer, link);
      link.start();
    }
    return this.address();
  }

  /** The bound listen address; valid after listen() resolved. */
  address(): Endpoint {
    const bound = this.acceptor?.address();
    if (bound === undefined) throw invalidArgument('TcpNetwork.address', 'the network is not listening');
    return bound;
  }

  /** Stops dialing, closes every connection and the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    for (const link of this.links.values()) link.stop();
    await this.acceptor?.close();
  }

  stats(): TcpNetworkStats {
    const peers: Record<string, PeerStats> = {};
    for (const peer of this.config.peers.keys()) {
      const link = this.links.get(peer);
      peers[peer] = {
        outbound: link?.state ?? 'idle', inbound: this.inbound.has(peer) ? 'connected' : 'disconnected',
        queuedBytes: link?.queuedBytes ?? 0, lastError: link?.lastError,
      };
    }
    return {
      ...this.counters, ...this.drops, handshakeFailures: this.handshakeFailures, badInputClosures: this.badInputClosures,
      refusedPending: this.refusedPending, peers,
    };
  }

  private send(from: Address, to: Address, message: Message): SendResult {
    const link = this.links.get(to.node);
    if (link === undefined) {
      if (this.config.peers.has(to.node)) { this.drops.dropsDisconnected++; return undefined; } // not listening yet, or closed
      return new NoRouteError(to);
    }
    const encoded = this.codec.encodeTransient(frameToWire({ type: 'msg', from: from.actor, to: to.actor, body: message } satisfies Envelope), this.config.frameBytesMax); // send copies it
    if (!encoded.ok) {
      this.drops.dropsUnencodable++;
      this.log('error', `message to ${to.node}/${to.actor} dropped: ${encoded.reason}`, { type: message.type });
      return undefined;
    }
    // Like a real network, a full queue or a down link loses the message without telling the sender;
    // the protocols above recover (Raft resends).
    const sent = link.send(encoded.payload);
    if (this.config.debugOutput) this.log('debug', `sent ${message.type} to ${to.node}`, { from: from.actor, to: to.actor, bytes: encoded.payload.byteLength, outcome: sent });
    if (sent === 'full') this.drops.dropsQueueFull++;
    else if (sent === 'down') this.drops.dropsDisconnected++;
    return undefined;
  }

  /** A peer's message: delivered if the allow-list (peerMessages) takes it; else its connection is closed as bad input. */
  private receive(connection: Connection, envelope: Envelope): void {
    const peer = connection.peer!;
    const refused = this.config.peerMessages?.(envelope, peer, this.config.self);
    if (refused === undefined) this.deliver(peer, envelope);
    else connection.close(`refused a message: ${refused}`, 'badInput');
  }

  private deliver(peer: string, envelope: Envelope): void {
    const host = this.host;
    if (host === undefined || host.state !== 'running') {
      this.drops.dropsUndeliverable++;
      return;
    }
    if (this.config.debugOutput) this.log('debug', `received ${envelope.body.type} from ${peer}`, { from: envelope.from, to: envelope.to });
    const error = host.deliver({ node: peer, actor: envelope.from }, { node: this.config.self, actor: envelope.to }, envelope.body);
    if (error !== undefined) this.drops.dropsUndeliverable++;
  }

  private acceptorHost(): AcceptorHost {
    return {
      config: this.config, tls: this.tls, prover: this.prover,
      isOpen: () => this.state === 'listening',
      knows: (name) => this.config.peers.has(name),
      owner: (handlers) => this.owner(handlers),
      handlers: {
        admitted: (c, peer) => this.onInboundAdmitted(c, peer),
        received: (c, frame) => frame.type === 'msg' && (this.receive(c, frame), true),
        closed: (c, reason, kind, peer) => this.onInboundClosed(c, reason, kind, peer),
      },
      refusedPending: () => void this.refusedPending++,
      tlsFailed: () => void this.handshakeFailures++,
      log: (level, msg) => this.log(level, msg),
    };
  }

  private onInboundAdmitted(connection: Connection, peer: string): string | undefined {
    if (this.state !== 'listening') return 'the node is shutting down';
    const older = this.inbound.get(peer);
    this.inbound.set(peer, connection);
    older?.close('replaced by a newer connection from the same node', 'ended');
    this.log('info', `accepted node ${JSON.stringify(peer)} from ${connection.remote}`);
    this.emitter.emit('connect', peer, 'inbound');
    this.tellLink(peer, 'accepted its connection');
    this.links.get(peer)?.hurry();
    return undefined;
  }

  private onInboundClosed(connection: Connection, reason: string, kind: CloseKind, peer: string | undefined): void {
    this.count(kind);
    if (peer === undefined) {
      this.log(this.state === 'closed' ? 'debug' : 'warn', `refused ${connection.remote}: ${reason}`);
      return;
    }
    if (this.inbound.get(peer) === connection) this.inbound.delete(peer);
    this.log(kind === 'badInput' ? 'warn' : 'info', `closed the connection from node ${JSON.stringify(peer)}: ${reason}`);
    this.emitter.emit('disconnect', peer, 'inbound', reason);
    this.tellLink(peer, `its connection to us closed: ${reason}`);
  }

  private count(kind: CloseKind): void {
    if (kind === 'handshake') this.handshakeFailures++;
    else if (kind === 'badInput') this.badInputClosures++;
  }

  private owner(handlers: Pick<ConnectionOwner, 'admitted' | 'closed' | 'received'>): ConnectionOwner {
    const { config, codec, counters } = this;
    return {
      codec, counters, frameBytesMax: config.frameBytesMax, outgoingBytesMax: config.outgoingBytesMax, connectTimeoutMs: config.connectTimeoutMs,
      ...handlers,
    };
  }

  private linkHost() {
    return {
      config: this.config, tls: this.tls, prover: this.prover,
      connectionOwner: (handlers: Pick<ConnectionOwner, 'admitted' | 'closed'>) =>
        this.owner({ ...handlers, received: () => false }), // an outbound connection only sends
      linkUp: (peer: string) => {
        this.log('info', `connected to node ${JSON.stringify(peer)}`);
        this.emitter.emit('connect', peer, 'outbound');
        this.tellLink(peer, 'connected to it');
      },
      linkDown: (peer: string, reason: string, kind: CloseKind, wasUp: boolean, attempt: number) => {
        this.count(kind);
        if (wasUp) {
          this.log(kind === 'badInput' ? 'warn' : 'info', `lost the connection to node ${JSON.stringify(peer)}: ${reason}`);
          this.emitter.emit('disconnect', peer, 'outbound', reason);
          this.tellLink(peer, `our connection to it closed: ${reason}`);
        } else {
          // A peer that is down (or refuses us) fails every connectIntervalMs: the first failure is news,
          // the rest are not. The acceptor logs each refusal it makes at warn.
          const level: LogLevel = attempt > 1 ? 'debug' : kind === 'handshake' ? 'warn' : 'info';
          this.log(this.state === 'closed' ? 'debug' : level, `could not connect to node ${JSON.stringify(peer)}: ${reason}`);
        }
      },
    };
  }

  /**
   * A peer's link is up for the actors when both its connections are admitted: ours to it (we can send)
   * and its to us (we hear it). When that changes, the attached host's listener actor is told, as the
   * in-process network does, so that the quorum watcher sees a one-way cut at once. A report lost to a
   * full mailbox is not marked told, so the next change of either connection tells it again.
   */
  private tellLink(peer: string, reason: string): void {
    const up = this.links.get(peer)?.state === 'connected' && this.inbound.has(peer);
    const host = this.host;
    if ((this.told.get(peer) ?? false) === up || host === undefined || host.state !== 'running') return;
    const link: LinkChanged = { type: 'link', peer, up, reason };
    if (host.deliver({ node: peer, actor: LISTENER }, { node: this.config.self, actor: LISTENER }, link) === undefined) this.told.set(peer, up);
  }

  private log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    (this.config.log ?? defaultLogSink)({ level, timeMs: performance.timeOrigin + performance.now(), node: this.config.self, actor: 'transport', msg, fields });
  }
}
