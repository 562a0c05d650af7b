/**
 * The TCP transport's wire protocol on one screen: every frame a node sends or accepts, and the guard
 * that turns a decoded frame (`unknown`) into one of them or into a rejection reason.
 *
 * On the wire each frame's payload is a msgpack array whose first element is the protocol version and
 * second the frame type: `[version, type, ...fields]`. The version comes first so that a later version
 * may change everything after it; a frame of any other version is rejected before its shape is read.
 *
 * Handshake (dialer D, acceptor A; see handshake.ts):
 *   D -> A  hello      cluster, D's id, the id D expects A to have, D's nonce
 *   A -> D  challenge  A's id, A's nonce, A's proof over D's nonce
 *   D -> A  proof      D's proof over A's nonce
 *   A -> D  welcome    (or `refuse` with a reason, then close; either side may refuse at any step)
 * Then D -> A  msg     from actor, to actor, body   (one direction per connection; see network.ts)
 * Without TLS the frames after `welcome` (either way) come in runs, each closed by a tag record: a zero
 * length, then a 16-byte tag over the run (frame-mac.ts).
 *
 * On a node's client port (src/client) the dialer is a client, named `client:<id>`, that does not know
 * the node's id beforehand: its hello says `to: "*"` (ANY_NODE) and it takes the id the challenge
 * gives. After the handshake the connection carries requests and responses both ways:
 *   client -> node  request   id, operation (narrowed by src/client/protocol.ts)
 *   node -> client  response  id, ok, value (the result, or { code, message })
 *
 * Invariant: `parseFrame` never throws; whatever the input, it returns a typed frame or a reason.
 */
import { tcpNameCharsMax, tcpNonceBytes, tcpReasonCharsMax } from '../../limits.js';
import type { Message } from '../../runtime/actor.js';

/**
 * The version this code speaks. A peer speaking another one is refused with a reason naming both.
 * Version 2: a log entry's change-set is its msgpack bytes (a bin), not a map (version 1). Version 3: a
 * log entry travels as its kept bytes (an ext of type 1 around its msgpack map; src/store/msgpack-encode.ts).
 * Version 4: a command entry may hold a window batch (an array of transactions; src/actors/log-payload.ts),
 * which a version-3 node would read as one corrupt transaction; hello and challenge carry frameBytesMax.
 * Version 5: proofs are keyed by keys derived from the secret (the peer key between nodes, the client
 * key on client ports: keys.ts), no longer by the secret itself; a client states its frameBytesMax.
 * Version 6: a state-transfer chunk (Raft `snapshot`) carries the leader's commit index and the image's
 * digest, which a version-5 node's guard refuses (and a version-5 chunk lacks them); chunks are pipelined.
 * And the handshake binds what follows it: without TLS every frame after it is covered by a tag under
 * keys derived from the handshake (tag records between runs of frames: frame-mac.ts); under TLS the
 * proofs cover the TLS session's exported keying material (tls.ts).
 */
export const PROTOCOL_VERSION = 6;
/** Bytes of an HMAC-SHA-256 proof. */
export const PROOF_BYTES = 32;

export interface Hello {
  readonly type: 'hello';
  readonly cluster: string;
  /** The dialer's node id. */
  readonly from: string;
  /** The node id the dialer expects to reach (a misconfigured peer address is caught here). */
  readonly to: string;
  readonly nonce: Uint8Array;
  /** The dialer's frameBytesMax: nodes must agree on it (a client states its own: no answer to it is larger). */
  readonly frameBytesMax: number;
}
export interface Challenge {
  readonly type: 'challenge';
  /** The acceptor's node id. */
  readonly from: string;
  readonly nonce: Uint8Array;
  /** The acceptor's HMAC over the dialer's nonce: it proves itself first. */
  readonly proof: Uint8Array;
  /** The acceptor's frameBytesMax (see Hello). */
  readonly frameBytesMax: number;
}
export interface Proof {
  readonly type: 'proof';
  /** The dialer's HMAC over the acceptor's nonce. */
  readonly proof: Uint8Array;
}
export interface Welcome {
  readonly type: 'welcome';
}
export interface Refuse {
  readonly type: 'refuse';
  readonly reason: string;
}
/** One actor message from the dialer's node to the acceptor's node. */
export interface Envelope {
  readonly type: 'msg';
  readonly from: string;
  readonly to: string;
  readonly body: Message;
}

/** A client's request; `op` stays unknown here: the client layer's guard narrows it. */
export interface ClientRequest {
  readonly type: 'request';
  readonly id: number;
  readonly op: unknown;
}
/** The node's answer to request `id`: `ok` with the result, or not with `{ code, message }`. */
export interface ClientResponse {
  readonly type: 'response';
  readonly id: number;
  readonly ok: boolean;
  readonly value: unknown;
}

/** The `to` of a client's hello: whichever node listens there. */
export const ANY_NODE = '*';
/** Dialers on a client port name themselves with this prefix (node ids are host:port, never this). */
export const CLIENT_PREFIX = 'client:';

export type HandshakeFrame = Hello | Challenge | Proof | Welcome | Refuse;
/** Frames an admitted connection carries. */
export type AdmittedFrame = Envelope | ClientRequest | ClientResponse;
export type WireFrame = HandshakeFrame | AdmittedFrame;

/** A frame the guard would not accept, and why (for the log line that closes the connection). */
export interface Rejection {
  readonly type: 'rejected';
  readonly reason: string;
}

/** The msgpack value a frame is written as. */
export function frameToWire(frame: WireFrame): unknown[] {
  switch (frame.type) {
    case 'hello':
      return [PROTOCOL_VERSION, frame.type, frame.cluster, frame.from, frame.to, frame.nonce, frame.frameBytesMax];
    case 'challenge':
      return [PROTOCOL_VERSION, frame.type, frame.from, frame.nonce, frame.proof, frame.frameBytesMax];
    case 'proof':
      return [PROTOCOL_VERSION, frame.type, frame.proof];
    case 'welcome':
      return [PROTOCOL_VERSION, frame.type];
    case 'refuse':
      return [PROTOCOL_VERSION, frame.type, frame.reason];
    case 'msg':
      return [PROTOCOL_VERSION, frame.type, frame.from, frame.to, frame.body];
    case 'request':
      return [PROTOCOL_VERSION, frame.type, frame.id, frame.op];
    case 'response':
      return [PROTOCOL_VERSION, frame.type, frame.id, frame.ok, frame.value];
  }
}

const reject = (reason: string): Rejection => ({ type: 'rejected', reason });

/** Turns a decoded frame into a typed one, or says what is wrong with it. Never throws. */
export function parseFrame(value: unknown): WireFrame | Rejection {
  if (!Array.isArray(value) || value.length < 2) return reject('frame is not an array of [version, type, ...]');
  const version: unknown = value[0];
  if (version !== PROTOCOL_VERSION) {
    return reject(`unsupported protocol version ${describe(version)} (this node speaks ${PROTOCOL_VERSION})`);
  }
  const type: unknown = value[1];
  switch (type) {
    case 'hello':
      return parseFields(value, 7, type, () => {
        const [, , cluster, from, to, nonce, frameBytesMax] = value as unknown[];
        return name(cluster, 'cluster') ?? name(from, 'from') ?? name(to, 'to') ?? bytes(nonce, 'nonce', tcpNonceBytes) ?? count(frameBytesMax, 'frameBytesMax')
          ?? { type, cluster: cluster as string, from: from as string, to: to as string, nonce: nonce as Uint8Array, frameBytesMax: frameBytesMax as number };
      });
    case 'challenge':
      return parseFields(value, 6, type, () => {
        const [, , from, nonce, proof, frameBytesMax] = value as unknown[];
        return name(from, 'from') ?? bytes(nonce, 'nonce', tcpNonceBytes) ?? bytes(proof, 'proof', PROOF_BYTES) ?? count(frameBytesMax, 'frameBytesMax')
          ?? { type, from: from as string, nonce: nonce as Uint8Array, proof: proof as Uint8Array, frameBytesMax: frameBytesMax as number };
      });
    case 'proof':
      return parseFields(value, 3, type, () => bytes(value[2], 'proof', PROOF_BYTES) ?? { type, proof: value[2] as Uint8Array });
    case 'welcome':
      return parseFields(value, 2, type, () => ({ type }));
    case 'refuse':
      return parseFields(value, 3, type, () => {
        const reason: unknown = value[2];
        return typeof reason === 'string' ? { type, reason: reason.slice(0, tcpReasonCharsMax) } : reject('refuse: reason is not a string');
      });
    case 'msg':
      return parseFields(value, 5, type, () => {
        const [, , from, to, body] = value as unknown[];
        return name(from, 'from actor') ?? name(to, 'to actor') ?? message(body)
          ?? { type, from: from as string, to: to as string, body: body as Message };
      });
    case 'request':
      return parseFields(value, 4, type, () => requestId(value[2]) ?? { type, id: value[2] as number, op: value[3] });
    case 'response':
      return parseFields(value, 5, type, () => requestId(value[2]) ?? (typeof value[3] === 'boolean' ? { type, id: value[2] as number, ok: value[3], value: value[4] } : reject('response: ok is not a boolean')));
    default:
      return reject(`unknown frame type ${describe(type)}`);
  }
}

function parseFields(value: readonly unknown[], length: number, type: string, parse: () => WireFrame | Rejection): WireFrame | Rejection {
  if (value.length !== length) return reject(`${type}: expected ${length} elements, got ${value.length}`);
  return parse();
}

function name(value: unknown, what: string): Rejection | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > tcpNameCharsMax) {
    return reject(`${what} must be a string of 1 to ${tcpNameCharsMax} characters`);
  }
  return undefined;
}

function count(value: unknown, what: string): Rejection | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : reject(`${what} must be a non-negative integer`);
}

function requestId(value: unknown): Rejection | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : reject('request id must be a non-negative integer');
}

function bytes(value: unknown, what: string, length: number): Rejection | undefined {
  if (!(value instanceof Uint8Array) || value.byteLength !== length) return reject(`${what} must be ${length} bytes`);
  return undefined;
}

function message(value: unknown): Rejection | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return reject('msg: body is not a message object');
  }
  if (typeof (value as { type?: unknown }).type !== 'string') return reject('msg: body has no string type');
  return undefined;
}

/** A short, log-safe description of an unexpected value (never the whole of it). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  return Array.isArray(value) ? 'an array' : typeof value;
}
