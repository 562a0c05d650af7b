/**
 * What binds the frames after the handshake to it, without sockets: the frame keys both ends derive
 * pair up (what one seals the other checks, in order, one direction each), and any frame altered or
 * injected, any run replayed, reordered or dropped before another, or sealed under another handshake
 * fails, with nothing of the failed run handed on; under TLS
 * the proofs cover the session's binding, so two TLS sessions (a man in the middle) cannot be joined.
 * The same over sockets, with a relay on the path: tcp-relay.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FrameCodec, FrameReader } from '../../src/transport/tcp/framing.js';
import type { Admitted, Step } from '../../src/transport/tcp/handshake.js';
import { AcceptorHandshake, DialerHandshake, makeProver } from '../../src/transport/tcp/handshake.js';
import { RunChecker, RunSealer, frameTagBytes } from '../../src/transport/tcp/frame-mac.js';
import { tcpTagRunBytesMax, tcpTagRunFramesMax } from '../../src/limits.js';
import type { FrameSession } from '../../src/transport/tcp/frame-mac.js';
import type { WireFrame } from '../../src/transport/tcp/protocol.js';

const key = new Uint8Array(32).fill(7);
const codec = new FrameCodec(1 << 20);
const frameOf = (value: unknown): Uint8Array => {
  const encoded = codec.encode(value, 1 << 20);
  if (!encoded.ok) throw new Error(encoded.reason);
  return encoded.payload;
};

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

describe('tagged runs after a plain-TCP handshake', () => {
  const frames = [frameOf(['m', 1]), frameOf(['m', 'x'.repeat(5000)]), frameOf(['m', 3])];

  /** `runs` sealed by one end, then read by the other: what it hands on, or why it refused (and what it handed on before). */
  function deliver(from: FrameSession, to: FrameSession, runs: readonly (readonly Uint8Array[])[], tamper?: (records: Uint8Array[][]) => Uint8Array[][]) {
    const sealer = new RunSealer(from.send);
    let sent = runs.map((run) => {
      const out = run.flatMap((f) => [sealer.add(f), f].filter((b): b is Uint8Array => b !== undefined));
      return [...out, sealer.end()!];
    });
    sent = tamper?.(sent) ?? sent;
    const reader = new FrameReader(1 << 20);
    reader.tagBytes = frameTagBytes;
    reader.add(Buffer.concat(sent.flat()));
    const checker = new RunChecker(to.receive);
    const handed: unknown[] = [];
    for (let r = reader.next(); r !== undefined; r = reader.next()) {
      if (!r.ok) return { handed, refused: r.reason };
      if ('tag' in r) {
        const run = checker.end(r.tag);
        if (!run.ok) return { handed, refused: run.reason };
        handed.push(...run.payloads.map((p) => (codec.decode(p) as { value: unknown }).value));
      } else {
        const refused = checker.add(r.frame, r.payload);
        if (refused !== undefined) return { handed, refused };
      }
    }
    return { handed, refused: undefined };
  }
  const values = [['m', 1], ['m', 'x'.repeat(5000)], ['m', 3]];
  const failed = /^run \d+ \(\d+ frames?\) after the handshake failed its authentication/;

  it('what one end seals, the other checks and hands on, in order, each way, in runs of one frame or several', () => {
    const { d, a } = sessions();
    expect(deliver(d, a, [[frames[0]!], [frames[1]!, frames[2]!]])).toEqual({ handed: values, refused: undefined });
    expect(deliver(a, d, [[frames[0]!, frames[1]!, frames[2]!]])).toEqual({ handed: values, refused: undefined });
  });

  it('a run past tcpTagRunBytesMax or tcpTagRunFramesMax is split by its sender, and refused from one that did not', () => {
    const { d, a } = sessions();
    const many = Array.from({ length: tcpTagRunFramesMax + 5 }, (_, i) => frameOf(['m', i]));
    const big = Array.from({ length: 20 }, () => frames[1]!); // 20 x 5 KiB > 64 KiB
    expect(deliver(d, a, [many, big]).handed).toHaveLength(many.length + big.length);
    // An end that puts them all under one tag is refused before it has held more than the bound.
    const reader = new FrameReader(1 << 20);
    reader.tagBytes = frameTagBytes;
    reader.add(Buffer.concat(big));
    const checker = new RunChecker(sessions().a.receive);
    const refusals = [];
    for (let r = reader.next(); r !== undefined; r = reader.next()) if (r.ok && !('tag' in r)) refusals.push(checker.add(r.frame, r.payload));
    expect(refusals.findIndex((x) => x !== undefined)).toBe(Math.floor(tcpTagRunBytesMax / big[0]!.byteLength));
    expect(refusals.find((x) => x !== undefined)).toBe(`more than ${tcpTagRunFramesMax} frames or ${tcpTagRunBytesMax} bytes without a tag (tcpTagRunFramesMax, tcpTagRunBytesMax)`);
  });

  it('a frame altered in any byte, its length included, or a tag altered, fails its run, and nothing of that run is handed on', () => {
    for (const at of [3, 4, 100, frames[1]!.byteLength - 1]) {
      const { d, a } = sessions();
      const result = deliver(d, a, [[frames[0]!], [frames[1]!, frames[2]!]], (runs) => {
        const copy = Uint8Array.from(runs[1]![0]!);
        copy[at]! ^= 0x01;
        return [runs[0]!, [copy, ...runs[1]!.slice(1)]];
      });
      expect(result.handed).toEqual([values[0]]);
      // A length altered moves every boundary after it: the run never reaches a tag that checks.
      if (at >= 4) expect(result.refused).toMatch(failed);
    }
    const { d, a } = sessions();
    const tagAltered = deliver(d, a, [[frames[0]!]], (runs) => {
      const record = Uint8Array.from(runs[0]![1]!);
      record[19]! ^= 0x80;
      return [[runs[0]![0]!, record]];
    });
    expect(tagAltered).toMatchObject({ handed: [], refused: expect.stringMatching(failed) });
  });

  it('a frame injected, or a run replayed, reordered or dropped before another, fails; so does a tag of the other direction or another handshake', () => {
    const cases: [string, (runs: Uint8Array[][]) => Uint8Array[][], unknown[]][] = [
      ['injected into a run', (runs) => [[frames[2]!, ...runs[0]!], ...runs.slice(1)], []],
      ['a run replayed', (runs) => [runs[0]!, runs[0]!, runs[1]!], [values[0]]],
      ['runs reordered', (runs) => [runs[1]!, runs[0]!], []],
      ['a run dropped', (runs) => [runs[1]!], []],
    ];
    for (const [what, tamper, handed] of cases) {
      const { d, a } = sessions();
      expect(deliver(d, a, [[frames[0]!], [frames[2]!]], tamper), what).toEqual({ handed, refused: expect.stringMatching(failed) });
    }
    const { a } = sessions();
    expect(deliver(a, a, [[frames[0]!]]).refused, 'reflected (the other direction)').toMatch(failed);
    expect(deliver(sessions(9).d, a, [[frames[0]!]]).refused, 'another handshake (another nonce)').toMatch(failed);
  });

  it('FrameReader reads tag records only once told to, from the very next frame, however the stream is cut', () => {
    const { d } = sessions();
    const hello = frameOf(['hello']);
    const sealer = new RunSealer(d.send);
    for (const f of frames) sealer.add(f);
    const record = sealer.end()!;
    const stream = Buffer.concat([hello, ...frames, record]);
    for (const size of [1, 5, 17, 4096, stream.byteLength]) {
      const reader = new FrameReader(1 << 20);
      const got: unknown[] = [];
      for (let at = 0; at < stream.byteLength; at += size) {
        reader.add(stream.subarray(at, at + size));
        for (let r = reader.next(); r !== undefined; r = reader.next()) {
          if (!r.ok) throw new Error(r.reason);
          got.push('tag' in r ? r.tag : r.payload);
          reader.tagBytes = frameTagBytes; // as a connection does once its handshake ends
        }
      }
      expect(got).toEqual([...[hello, ...frames].map((f) => Uint8Array.from(f.subarray(4))), Uint8Array.from(record.subarray(4))]);
    }
    expect(new FrameReader(1 << 20).push(record.subarray(0, 4))).toEqual([{ ok: false, reason: 'empty frame (length 0)' }]);
    const cut = new FrameReader(1 << 20);
    cut.tagBytes = frameTagBytes;
    cut.add(record.subarray(0, 10));
    expect(cut.next()).toBeUndefined();
    expect(cut.endReason()).toBe('truncated tag record: the connection ended 6 bytes into its 16-byte tag');
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
