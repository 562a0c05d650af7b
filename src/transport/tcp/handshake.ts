/**
 * The handshake that admits a peer: protocol version, cluster name and node ids, and a mutual HMAC
 * challenge-response over a key: the peer key between nodes, the client key on a client port (both
 * derived one-way from the cluster secret: keys.ts). Pure state machines: they take frames and return frames
 * to send and an outcome; the connection (connection.ts) moves the bytes and runs the timeout.
 *
 * Each side proves it knows the key without sending it: proof = HMAC-SHA-256(key, msgpack of
 * [role label, cluster, prover id, verifier id, verifier's nonce, prover's nonce, binding]). The label
 * differs per role, so a proof cannot be reflected back at its maker; both fresh nonces are in every
 * proof, so a recorded handshake cannot be replayed. Proofs are compared with timingSafeEqual.
 *
 * What binds the frames after it to this handshake (so that someone on the path cannot let the
 * handshake through and then speak for either end):
 * - Under TLS, `binding` is the TLS session's exported keying material (RFC 5705, tls.ts): both ends of
 *   one TLS session have the same, and a man in the middle who terminates TLS towards each end has two
 *   sessions with two different ones, so the proofs it relays fail. TLS then protects every frame.
 * - Without TLS, `binding` is empty and the admitted outcome carries a FrameSession: per-direction keys
 *   HMAC-SHA-256(key, msgpack of ["chorusdb/frames", direction, cluster, dialer, acceptor, dialer's
 *   nonce, acceptor's nonce]) with which every later run of frames is tagged (frame-mac.ts).
 *
 * Invariants: the key lives only inside the closure `makeProver` returns (and the derived frame keys
 * only inside their FrameMac); no frame, log line or reason produced here contains any of them. A side
 * that has refused or failed never accepts afterwards.
 */
import { encode } from '@msgpack/msgpack';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Challenge, HandshakeFrame, Hello, WireFrame } from './protocol.js';
import { ANY_NODE } from './protocol.js';
import type { Direction, FrameSession } from './frame-mac.js';
import { FrameMac } from './frame-mac.js';
import { tcpHandshakeFrameBytesMax } from '../../limits.js';

export type Role = 'dialer' | 'acceptor';

/** Everything both ends of one handshake know once the challenge is out: what proofs and frame keys are made of. */
export interface Transcript {
  readonly cluster: string;
  readonly dialer: string;
  readonly acceptor: string;
  readonly dialerNonce: Uint8Array;
  readonly acceptorNonce: Uint8Array;
  /** The TLS session's exported keying material; empty over plain TCP. */
  readonly binding: Uint8Array;
}

/** Computes and checks proofs and makes frame keys; the only holder of the key after configuration. */
export interface Prover {
  prove(role: Role, transcript: Transcript): Uint8Array;
  check(proof: Uint8Array, role: Role, transcript: Transcript): boolean;
  /** The frame keys of a connection without TLS, as `role` uses them (it sends with one, checks with the other). */
  session(role: Role, transcript: Transcript): FrameSession;
}

export function makeProver(secretKey: Uint8Array | ((dialer: string) => Uint8Array)): Prover {
  // Our own copy: a caller mutating theirs changes nothing. A function gives the key of each dialer (a
  // client port: the key of the client name the dialer's id carries, keys.ts).
  const fixed = typeof secretKey === 'function' ? undefined : Uint8Array.from(secretKey);
  const keyOf = (t: Transcript) => fixed ?? (secretKey as (dialer: string) => Uint8Array)(t.dialer);
  const hmac = (t: Transcript, value: unknown[]) => new Uint8Array(createHmac('sha256', keyOf(t)).update(encode(value)).digest());
  const prove: Prover['prove'] = (role, t) => role === 'dialer'
    ? hmac(t, ['chorusdb/dialer', t.cluster, t.dialer, t.acceptor, t.acceptorNonce, t.dialerNonce, t.binding])
    : hmac(t, ['chorusdb/acceptor', t.cluster, t.acceptor, t.dialer, t.dialerNonce, t.acceptorNonce, t.binding]);
  const frameMac = (direction: Direction, t: Transcript) =>
    new FrameMac(hmac(t, ['chorusdb/frames', direction, t.cluster, t.dialer, t.acceptor, t.dialerNonce, t.acceptorNonce]), direction);
  return {
    prove,
    check(proof, role, transcript) {
      const expected = prove(role, transcript);
      return proof.byteLength === expected.byteLength && timingSafeEqual(proof, expected);
    },
    session(role, transcript) {
      const outbound = frameMac('dialer-to-acceptor', transcript);
      const inbound = frameMac('acceptor-to-dialer', transcript);
      return role === 'dialer' ? { send: outbound, receive: inbound } : { send: inbound, receive: outbound };
    },
  };
}

/** What a handshake step asks of its connection. */
export interface Step {
  /** Frames to send now, in order. */
  readonly send: readonly HandshakeFrame[];
  /** Set once the handshake ends: admitted (with the peer's id), or refused with a reason for the log. */
  readonly outcome?: Admitted | { readonly ok: false; readonly reason: string };
}

/**
 * An admitted peer: its id, the frameBytesMax it stated (the largest frame it accepts) and, without
 * TLS, the keys that tag every run of frames from now on.
 */
export interface Admitted {
  readonly ok: true;
  readonly peer: string;
  readonly frameBytesMax: number;
  readonly session: FrameSession | undefined;
}

export interface HandshakeParams {
  readonly self: string;
  readonly cluster: string;
  readonly prover: Prover;
  /** Fresh random bytes (tcpNonceBytes of them); a parameter so that tests can fix them. */
  readonly nonce: Uint8Array;
  /**
   * This end's frameBytesMax, told to the other. Two nodes must agree on it: a leader fills its appends
   * and accepts writes up to its own bound, and a peer with a smaller one could never take them (the
   * same append refused and resent for ever). A client and a node state theirs and are not compared:
   * each sends the other nothing larger than the other's bound (src/client).
   */
  readonly frameBytesMax: number;
  /** What the prover's key is, for reasons: 'cluster secret' (between nodes) or 'client key'. */
  readonly credential: 'cluster secret' | 'client key';
  /**
   * Under TLS, the session's exported keying material (tls.ts, `tlsBinding`): the proofs cover it and
   * frames are not tagged (TLS protects them). Absent over plain TCP: frames are tagged (frame-mac.ts).
   */
  readonly tlsBinding?: Uint8Array;
}

const noBinding = new Uint8Array(0);

/** The admitted outcome: frame keys when there is no TLS to protect the frames. */
function admitted(params: HandshakeParams, role: Role, transcript: Transcript, peer: string, frameBytesMax: number): Admitted {
  const session = params.tlsBinding === undefined ? params.prover.session(role, transcript) : undefined;
  return { ok: true, peer, frameBytesMax, session };
}

/** A peer node with another frameBytesMax is refused, naming both (undefined when they agree). */
function frameBoundMismatch(who: string, theirs: number, ours: number): Step | undefined {
  if (theirs === ours) return undefined;
  return fail(`${who} has tcp.frameBytesMax ${theirs}, this node ${ours}: every node of a cluster must have the same`, 'frameBytesMax mismatch');
}

/** A client must accept at least a handshake-sized frame: every answer, an error included, is larger than nothing. */
function clientFrameBound(who: string, theirs: number): Step | undefined {
  if (theirs >= tcpHandshakeFrameBytesMax) return undefined;
  return fail(`${who} states frameBytesMax ${theirs}, below ${tcpHandshakeFrameBytesMax} (tcpHandshakeFrameBytesMax)`, 'frameBytesMax too small');
}

const fail = (reason: string, tell?: string): Step => ({
  send: tell === undefined ? [] : [{ type: 'refuse', reason: tell }],
  outcome: { ok: false, reason },
});

/** The side that dialed: says hello, checks the acceptor's proof, proves itself, waits for welcome. */
export class DialerHandshake {
  private state: 'start' | 'challenged' | 'proved' | 'done' = 'start';
  private peer: string;
  private peerFrameBytesMax = 0;
  private transcript: Transcript | undefined;

  constructor(
    private readonly params: HandshakeParams,
    /** The node id this dial is meant to reach; ANY_NODE (a client) takes the one the acceptor proves. */
    peer: string,
  ) {
    this.peer = peer;
  }

  start(): Step {
    this.state = 'challenged';
    const { cluster, self, nonce } = this.params;
    return { send: [{ type: 'hello', cluster, from: self, to: this.peer, nonce, frameBytesMax: this.params.frameBytesMax } satisfies Hello] };
  }

  step(frame: WireFrame): Step {
    if (this.state === 'done') return fail('handshake already ended');
    if (frame.type === 'refuse') return this.done(fail(`refused by the peer: ${frame.reason}`));
    if (this.state === 'challenged' && frame.type === 'challenge') {
      const step = this.onChallenge(frame);
      this.state = step.outcome === undefined ? 'proved' : 'done';
      return step;
    }
    if (this.state === 'proved' && frame.type === 'welcome') {
      return this.done({ send: [], outcome: admitted(this.params, 'dialer', this.transcript!, this.peer, this.peerFrameBytesMax) });
    }
    return this.done(fail(`unexpected ${frame.type} frame during the handshake`, 'protocol error'));
  }

  private onChallenge(frame: Challenge): Step {
    const { cluster, self, prover, nonce, credential, tlsBinding } = this.params;
    const client = this.peer === ANY_NODE;
    if (client && frame.from !== ANY_NODE) this.peer = frame.from;
    if (frame.from !== this.peer) return fail(`the peer says it is node ${JSON.stringify(frame.from)}, expected ${JSON.stringify(this.peer)}`, 'wrong node');
    const mismatch = client ? undefined : frameBoundMismatch(`node ${JSON.stringify(frame.from)}`, frame.frameBytesMax, this.params.frameBytesMax);
    if (mismatch !== undefined) return mismatch;
    const transcript: Transcript = { cluster, dialer: self, acceptor: this.peer, dialerNonce: nonce, acceptorNonce: frame.nonce, binding: tlsBinding ?? noBinding };
    if (!prover.check(frame.proof, 'acceptor', transcript)) {
      // Under TLS a man in the middle that terminates it on both sides fails here too (another binding).
      return fail(`the peer does not know the ${credential} (bad proof${tlsBinding === undefined ? '' : ', or not over the same TLS session'})`, 'authentication failed');
    }
    this.peerFrameBytesMax = frame.frameBytesMax;
    this.transcript = transcript;
    return { send: [{ type: 'proof', proof: prover.prove('dialer', transcript) }] };
  }

  private done(step: Step): Step {
    this.state = 'done';
    return step;
  }
}

/** The side that accepted: checks hello, proves itself with a challenge, checks the proof, welcomes. */
export class AcceptorHandshake {
  private state: 'hello' | 'proof' | 'done' = 'hello';
  private peer = '';
  private peerFrameBytesMax = 0;
  private transcript: Transcript | undefined;

  constructor(
    private readonly params: HandshakeParams,
    /** Whether a node id may join: it is one of this node's configured peers (a client, on a client port). */
    private readonly knows: (node: string) => boolean,
    /** A client port: a hello may be to ANY_NODE. */
    private readonly anyNode = false,
  ) {}

  step(frame: WireFrame): Step {
    if (this.state === 'done') return fail('handshake already ended');
    if (frame.type === 'refuse') return this.done(fail(`refused by the peer: ${frame.reason}`));
    if (this.state === 'hello' && frame.type === 'hello') return this.onHello(frame);
    if (this.state === 'proof' && frame.type === 'proof') {
      const { prover, credential, tlsBinding } = this.params;
      if (!prover.check(frame.proof, 'dialer', this.transcript!)) {
        const how = tlsBinding === undefined ? 'bad proof' : 'bad proof, or not over the same TLS session';
        return this.done(fail(`${this.anyNode ? 'client' : 'node'} ${JSON.stringify(this.peer)} does not know the ${credential} (${how})`, 'authentication failed'));
      }
      return this.done({ send: [{ type: 'welcome' }], outcome: admitted(this.params, 'acceptor', this.transcript!, this.peer, this.peerFrameBytesMax) });
    }
    return this.done(fail(`unexpected ${frame.type} frame during the handshake`, 'protocol error'));
  }

  private onHello(frame: Hello): Step {
    const { cluster, self, prover, nonce, tlsBinding } = this.params;
    const who = `${this.anyNode ? 'client' : 'node'} ${JSON.stringify(frame.from)}`;
    // The reason told to the peer never echoes this node's configuration (its cluster name) back to a
    // stranger; the log line on this side says everything.
    if (frame.cluster !== cluster) return this.done(fail(`${who} is in cluster ${JSON.stringify(frame.cluster)}, not ${JSON.stringify(cluster)}`, 'cluster name mismatch'));
    if (frame.to !== self && !(this.anyNode && frame.to === ANY_NODE)) return this.done(fail(`${who} dialed node ${JSON.stringify(frame.to)}, but this is ${JSON.stringify(self)}`, 'wrong node'));
    if (frame.from === self || !this.knows(frame.from)) {
      if (this.anyNode) return this.done(fail(`${who} is not admitted: its client name is revoked here (client.revoked), or it is not a client's id`, 'client not admitted'));
      return this.done(fail(`${who} is not a configured peer`, 'unknown node'));
    }
    const mismatch = this.anyNode ? clientFrameBound(who, frame.frameBytesMax) : frameBoundMismatch(who, frame.frameBytesMax, this.params.frameBytesMax);
    if (mismatch !== undefined) return this.done(mismatch);
    this.peer = frame.from;
    this.peerFrameBytesMax = frame.frameBytesMax;
    this.transcript = { cluster, dialer: frame.from, acceptor: self, dialerNonce: frame.nonce, acceptorNonce: nonce, binding: tlsBinding ?? noBinding };
    this.state = 'proof';
    return { send: [{ type: 'challenge', from: self, nonce, proof: prover.prove('acceptor', this.transcript), frameBytesMax: this.params.frameBytesMax }] };
  }

  private done(step: Step): Step {
    this.state = 'done';
    return step;
  }
}
