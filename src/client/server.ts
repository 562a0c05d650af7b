/**
 * A node's client port: clients (chorusdb/client) connect with the same framing and TLS as peers, and
 * the same HMAC handshake over the client key instead of the peer key (both derived from the cluster
 * secret: src/transport/tcp/keys.ts; a client names itself `client:<id>` and dials ANY_NODE), then send
 * requests and get responses on that one connection, answered in any order.
 *
 * Bounds: clientConnectionsMax admitted clients, clientRequestsInFlightMax requests in flight per
 * connection (more are answered OVERLOADED at once), every answer within the smaller of this node's
 * frameBytesMax and the one the client stated at the handshake (a larger one is answered TOO_LARGE, on
 * that request only), outgoingBytesMax of answers queued per connection (a client that does not read
 * them is disconnected), and queuedAnswerBytesMax of answers queued on all connections together
 * (answer-budget.ts). Handshakes are bounded as on the peer port (acceptor.ts).
 */
import type { LogLevel, LogRecord } from '../runtime/actor.js';
import { defaultLogSink } from '../runtime/host.js';
import type { Endpoint } from '../transport/tcp/config.js';
import { resolveTcpConfig } from '../transport/tcp/config.js';
import type { TcpNodeParams } from '../node/tcp.js';
import { Acceptor, clientNameOf, isClientName } from '../transport/tcp/acceptor.js';
import type { Connection, ConnectionOwner, Counters } from '../transport/tcp/connection.js';
import { FrameCodec } from '../transport/tcp/framing.js';
import { makeProver } from '../transport/tcp/handshake.js';
import { clientKey, clientNameProblem } from '../transport/tcp/keys.js';
import type { ClientRequest, ClientResponse } from '../transport/tcp/protocol.js';
import { frameToWire } from '../transport/tcp/protocol.js';
import { loadTls } from '../transport/tcp/tls.js';
import { invalidArgument } from '../runtime/errors.js';
import {
  clientConnectionsMax, clientQueuedAnswerBytesMaxCeiling, clientQueuedAnswerBytesMaxDefault, clientRequestsInFlightMax, tcpHandshakeFrameBytesMax,
} from '../limits.js';
import { AnswerBudget } from './answer-budget.js';
import type { ErrorValue, Request } from './protocol.js';
import { parseRequest } from './protocol.js';

export interface ClientPortOptions {
  /** `host:port`; port 0 picks one (see `address`). */
  readonly listen: string;
  /** The node's id, as the handshake names it. */
  readonly self: string;
  /** The node's TCP parameters: cluster name, secret, TLS, timeouts and bounds apply here too. */
  readonly tcp: TcpNodeParams;
  readonly log?: (record: LogRecord) => void;
  /** Runs a checked request; resolves with its result or rejects with an error that has a `code`. */
  readonly execute: (request: Request) => Promise<unknown>;
  /** Told each request's outcome ('ok' or the error code), for metrics. */
  readonly outcome?: (request: Request, outcome: string) => void;
  /**
   * Bytes of answers all clients' connections may hold waiting to leave (default 64 MiB; at least
   * tcp.frameBytesMax). See answer-budget.ts: a slow reader's requests wait past its share, and past
   * the budget a read is answered OVERLOADED.
   */
  readonly queuedAnswerBytesMax?: number;
  /**
   * Client names whose keys this port refuses (`client.revoked`): a client connecting with such a
   * `clientName` is refused at the handshake; other names, and the cluster's client key, still pass.
   */
  readonly revoked?: readonly string[];
}

export interface ClientPort {
  readonly address: Endpoint;
  /** Clients connected now. */
  clients(): number;
  /** Bytes of answers waiting to leave, all clients together (at most queuedAnswerBytesMax). */
  queuedAnswerBytes(): number;
  close(): Promise<void>;
}

export async function startClientPort(options: ClientPortOptions): Promise<ClientPort> {
  const { listening: _, ...tcp } = options.tcp;
  const config = resolveTcpConfig({ ...tcp, self: options.self, listen: options.listen, peers: {} });
  const log = (level: LogLevel, msg: string) => (options.log ?? defaultLogSink)({ level, timeMs: performance.timeOrigin + performance.now(), node: options.self, actor: 'client-port', msg, fields: undefined });
  const answerBytesMax = options.queuedAnswerBytesMax ?? clientQueuedAnswerBytesMaxDefault;
  if (!Number.isSafeInteger(answerBytesMax) || answerBytesMax < config.frameBytesMax || answerBytesMax > clientQueuedAnswerBytesMaxCeiling) {
    throw invalidArgument('startClientPort', `queuedAnswerBytesMax must be an integer in [tcp.frameBytesMax (${config.frameBytesMax}), ${clientQueuedAnswerBytesMaxCeiling}], got ${JSON.stringify(answerBytesMax)}`);
  }
  const problem = (options.revoked ?? []).map(clientNameProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw invalidArgument('startClientPort', `revoked: a client name is ${problem}`);
  const revoked = new Set(options.revoked ?? []);
  const codec = new FrameCodec(config.frameBytesMax);
  const counters: Counters = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };
  const inFlight = new Map<Connection, number>();
  let open = true;

  const errorFrame = (id: number, code: string, message: string) =>
    codec.encodeTransient(frameToWire({ type: 'response', id, ok: false, value: { code, message } satisfies ErrorValue }), tcpHandshakeFrameBytesMax);
  /** `refusable`: a read's answer, replaced by OVERLOADED when the node's answer budget is full. */
  const respond = (connection: Connection, response: ClientResponse, refusable: boolean) => {
    if (connection.closed) return;
    // The client reads no frame larger than it said at the handshake (it would close the connection,
    // failing every request on it): a larger answer is refused on this request only.
    const bound = Math.min(config.frameBytesMax, connection.peerFrameBytesMax);
    let encoded = codec.encodeTransient(frameToWire(response), bound); // send copies it
    if (!encoded.ok) {
      const whose = encoded.tooLarge && bound < config.frameBytesMax ? ", the client's frameBytesMax" : '';
      encoded = errorFrame(response.id, 'TOO_LARGE', `the answer cannot be sent: ${encoded.reason}${whose}`);
    }
    if (encoded.ok && refusable && !budget.fits(connection, encoded.payload.byteLength)) {
      encoded = errorFrame(response.id, 'OVERLOADED', `the answer (${encoded.payload.byteLength} bytes) would take the answers waiting for clients past client.queuedAnswerBytesMax (${answerBytesMax} bytes); nothing was changed, try again later`);
    }
    if (!encoded.ok) return;
    if (!connection.send(encoded.payload, budget.queued(connection, encoded.payload.byteLength))) connection.close('the client does not read its answers (outgoingBytesMax)', 'ended');
  };

  const fail = (connection: Connection, id: number, code: string, message: string) => respond(connection, { type: 'response', id, ok: false, value: { code, message } satisfies ErrorValue }, false);
  /** One request of `connection` is answered (or its connection is gone). */
  const settled = (connection: Connection) => {
    const busy = inFlight.get(connection);
    if (busy !== undefined) inFlight.set(connection, busy - 1);
  };

  // Two handlers per request and no other closure or promise: this runs once per client write.
  const start = (connection: Connection, { id, request }: { readonly id: number; readonly request: Request }, waited: boolean) => {
    options.execute(request).then(
      (value) => {
        settled(connection);
        options.outcome?.(request, 'ok');
        respond(connection, { type: 'response', id, ok: true, value }, request.type !== 'write');
        budget.settled(connection, waited);
      },
      (error: unknown) => {
        settled(connection);
        const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'INTERNAL';
        options.outcome?.(request, code);
        if (code === 'INTERNAL') log('error', `request failed: ${(error as Error).stack ?? String(error)}`);
        fail(connection, id, code, (error as Error).message ?? String(error));
        budget.settled(connection, waited);
      },
    );
  };
  const budget = new AnswerBudget(answerBytesMax, (connection, reason) => connection.close(reason, 'ended'), start);

  const onRequest = (connection: Connection, frame: ClientRequest) => {
    const busy = inFlight.get(connection) ?? 0;
    const id = frame.id;
    if (busy >= clientRequestsInFlightMax) return fail(connection, id, 'OVERLOADED', `${clientRequestsInFlightMax} requests already in flight on this connection (clientRequestsInFlightMax)`);
    const parsed = parseRequest(frame.op);
    if (!parsed.ok) return fail(connection, id, 'BAD_REQUEST', parsed.reason);
    inFlight.set(connection, busy + 1);
    budget.run(connection, { id, request: parsed.value });
  };

  const handlers: Pick<ConnectionOwner, 'admitted' | 'closed' | 'received'> = {
    admitted: (connection, client) => {
      if (!open) return 'the node is shutting down';
      if (inFlight.size >= clientConnectionsMax) return `too many clients (clientConnectionsMax ${clientConnectionsMax})`;
      inFlight.set(connection, 0);
      budget.open(connection);
      log('debug', `client ${client} connected from ${connection.remote}`);
      return undefined;
    },
    received: (connection, frame) => frame.type === 'request' && (onRequest(connection, frame), true),
    closed: (connection, reason, kind, client) => {
      inFlight.delete(connection);
      budget.close(connection);
      if (client === undefined) log(open ? 'warn' : 'debug', `refused ${connection.remote}: ${reason}`);
      else log(kind === 'badInput' ? 'warn' : 'debug', `client ${client} disconnected: ${reason}`);
    },
  };

  const tls = config.ssl === undefined ? undefined : await loadTls(config.ssl);
  const acceptor = new Acceptor('clients', {
    config, tls, prover: makeProver((dialer) => clientKey(config.secret, clientNameOf(dialer))), handlers,
    isOpen: () => open,
    knows: (id) => isClientName(id) && !revoked.has(clientNameOf(id) ?? ''),
    owner: (h) => ({ codec, counters, frameBytesMax: config.frameBytesMax, outgoingBytesMax: config.outgoingBytesMax, connectTimeoutMs: config.connectTimeoutMs, ...h }),
    refusedPending: () => undefined,
    tlsFailed: () => undefined,
    log,
  });
  await acceptor.listen(config.listen);
  return {
    address: acceptor.address()!,
    clients: () => inFlight.size,
    queuedAnswerBytes: () => budget.total,
    close: async () => {
      open = false;
      await acceptor.close();
    },
  };
}
