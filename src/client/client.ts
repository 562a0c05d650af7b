/**
 * The client library (`chorusdb/client`): one authenticated connection to one node's client port, on
 * which `write`, `read` and `info` requests travel and are answered (in any order, matched by id).
 *
 * What a caller can rely on: every request settles exactly once, with its answer, a ClientError from
 * the node (its `code`: CONFLICT, NO_QUORUM, PRECONDITION, ...), TIMEOUT (`requestTimeoutMs`) or
 * CONNECTION (the connection failed). After TIMEOUT or CONNECTION the outcome of a write is unknown:
 * it may have committed. The client never resends a request by itself.
 *
 * Bounded: at most clientPendingRequestsMax requests wait for answers (more fail OVERLOADED at once),
 * and at most outgoingBytesMax bytes of requests wait to leave.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect } from 'node:tls';
import type { SslParams } from '../transport/tcp/config.js';
import { parseEndpoint, resolveTcpConfig } from '../transport/tcp/config.js';
import { Connection } from '../transport/tcp/connection.js';
import type { ConnectionOwner, Counters } from '../transport/tcp/connection.js';
import { FrameCodec } from '../transport/tcp/framing.js';
import { DialerHandshake, makeProver } from '../transport/tcp/handshake.js';
import { tuneSocket } from '../transport/tcp/link.js';
import { ANY_NODE, CLIENT_PREFIX, frameToWire } from '../transport/tcp/protocol.js';
import type { ClientResponse } from '../transport/tcp/protocol.js';
import { clientNameProblem, parseClientKey } from '../transport/tcp/keys.js';
import { clientOptions, loadTls, secured } from '../transport/tcp/tls.js';
import { ChorusError } from '../runtime/errors.js';
import { clientPendingRequestsMax, clientRequestTimeoutMsDefault, tcpNonceBytes, tcpTimeMsMax } from '../limits.js';
import type { ErrorValue, HashResult, InfoResult, ReadOp, ReadResult, Request, WriteOp, WriteResult } from './protocol.js';

export interface ClientOptions {
  /** The cluster's name, as its nodes have it. */
  readonly clusterName: string;
  /**
   * The cluster's client key: 64 hex digits, as `chorus client-key --config FILE` prints them (or
   * `clientKeyFor(secret)` computes them). Not the cluster secret: a node refuses that, and the client
   * key admits to the client port only, never to the peer port (src/transport/tcp/keys.ts).
   */
  readonly clientKey: string | Uint8Array;
  /**
   * Connect as this client (1 to 64 of A-Z a-z 0-9 . _ -): `clientKey` is then the key of this name
   * (`chorus client-key --config FILE --name NAME`), which a node refuses once the name is in its
   * `client.revoked`, without touching the other applications' keys.
   */
  readonly clientName?: string;
  /** TLS, as the nodes' `sslParams` (this side's certificate and key, the CA, verifyMode). */
  readonly sslParams?: SslParams;
  /** Milliseconds to connect, finish TLS and authenticate (default 5000). */
  readonly connectTimeoutMs?: number;
  /** Milliseconds a request may wait for its answer before it fails with TIMEOUT (default 30000). */
  readonly requestTimeoutMs?: number;
  readonly socketDomain?: 'ipv4' | 'ipv6';
  /**
   * The largest answer this client accepts (default 16 MiB). The node is told it at the handshake and
   * answers a larger result with TOO_LARGE; a request larger than the node's own bound fails TOO_LARGE here.
   */
  readonly frameBytesMax?: number;
  readonly outgoingBytesMax?: number;
}

/** A refused or failed request; `code` is the node's error code or CONNECTION, TIMEOUT, OVERLOADED, CLOSED. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export interface Client {
  /** The id of the node this client is connected to (its cluster address). */
  readonly node: string;
  readonly closed: boolean;
  /** Runs the operations as one transaction on the node; `retries`: times to run them again after a CONFLICT. */
  write(ops: readonly WriteOp[], options?: { readonly retries?: number }): Promise<WriteResult>;
  /** Runs the lookups on one snapshot of the node's tables ('linearizable': confirmed with the leader first). */
  read(ops: readonly ReadOp[], options?: { readonly consistency?: 'local' | 'linearizable' }): Promise<ReadResult>;
  info(): Promise<InfoResult>;
  /** The node's content hash and store version: equal on nodes that applied the same log. */
  contentHash(): Promise<HashResult>;
  /** Closes the connection; requests still waiting fail with CLOSED. */
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ClientError) => void;
  /** performance.now() past which it fails TIMEOUT. */
  readonly deadline: number;
}

/** Connects to a node's client port (`host:port`) and authenticates; rejects with ClientError CONNECTION. */
export async function connect(addr: string, options: ClientOptions): Promise<Client> {
  const endpoint = parseEndpoint('connect: addr', addr, false);
  const { clientName } = options;
  const problem = clientName === undefined ? undefined : clientNameProblem(clientName);
  if (problem !== undefined) throw new ChorusError('INVALID_ARGUMENT', `connect: clientName must be ${problem}`);
  // Its id on the node; a named client's carries the name whose key it proves (keys.ts).
  const name = `${CLIENT_PREFIX}${clientName === undefined ? '' : `${clientName}:`}${randomBytes(6).toString('hex')}`;
  if ('secret' in (options as object)) {
    throw new ChorusError('INVALID_ARGUMENT', 'connect: there is no secret option: give clientKey, the client key `chorus client-key --config FILE` prints (the cluster secret admits no client)');
  }
  const { requestTimeoutMs = clientRequestTimeoutMsDefault, clientKey, clientName: _, ...tcp } = options;
  const key = parseClientKey('connect', clientKey);
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 1 || requestTimeoutMs > tcpTimeMsMax) {
    throw new ChorusError('INVALID_ARGUMENT', `connect: requestTimeoutMs must be an integer in [1, ${tcpTimeMsMax}], got ${JSON.stringify(requestTimeoutMs)}`);
  }
  let config;
  try {
    config = resolveTcpConfig({ ...tcp, secret: key, self: name, listen: '127.0.0.1:0', peers: {} });
  } catch (error) {
    throw new ChorusError('INVALID_ARGUMENT', (error as Error).message.replace(/^TcpNetwork: /, 'connect: '));
  }
  const tls = config.ssl === undefined ? undefined : await loadTls(config.ssl);
  const session = new Session(requestTimeoutMs, config.frameBytesMax);
  const counters: Counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  return new Promise<Client>((resolve, reject) => {
    const owner: ConnectionOwner = {
      codec: session.codec, counters, frameBytesMax: config.frameBytesMax, outgoingBytesMax: config.outgoingBytesMax, connectTimeoutMs: config.connectTimeoutMs,
      admitted: (c, node) => {
        resolve(session.client(node, connection, c.peerFrameBytesMax));
        return undefined;
      },
      received: (_c, frame) => frame.type === 'response' && (session.answer(frame), true),
      closed: (_c, reason, _kind, node) => {
        if (node === undefined) reject(new ClientError('CONNECTION', `could not connect to ${addr}: ${reason}${reason.includes('bad proof') ? badKeyHint : ''}`));
        session.fail('CONNECTION', `the connection to ${node ?? addr} failed: ${reason}`);
      },
    };
    const raw = new Socket();
    const socket: Socket | TLSSocket = tls === undefined ? raw : tlsConnect({ socket: raw, ...clientOptions(tls, endpoint) });
    const connection = new Connection(socket, owner, `node at ${addr}`, false, config.connectTimeoutMs);
    if (socket !== raw) raw.on('error', () => undefined); // the TLS socket reports it
    raw.once('connect', () => {
      connection.markConnected();
      tuneSocket(raw, config);
    });
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => {
      const secure = tls === undefined ? undefined : secured(socket as TLSSocket, tls);
      if (secure?.ok === false) return connection.close(secure.reason, 'handshake');
      connection.startDialer(new DialerHandshake({
        self: name, cluster: config.clusterName, prover: makeProver(key), nonce: new Uint8Array(randomBytes(tcpNonceBytes)), frameBytesMax: config.frameBytesMax, credential: 'client key',
        ...(secure === undefined ? {} : { tlsBinding: secure.binding }),
      }, ANY_NODE));
    });
    raw.connect({ host: endpoint.host, port: endpoint.port, family: config.family });
  });
}

const badKeyHint = ': check clientKey (what `chorus client-key --config FILE` prints for this cluster; the cluster secret is not a client key)';

/** The requests of one connection: ids, answers, timeouts. */
class Session {
  readonly codec: FrameCodec;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: ClientError | undefined;
  /**
   * One timer for every waiting request, armed for the oldest deadline: requests all wait
   * requestTimeoutMs, so `pending` (in send order) is in deadline order too. A timer per request cost a
   * client more than encoding it (profiled). Cleared once nothing waits, so an idle client keeps no timer.
   */
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The node's frameBytesMax (it stated it at the handshake): no request may be larger. */
  private requestBytesMax: number;

  constructor(
    private readonly requestTimeoutMs: number,
    private readonly frameBytesMax: number,
  ) {
    this.codec = new FrameCodec(frameBytesMax);
    this.requestBytesMax = frameBytesMax;
  }

  client(node: string, connection: Connection, nodeFrameBytesMax: number): Client {
    this.requestBytesMax = Math.min(this.frameBytesMax, nodeFrameBytesMax);
    const request = <T>(body: Request) => this.request<T>(connection, body);
    return {
      node,
      get closed() {
        return connection.closed;
      },
      write: (ops, options) => request<WriteResult>({ type: 'write', ops, ...(options?.retries !== undefined ? { retries: options.retries } : {}) }),
      read: (ops, options) => request<ReadResult>({ type: 'read', ops, ...(options?.consistency !== undefined ? { consistency: options.consistency } : {}) }),
      info: () => request<InfoResult>({ type: 'info' }),
      contentHash: () => request<HashResult>({ type: 'hash' }),
      close: async () => {
        this.fail('CLOSED', 'the client was closed');
        connection.close('closed by the client', 'ended');
      },
    };
  }

  answer(response: ClientResponse): void {
    const waiting = this.pending.get(response.id);
    if (waiting === undefined) return; // timed out already
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.stopTimer();
    if (response.ok) return waiting.resolve(response.value);
    const error = response.value as Partial<ErrorValue> | null;
    waiting.reject(new ClientError(typeof error?.code === 'string' ? error.code : 'INTERNAL', typeof error?.message === 'string' ? error.message : 'the node refused the request'));
  }

  /** Fails every waiting request, and every later one. */
  fail(code: string, message: string): void {
    this.failure ??= new ClientError(code, message);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.stopTimer();
    for (const { reject } of waiting) reject(new ClientError(code, message));
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Fails the requests past their deadline, oldest first, and arms the timer for the next one. */
  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [id, waiting] of this.pending) {
      if (waiting.deadline > now) {
        this.timer = setTimeout(() => this.expire(), waiting.deadline - now);
        return;
      }
      this.pending.delete(id);
      waiting.reject(new ClientError('TIMEOUT', `no answer within ${this.requestTimeoutMs} ms (requestTimeoutMs); a write's outcome is unknown`));
    }
  }

  private request<T>(connection: Connection, op: Request): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pending.size >= clientPendingRequestsMax) return Promise.reject(new ClientError('OVERLOADED', `${clientPendingRequestsMax} requests already wait for answers (clientPendingRequestsMax)`));
    const id = this.nextId++;
    const encoded = this.codec.encodeTransient(frameToWire({ type: 'request', id, op }), this.requestBytesMax); // send copies it
    if (!encoded.ok) return Promise.reject(new ClientError(encoded.tooLarge ? 'TOO_LARGE' : 'BAD_REQUEST', `the request cannot be sent: ${encoded.reason}`));
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, deadline: performance.now() + this.requestTimeoutMs });
      this.timer ??= setTimeout(() => this.expire(), this.requestTimeoutMs);
      if (!connection.send(encoded.payload)) {
        this.pending.delete(id);
        if (this.pending.size === 0) this.stopTimer();
        reject(connection.closed ? new ClientError('CONNECTION', 'the connection is closed') : new ClientError('OVERLOADED', 'too many request bytes wait to leave (outgoingBytesMax)'));
      }
    });
  }
}
