/**
 * The outbound link to one peer: dials it, authenticates, carries this node's messages to it, and
 * redials every `connectIntervalMs` while it is down.
 *
 * Invariants:
 * - At most one connection at a time; a new dial starts only after the previous connection closed,
 *   so every message to this peer goes through one ordered byte stream at a time (per-link FIFO).
 * - A message is queued on the current connection (bounded by outgoingBytesMax) or dropped and
 *   counted; it is never moved to a later connection, so nothing is delivered twice. Messages queued
 *   on a connection that fails before admission are dropped with it; while the link waits to redial,
 *   messages drop at once (the peer is known unreachable, and Raft resends from its own state).
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { SocketConstructorOpts } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import type { Endpoint, ResolvedTcpConfig } from './config.js';
import type { CloseKind, Connection, ConnectionOwner } from './connection.js';
import { Connection as TcpConnection } from './connection.js';
import type { Prover } from './handshake.js';
import { DialerHandshake } from './handshake.js';
import type { TlsMaterial } from './tls.js';
import { clientOptions, secured } from './tls.js';
import { tcpNonceBytes } from '../../limits.js';

/** idle: not started; connecting: dial, TLS or handshake under way; backoff: waiting to redial. */
export type LinkState = 'idle' | 'connecting' | 'connected' | 'backoff' | 'closed';

/** What a link needs from its network. */
export interface LinkHost {
  readonly config: ResolvedTcpConfig;
  readonly tls: TlsMaterial | undefined;
  readonly prover: Prover;
  /** The shared parts of every connection's owner (codec, counters, bounds). */
  connectionOwner(handlers: Pick<ConnectionOwner, 'admitted' | 'closed'>): ConnectionOwner;
  linkUp(peer: string): void;
  linkDown(peer: string, reason: string, kind: CloseKind, wasUp: boolean, attempt: number): void;
}

/** Applies the socket options Node offers to a TCP socket (see config.ts for what it does not). */
export function tuneSocket(socket: Socket, config: ResolvedTcpConfig): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(config.keepAliveTimeMs > 0, config.keepAliveTimeMs);
}

export class OutboundLink {
  private linkState: LinkState = 'idle';
  private connection: Connection | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Dial attempts since the link was last up (for log levels: the first failure is news, the rest are not). */
  private attempts = 0;
  lastError: string | undefined;

  constructor(
    readonly peer: string,
    private readonly endpoint: Endpoint,
    private readonly host: LinkHost,
  ) {}

  get state(): LinkState {
    return this.linkState;
  }

  get queuedBytes(): number {
    return this.connection?.queuedBytes ?? 0;
  }

  start(): void {
    if (this.linkState === 'idle') this.dial();
  }

  /** The peer just dialed us, so it is up: redial now instead of waiting out the interval. */
  hurry(): void {
    if (this.linkState !== 'backoff') return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dial();
  }

  /** 'sent' (queued on the connection), 'full' (past outgoingBytesMax) or 'down' (no connection). */
  send(frame: Uint8Array): 'sent' | 'full' | 'down' {
    const connection = this.connection;
    if (connection === undefined || connection.closed) return 'down';
    return connection.send(frame) ? 'sent' : 'full';
  }

  stop(): void {
    this.linkState = 'closed';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.connection?.close('the network is closing', 'ended');
    this.connection = undefined;
  }

  private dial(): void {
    this.linkState = 'connecting';
    this.attempts++;
    const { config, tls } = this.host;
    // net.Socket hands its options to stream.Duplex, which takes the two high-water marks; @types/node
    // leaves them out of SocketConstructorOpts.
    const raw = new Socket({
      ...(config.socketRecvBuf !== undefined ? { readableHighWaterMark: config.socketRecvBuf } : {}),
      ...(config.socketSendBuf !== undefined ? { writableHighWaterMark: config.socketSendBuf } : {}),
    } as SocketConstructorOpts);
    const socket: Socket | TLSSocket = tls === undefined ? raw : tlsConnect({ socket: raw, ...clientOptions(tls, this.endpoint) });
    const where = `${this.endpoint.host}:${this.endpoint.port}`;
    const connection = new TcpConnection(socket, this.host.connectionOwner({
      admitted: () => {
        this.onUp();
        return undefined;
      },
      closed: (_c, reason, kind, peer) => this.onClosed(connection, reason, kind, peer !== undefined),
    }), `node ${JSON.stringify(this.peer)} at ${where}`, false, config.connectTimeoutMs);
    this.connection = connection;
    if (socket !== raw) raw.on('error', () => undefined); // the TLS socket reports it; this keeps it from being unhandled
    raw.once('connect', () => {
      connection.markConnected();
      tuneSocket(raw, config);
    });
    const begin = () => {
      const secure = tls === undefined ? undefined : secured(socket as TLSSocket, tls);
      if (secure?.ok === false) return connection.close(secure.reason, 'handshake');
      connection.startDialer(new DialerHandshake({
        self: config.self, cluster: config.clusterName, prover: this.host.prover, nonce: new Uint8Array(randomBytes(tcpNonceBytes)), frameBytesMax: config.frameBytesMax,
        credential: 'cluster secret', ...(secure === undefined ? {} : { tlsBinding: secure.binding }),
      }, this.peer));
    };
    socket.once(tls === undefined ? 'connect' : 'secureConnect', begin);
    raw.connect({ host: this.endpoint.host, port: this.endpoint.port, family: config.family });
  }

  private onUp(): void {
    this.linkState = 'connected';
    this.attempts = 0;
    this.lastError = undefined;
    this.host.linkUp(this.peer);
  }

  private onClosed(connection: Connection, reason: string, kind: CloseKind, wasUp: boolean): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.lastError = reason;
    const attempt = this.attempts;
    if (this.linkState !== 'closed') {
      this.linkState = 'backoff';
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.linkState === 'backoff') this.dial();
      }, this.host.config.connectIntervalMs);
    }
    this.host.linkDown(this.peer, reason, kind, wasUp, attempt);
  }
}
