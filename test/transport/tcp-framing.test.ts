/**
 * The TCP transport's edge, without sockets: frames reassemble from any chunking, bad streams are
 * named, decoded bytes are typed by the guard or rejected with a reason, and the handshake admits only
 * a peer that knows the secret, the cluster and its own name.
 */
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FrameCodec, FrameReader } from '../../src/transport/tcp/framing.js';
import type { Step } from '../../src/transport/tcp/handshake.js';
import { AcceptorHandshake, DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import type { Message } from '../../src/runtime/actor.js';
import type { WireFrame } from '../../src/transport/tcp/protocol.js';
import { PROTOCOL_VERSION, frameToWire, parseFrame } from '../../src/transport/tcp/protocol.js';

const codec = new FrameCodec(1 << 20);

function frameOf(value: unknown): Uint8Array {
  const encoded = codec.encode(value, 1 << 20);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

describe('FrameReader', () => {
  const values = [{ type: 'a', n: 1 }, 'x'.repeat(300), [1, 2, 3], { type: 'b', bytes: new Uint8Array(20_000).fill(7) }];
  const stream = concat(values.map(frameOf));

  it('gives back every frame, in order, however the stream is cut', () => {
    for (const size of [1, 2, 3, 5, 7, 64, 4096, stream.byteLength]) {
      const reader = new FrameReader(1 << 20);
      const decoded: unknown[] = [];
      for (let at = 0; at < stream.byteLength; at += size) {
        for (const result of reader.push(stream.subarray(at, at + size))) {
          expect(result.ok).toBe(true);
          if (result.ok) decoded.push((codec.decode(result.payload) as { value: unknown }).value);
        }
      }
      expect(decoded).toEqual(values);
      expect(reader.endReason()).toBeUndefined();
    }
  });

  it('reports an oversized length from the header alone, before any payload arrives', () => {
    const reader = new FrameReader(1024);
    const results = reader.push(new Uint8Array([0x00, 0x00, 0x04, 0x01]));
    expect(results).toEqual([{ ok: false, reason: 'frame of 1025 bytes exceeds the bound of 1024 bytes' }]);
    expect(reader.bufferedBytes).toBe(0);
    expect(reader.push(new Uint8Array(10))).toEqual([]); // the stream is done for
  });

  it('refuses an empty frame', () => {
    expect(new FrameReader(1024).push(new Uint8Array(4))).toEqual([{ ok: false, reason: 'empty frame (length 0)' }]);
  });

  it('names a truncated frame when the stream ends inside it', () => {
    const frame = frameOf({ type: 'x', pad: 'y'.repeat(100) });
    const inPayload = new FrameReader(1024);
    inPayload.push(frame.subarray(0, 20));
    expect(inPayload.endReason()).toBe(`truncated frame: the connection ended 16 bytes into a frame of ${frame.byteLength - FRAME_HEADER_BYTES} bytes`);
    const inHeader = new FrameReader(1024);
    inHeader.push(frame.subarray(0, 2));
    expect(inHeader.endReason()).toBe('truncated frame: the connection ended inside a length prefix (2 of 4 bytes)');
  });

  it('hands out each payload as its own copy', () => {
    const chunk = frameOf({ type: 'x', bytes: new Uint8Array([1, 2, 3]) });
    const [result] = new FrameReader(1024).push(chunk);
    if (!result?.ok) throw new Error('expected a frame');
    chunk.fill(0);
    expect(codec.decode(result.payload)).toEqual({ ok: true, value: { type: 'x', bytes: new Uint8Array([1, 2, 3]) } });
  });
});

describe('FrameCodec', () => {
  it('keeps bigint, large safe integers and bytes; drops undefined keys', () => {
    const value = { big: -(2n ** 63n), max: 2n ** 64n - 1n, ms: 1_763_000_000_000, bytes: new Uint8Array([9]), gone: undefined };
    const frame = frameOf(value);
    expect(codec.decode(frame.subarray(FRAME_HEADER_BYTES))).toEqual({ ok: true, value: { big: -(2n ** 63n), max: 2n ** 64n - 1n, ms: 1_763_000_000_000, bytes: new Uint8Array([9]) } });
  });

  it('says why a value cannot be sent instead of throwing', () => {
    expect(codec.encode({ big: 2n ** 70n }, 1024)).toMatchObject({ ok: false, reason: expect.stringMatching(/^not encodable as msgpack: bigint 1180591620717411303424 does not fit in 64 bits/) });
    expect(codec.encode({ big: -(2n ** 63n) - 1n }, 1024)).toMatchObject({ ok: false });
    expect(codec.encode({ f: () => 1 }, 1024)).toMatchObject({ ok: false });
    expect(codec.encode({ s: 'z'.repeat(2000) }, 1024)).toMatchObject({ ok: false, reason: expect.stringMatching(/exceeds frameBytesMax \(1024\)/) });
  });

  it('says why bytes cannot be read instead of throwing', () => {
    expect(codec.decode(new Uint8Array([0xc1]))).toMatchObject({ ok: false, reason: expect.stringMatching(/^undecodable msgpack/) });
    expect(codec.decode(new Uint8Array([0x92, 0x01]))).toMatchObject({ ok: false });
    expect(codec.decode(new Uint8Array([0x01, 0x02]))).toMatchObject({ ok: false }); // trailing bytes
    expect(codec.decode(encode({ ['__proto__']: 1 }))).toMatchObject({ ok: false });
  });
});

describe('parseFrame', () => {
  const nonce = new Uint8Array(32).fill(1);
  const proof = new Uint8Array(32).fill(2);
  const frames: WireFrame[] = [
    { type: 'hello', cluster: 'c', from: 'a', to: 'b', nonce, frameBytesMax: 65536 },
    { type: 'challenge', from: 'b', nonce, proof, frameBytesMax: 0 },
    { type: 'proof', proof },
    { type: 'welcome' },
    { type: 'refuse', reason: 'because' },
    { type: 'msg', from: 'x', to: 'y', body: { type: 'ping', seq: 1 } as Message },
  ];

  it('accepts every frame it writes', () => {
    for (const frame of frames) {
      const bytes = frameOf(frameToWire(frame)).subarray(FRAME_HEADER_BYTES);
      expect(parseFrame((codec.decode(bytes) as { value: unknown }).value)).toEqual(frame);
    }
  });

  it.each([
    [{ type: 'hello' }, 'frame is not an array of [version, type, ...]'],
    // Version 2 (before log entries travelled as their kept bytes): a node of that version is refused, not misread.
    [[2, 'hello'], `unsupported protocol version 2 (this node speaks ${PROTOCOL_VERSION})`],
    [['3', 'welcome'], `unsupported protocol version "3" (this node speaks ${PROTOCOL_VERSION})`],
    [[PROTOCOL_VERSION, 'launch'], 'unknown frame type "launch"'],
    [[PROTOCOL_VERSION, 'welcome', 'extra'], 'welcome: expected 2 elements, got 3'],
    [[PROTOCOL_VERSION, 'hello', 'c', 'a', 'b', new Uint8Array(31), 0], 'nonce must be 32 bytes'],
    [[PROTOCOL_VERSION, 'hello', 'c', '', 'b', nonce, 0], 'from must be a string of 1 to 256 characters'],
    [[PROTOCOL_VERSION, 'hello', 'c', 'a', 'b', nonce, -1], 'frameBytesMax must be a non-negative integer'],
    [[PROTOCOL_VERSION, 'proof', 'not bytes'], 'proof must be 32 bytes'],
    [[PROTOCOL_VERSION, 'msg', 'x', 'y', [1]], 'msg: body is not a message object'],
    [[PROTOCOL_VERSION, 'msg', 'x', 'y', { kind: 'no type' }], 'msg: body has no string type'],
    [[PROTOCOL_VERSION, 'msg', 'x', 'y', null], 'msg: body is not a message object'],
  ])('rejects %j: %s', (value, reason) => {
    expect(parseFrame(value)).toEqual({ type: 'rejected', reason });
  });
});

describe('handshake', () => {
  const secret = new TextEncoder().encode('sixteen+ bytes of secret');
  const nonceA = new Uint8Array(32).fill(0xa);
  const nonceB = new Uint8Array(32).fill(0xb);

  /** Runs a dialer against an acceptor until both have an outcome (or nothing is left to send). */
  function run(dialer: DialerHandshake, acceptor: AcceptorHandshake) {
    let toAcceptor = [...dialer.start().send];
    let dialerOutcome: Step['outcome'];
    let acceptorOutcome: Step['outcome'];
    const wire: string[] = [];
    while (toAcceptor.length > 0) {
      const toDialer: WireFrame[] = [];
      for (const frame of toAcceptor) {
        wire.push(`d>a ${frame.type}`);
        const step = acceptor.step(frame);
        toDialer.push(...step.send);
        acceptorOutcome ??= step.outcome;
      }
      toAcceptor = [];
      for (const frame of toDialer) {
        wire.push(`a>d ${frame.type}`);
        const step = dialer.step(frame);
        toAcceptor.push(...step.send);
        dialerOutcome ??= step.outcome;
      }
    }
    return { dialer: dialerOutcome, acceptor: acceptorOutcome, wire };
  }

  const dialer = (options: { secret?: Uint8Array; cluster?: string; self?: string; peer?: string; frameBytesMax?: number } = {}) =>
    new DialerHandshake({ self: options.self ?? 'a', cluster: options.cluster ?? 'c', prover: makeProver(options.secret ?? secret), nonce: nonceA, frameBytesMax: options.frameBytesMax ?? 65536, credential: 'cluster secret' }, options.peer ?? 'b');
  const acceptor = (options: { secret?: Uint8Array; frameBytesMax?: number } = {}) =>
    new AcceptorHandshake({ self: 'b', cluster: 'c', prover: makeProver(options.secret ?? secret), nonce: nonceB, frameBytesMax: options.frameBytesMax ?? 65536, credential: 'cluster secret' }, (node) => node === 'a');

  it('refuses a peer node with another frameBytesMax, naming both, whichever end is smaller', () => {
    // Nodes fill appends and accept writes up to their own bound: a peer with a smaller one could never take them.
    expect(run(dialer({ frameBytesMax: 65536 }), acceptor({ frameBytesMax: 1 << 24 }))).toMatchObject({
      acceptor: { ok: false, reason: 'node "a" has tcp.frameBytesMax 65536, this node 16777216: every node of a cluster must have the same' },
      dialer: { ok: false, reason: 'refused by the peer: frameBytesMax mismatch' },
    });
  });

  it('admits a peer that knows the secret, both ways, in four frames', () => {
    const result = run(dialer(), acceptor());
    expect(result).toMatchObject({
      dialer: { ok: true, peer: 'b', frameBytesMax: 65536 }, acceptor: { ok: true, peer: 'a', frameBytesMax: 65536 },
      wire: ['d>a hello', 'a>d challenge', 'd>a proof', 'a>d welcome'],
    });
    // Over plain TCP both ends come out with frame keys (tcp-frame-mac.test.ts: they pair up).
    expect(result.dialer?.ok === true && result.dialer.session !== undefined).toBe(true);
  });

  it('a dialer with the wrong secret is refused by the acceptor', () => {
    const result = run(dialer({ secret: new TextEncoder().encode('another secret of 16+') }), acceptor());
    // The dialer finds out first: the acceptor's proof does not check against its secret.
    expect(result.dialer).toEqual({ ok: false, reason: 'the peer does not know the cluster secret (bad proof)' });
    expect(result.acceptor).toEqual({ ok: false, reason: 'refused by the peer: authentication failed' });
  });

  it('an acceptor never admits a proof made for another role or nonce (no reflection, no replay)', () => {
    const prover = makeProver(secret);
    const b = acceptor();
    const challenge = b.step({ type: 'hello', cluster: 'c', from: 'a', to: 'b', nonce: nonceA, frameBytesMax: 65536 }).send[0] as { proof: Uint8Array };
    // Send the acceptor's own proof back, then a dialer proof over a stale nonce.
    expect(b.step({ type: 'proof', proof: challenge.proof }).outcome).toEqual({ ok: false, reason: 'node "a" does not know the cluster secret (bad proof)' });
    const b2 = acceptor();
    b2.step({ type: 'hello', cluster: 'c', from: 'a', to: 'b', nonce: nonceA, frameBytesMax: 65536 });
    const stale = prover.prove('dialer', { cluster: 'c', dialer: 'a', acceptor: 'b', dialerNonce: nonceA, acceptorNonce: new Uint8Array(32), binding: new Uint8Array(0) });
    expect(b2.step({ type: 'proof', proof: stale }).outcome?.ok).toBe(false);
  });

  it.each([
    ['another cluster', { cluster: 'other' }, 'node "a" is in cluster "other", not "c"', 'cluster name mismatch'],
    ['an unknown node', { self: 'z' }, 'node "z" is not a configured peer', 'unknown node'],
    ['the wrong address (it dialed someone else)', { peer: 'q' }, 'node "a" dialed node "q", but this is "b"', 'wrong node'],
  ])('refuses %s, telling the dialer only what it needs', (_what, options, acceptorReason, told) => {
    const result = run(dialer(options), acceptor());
    expect(result.acceptor).toEqual({ ok: false, reason: acceptorReason });
    expect(result.dialer).toEqual({ ok: false, reason: `refused by the peer: ${told}` });
  });

  it('refuses frames out of order', () => {
    expect(acceptor().step({ type: 'proof', proof: new Uint8Array(32) }).outcome).toEqual({ ok: false, reason: 'unexpected proof frame during the handshake' });
    const d = dialer();
    d.start();
    expect(d.step({ type: 'welcome' }).outcome).toEqual({ ok: false, reason: 'unexpected welcome frame during the handshake' });
  });
});
