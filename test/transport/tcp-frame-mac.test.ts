/**
 * What binds the frames after the handshake to it, without sockets: the frame keys both ends derive
 * pair up (what one seals the other checks, in order, one direction each), and any frame altered,
 * replayed, reordered, sent on after a lost one, or sealed under another handshake fails; under TLS
 * the proofs cover the session's binding, so two TLS sessions (a man in the middle) cannot be joined.
 * The same over sockets, with a relay on the path: tcp-relay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FrameCodec, FrameReader } from '../../src/transport/tcp/framing.js';
import type { Admitted, Step } from '../../src/transport/tcp/handshake.js';
import { AcceptorHandshake, DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { frameTagBytes } from '../../src/transport/tcp/frame-mac.js';
import type { FrameSession } from '../../src/transport/tcp/frame-mac.js';
import type { WireFrame } from '../../src/transport/tcp/protocol.js';

const key = new Uint8Array(32).fill(7);
const codec = new FrameCodec(1 << 20);
const frameOf = (value: unknown): Uint8Array => {
  const encoded = codec.encode(value, 1 << 20);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};
const payloadOf = (frame: Uint8Array) => frame.subarray(4);

/** Runs a handshake between a dialer and an acceptor; each may have its own TLS binding (a man in the middle gives them two). */
function handshake(options: { dialerNonce?: number; dialerBinding?: Uint8Array; acceptorBinding?: Uint8Array } = {}) {
  const params = { cluster: 'c', prover: makeProver(key), frameBytesMax: 65536, credential: 'cluster secret' as const };
  const dialer = new DialerHandshake({ ...params, self: 'a', nonce: new Uint8Array(32).fill(options.dialerNonce ?? 1), ...(options.dialerBinding ? { tlsBinding: options.dialerBinding } : {}) }, 'b');
  const acceptor = new AcceptorHandshake({ ...params, self: 'b', nonce: new Uint8Array(32).fill(2), ...(options.acceptorBinding ? { tlsBinding: options.acceptorBinding } : {}) }, (n) => n === 'a');
  let toAcceptor: readonly WireFrame[] = dialer.start().send;
  let d: Step['outcome'];
  let a: Step['outcome'];
  while (toAcceptor.length > 0) {
    const toDialer = toAcceptor.flatMap((frame) => {
      const step = acceptor.step(frame);
      a ??= step.outcome;
      return step.send;
    });
    toAcceptor = toDialer.flatMap((frame) => {
      const step = dialer.step(frame);
      d ??= step.outcome;
      return step.send;
    });
  }
  return { dialer: d, acceptor: a };
}

function sessions(dialerNonce = 1): { d: FrameSession; a: FrameSession } {
  const { dialer, acceptor } = handshake({ dialerNonce });
  expect(dialer?.ok && acceptor?.ok).toBe(true);
  return { d: (dialer as Admitted).session!, a: (acceptor as Admitted).session! };
}

describe('frame tags after a plain-TCP handshake', () => {
  const frames = [frameOf(['m', 1]), frameOf(['m', 'x'.repeat(5000)]), frameOf(['m', 3])];

  it('what one end seals, the other checks, in order, each way', () => {
    const { d, a } = sessions();
    for (const frame of frames) expect(a.receive.check(payloadOf(frame), d.send.seal(frame))).toBe(true);
    for (const frame of frames) expect(d.receive.check(payloadOf(frame), a.send.seal(frame))).toBe(true);
    expect(d.send.seal(frames[0]!).byteLength).toBe(frameTagBytes);
  });

  it('a frame altered in any byte, its length included, fails', () => {
    const frame = frames[1]!;
    for (const at of [0, 3, 4, 100, frame.byteLength - 1]) {
      const { d, a } = sessions();
      const tag = d.send.seal(frame);
      const altered = Uint8Array.from(frame);
      altered[at]! ^= 0x01;
      // The receiver hashes the length it read: an altered prefix is a frame of another length.
      const payload = at < 4 ? new Uint8Array(new DataView(altered.buffer).getUint32(0) % 9000) : payloadOf(altered);
      expect(a.receive.check(payload, tag)).toBe(false);
    }
  });

  it('a replayed, reordered or skipped frame fails, as does a tag from the other direction or another handshake', () => {
    const cases: [string, (s: { d: FrameSession; a: FrameSession }) => boolean][] = [
      ['replayed', ({ d, a }) => {
        const tag = d.send.seal(frames[0]!);
        a.receive.check(payloadOf(frames[0]!), tag);
        return a.receive.check(payloadOf(frames[0]!), tag);
      }],
      ['reordered', ({ d, a }) => {
        d.send.seal(frames[0]!);
        return a.receive.check(payloadOf(frames[1]!), d.send.seal(frames[1]!));
      }],
      ['reflected (the other direction)', ({ a }) => a.receive.check(payloadOf(frames[0]!), a.send.seal(frames[0]!))],
      ['from another handshake (another nonce)', ({ a }) => a.receive.check(payloadOf(frames[0]!), sessions(9).d.send.seal(frames[0]!))],
    ];
    for (const [what, run] of cases) expect(run(sessions()), what).toBe(false);
  });

  it('FrameReader takes each tag after its payload, from the frame on which it is switched on, however the stream is cut', () => {
    const { d } = sessions();
    const hello = frameOf(['hello']);
    const tagged = frames.map((f) => Buffer.concat([f, d.send.seal(f)]));
    const stream = Buffer.concat([hello, ...tagged]);
    for (const size of [1, 5, 17, 4096, stream.byteLength]) {
      const reader = new FrameReader(1 << 20);
      const got: { payload: Uint8Array; trailer: Uint8Array | undefined }[] = [];
      reader.add(stream.subarray(0, size));
      for (let at = size; ; at += size) {
        for (let r = reader.next(); r !== undefined; r = reader.next()) {
          if (!r.ok) throw new Error(r.reason);
          got.push({ payload: r.payload, trailer: r.trailer });
          reader.trailerBytes = frameTagBytes; // as a connection does once its handshake ends
        }
        if (at >= stream.byteLength) break;
        reader.add(stream.subarray(at, at + size));
      }
      expect(got.map((g) => g.payload)).toEqual([hello, ...frames].map((f) => Uint8Array.from(payloadOf(f))));
      expect(got[0]!.trailer).toBeUndefined();
      expect(got.slice(1).map((g) => g.trailer)).toEqual(tagged.map((t) => Uint8Array.from(t.subarray(t.byteLength - frameTagBytes))));
    }
    const cut = new FrameReader(1 << 20);
    cut.trailerBytes = frameTagBytes;
    cut.add(tagged[0]!.subarray(0, tagged[0]!.byteLength - 3));
    expect(cut.next()).toBeUndefined();
    expect(cut.endReason()).toBe(`truncated frame: the connection ended 13 bytes into the 16-byte tag of a frame of ${frames[0]!.byteLength - 4} bytes`);
  });
});

describe('the handshake under TLS', () => {
  const binding = (fill: number) => new Uint8Array(32).fill(fill);

  it('over one TLS session (one binding) admits both ends, with no frame keys: TLS protects the frames', () => {
    const { dialer, acceptor } = handshake({ dialerBinding: binding(5), acceptorBinding: binding(5) });
    expect(dialer).toMatchObject({ ok: true, peer: 'b', session: undefined });
    expect(acceptor).toMatchObject({ ok: true, peer: 'a', session: undefined });
  });

  it('across two TLS sessions (a relay that terminates TLS towards each end) the dialer refuses the relayed proof', () => {
    const { dialer, acceptor } = handshake({ dialerBinding: binding(5), acceptorBinding: binding(6) });
    expect(dialer).toEqual({ ok: false, reason: 'the peer does not know the cluster secret (bad proof, or not over the same TLS session)' });
    expect(acceptor).toEqual({ ok: false, reason: 'refused by the peer: authentication failed' });
  });
});
