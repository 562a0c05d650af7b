/**
 * One listening port of a node: the peer port (configured peers only) or the client port (clients,
 * src/client). It accepts TCP (and TLS) connections, bounds how many are in their handshake at once
 * (tcpPendingHandshakesMax) and how long each may take (connectTimeoutMs from the TCP accept, TLS
 * included), runs the acceptor's side of the handshake, and hands admitted connections to its owner.
 *
 * Invariants: every accepted socket is in `sockets` until it closes, so close() ends them all; a socket
 * counts against the pending bound from accept until its connection is admitted or closed.
 */
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { createServer as createTlsServer } from 'node:tls';
import type { LogLevel } from '../../runtime/actor.js';
import type { Endpoint, ResolvedTcpConfig } from './config.js';
import type { ConnectionOwner } from './connection.js';
import { Connection } from './connection.js';
import { listenError } from './errors.js';
import type { Prover } from './handshake.js';
import { AcceptorHandshake } from './handshake.js';
import { tuneSocket } from './link.js';
import { CLIENT_PREFIX } from './protocol.js';
import type { TlsMaterial } from './tls.js';
import { secured, serverOptions } from './tls.js';
import { tcpNonceBytes, tcpPendingHandshakesMax } from '../../limits.js';

export type PortKind = 'peers' | 'clients';

/** What an acceptor needs from its network. */
export interface AcceptorHost {
  readonly config: ResolvedTcpConfig;
  readonly tls: TlsMaterial | undefined;
  readonly prover: Prover;
  isOpen(): boolean;
  /** Whether a dialer named so may be admitted on this port. */
  knows(name: string): boolean;
  /** The owner of one accepted connection (shared codec, counters and bounds, and these handlers). */
  owner(handlers: Pick<ConnectionOwner, 'admitted' | 'closed' | 'received'>): ConnectionOwner;
  readonly handlers: Pick<ConnectionOwner, 'admitted' | 'closed' | 'received'>;
  refusedPending(): void;
  tlsFailed(): void;
  log(level: LogLevel, msg: string): void;
}

export class Acceptor {
  /** Every accepted socket until its dialer is admitted (the pending-handshake bound), with its start time. */
  private readonly pending = new Map<Socket, number>();
  /** Every accepted socket still open, so that close() ends them all (a refused one may be lingering). */
  private readonly sockets = new Set<Socket>();
  private readonly accepted = new Set<Connection>();
  private readonly server: Server;

  constructor(
    private readonly kind: PortKind,
    private readonly host: AcceptorHost,
  ) {
    this.server = this.makeServer();
  }

  /** Binds `endpoint`; rejects with TransportListenError when it cannot. */
  listen(endpoint: Endpoint): Promise<void> {
    const { host, port } = endpoint;
    const family = this.host.config.family;
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(listenError(host, port, family, error));
      this.server.once('error', onError);
      this.server.listen({ host, port, ipv6Only: family === 6 }, () => {
        this.server.off('error', onError);
        this.server.on('error', (error: Error) => this.host.log('error', `listener error: ${error.message}`));
        resolve();
      });
    });
  }

  /** The bound address, or undefined before listen resolved. */
  address(): Endpoint | undefined {
    const bound = this.server.address();
    return bound === null || typeof bound === 'string' ? undefined : { host: bound.address, port: bound.port };
  }

  /** Closes every accepted connection and the listener. */
  async close(): Promise<void> {
    for (const connection of [...this.accepted]) connection.close('the network is closing', 'ended');
    for (const socket of this.sockets) socket.destroy();
    this.pending.clear();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private makeServer(): Server {
    const { config, tls } = this.host;
    const highWaterMark = config.socketRecvBuf !== undefined ? { highWaterMark: config.socketRecvBuf } : {};
    const server = tls === undefined
      ? createServer({ ...highWaterMark })
      : createTlsServer({ ...highWaterMark, ...serverOptions(tls, config.connectTimeoutMs) }, (socket) => this.admitSocket(socket));
    // Raw TCP first, for TLS too: the pending bound and the handshake clock start at accept.
    server.on('connection', (socket: Socket) => this.onAccept(socket));
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      this.host.tlsFailed();
      this.host.log('warn', `refused ${remoteOf(socket)}: TLS handshake failed (${error.code ?? error.message})`);
    });
    return server;
  }

  private onAccept(socket: Socket): void {
    if (!this.host.isOpen() || this.pending.size >= tcpPendingHandshakesMax) {
      if (this.host.isOpen()) {
        this.host.refusedPending();
        this.host.log('warn', `refused ${remoteOf(socket)}: ${tcpPendingHandshakesMax} connections already in their handshake (tcpPendingHandshakesMax)`);
      }
      socket.destroy();
      return;
    }
    this.pending.set(socket, performance.now());
    this.sockets.add(socket);
    socket.once('close', () => {
      this.pending.delete(socket);
      this.sockets.delete(socket);
    });
    tuneSocket(socket, this.host.config);
    if (this.host.tls === undefined) this.admitSocket(socket); // under TLS, the TLS server calls it once secure
  }

  /** A socket is ready for our handshake (plain: at accept; TLS: after the TLS handshake). */
  private admitSocket(socket: Socket | TLSSocket): void {
    const { config, tls, handlers } = this.host;
    const raw = tls === undefined ? socket : this.rawOf(socket);
    const startedMs = raw === undefined ? undefined : this.pending.get(raw);
    if (raw === undefined || startedMs === undefined) return void socket.destroy(); // refused at accept
    const connection = new Connection(socket, this.host.owner({
      received: handlers.received,
      admitted: (c, peer) => {
        const veto = handlers.admitted(c, peer);
        if (veto === undefined) this.pending.delete(raw);
        return veto;
      },
      closed: (c, reason, kind, peer) => {
        this.accepted.delete(c);
        handlers.closed(c, reason, kind, peer);
      },
    }), remoteOf(socket), true, config.connectTimeoutMs - (performance.now() - startedMs));
    this.accepted.add(connection);
    const secure = tls === undefined ? undefined : secured(socket as TLSSocket, tls);
    if (secure?.ok === false) return connection.close(secure.reason, 'handshake');
    connection.startAcceptor(new AcceptorHandshake(
      { self: config.self, cluster: config.clusterName, prover: this.host.prover, nonce: new Uint8Array(randomBytes(tcpNonceBytes)), frameBytesMax: config.frameBytesMax,
        credential: this.kind === 'clients' ? 'client key' : 'cluster secret', ...(secure === undefined ? {} : { tlsBinding: secure.binding }) },
      (name) => this.host.knows(name),
      this.kind === 'clients',
    ));
  }

  /** Under TLS the accepted socket wraps a raw one, found by its remote address. */
  private rawOf(socket: Socket): Socket | undefined {
    for (const raw of this.pending.keys()) {
      if (raw.remoteAddress === socket.remoteAddress && raw.remotePort === socket.remotePort) return raw;
    }
    return undefined;
  }
}

/** Whether `name` is a client's (`client:<id>`, or `client:<client name>:<id>`): what the client port admits. */
export function isClientName(name: string): boolean {
  return name.startsWith(CLIENT_PREFIX) && name.length > CLIENT_PREFIX.length;
}

/** The client name a client's id carries (`client:<client name>:<id>`), if any: whose key it proves (keys.ts). */
export function clientNameOf(id: string): string | undefined {
  const colon = id.indexOf(':', CLIENT_PREFIX.length);
  return colon < 0 ? undefined : id.slice(CLIENT_PREFIX.length, colon);
}

export function remoteOf(socket: Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return `${address.includes(':') ? `[${address}]` : address}:${socket.remotePort ?? '?'}`;
}
