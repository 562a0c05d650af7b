import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { frame } from '../../src/store/codec.js';
import type { FrameResult } from '../../src/store/frames.js';
import { FrameReader } from '../../src/store/frames.js';

/** The stream cut at `cuts` (positions, any order, duplicates allowed). */
function chunksOf(stream: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, stream.length]) {
    out.push(stream.slice(from, to)); // a copy: the reader may keep views of what it was given
    from = to;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('FrameReader', () => {
  const payloads = fc.array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ minLength: 300, maxLength: 5000 })), { maxLength: 12 });
  const cuts = fc.array(fc.nat(), { maxLength: 30 });

  test('gives back every frame, in order, at its offset, however the stream is cut and whenever it is drained', () => {
    fc.assert(fc.property(payloads, cuts, fc.array(fc.boolean(), { maxLength: 40 }), (items, at, drains) => {
      const stream = concat(items.map(frame));
      const reader = new FrameReader();
      const got: { payload: number[]; offset: number }[] = [];
      const drain = (): void => {
        for (let r: FrameResult = reader.next(); r.kind !== 'more'; r = reader.next()) {
          expect(r.kind).toBe('frame');
          if (r.kind === 'frame') got.push({ payload: [...r.payload], offset: r.offset });
        }
      };
      chunksOf(stream, at).forEach((chunk, i) => {
        reader.push(chunk);
        if (drains[i] ?? true) drain(); // sometimes push again before reading
      });
      drain();
      let offset = 0;
      const expected = items.map((p) => {
        const out = { payload: [...p], offset };
        offset += p.length + 8;
        return out;
      });
      expect(got).toEqual(expected);
      expect(reader.buffered).toBe(0);
      expect(reader.offset).toBe(stream.length);
    }), { numRuns: 300 });
  });

  test('a flipped byte is reported at its frame; a cut-off stream leaves its tail buffered', () => {
    fc.assert(fc.property(payloads.filter((p) => p.length > 0), cuts, fc.nat(), fc.nat(), (items, at, flipAt, cutAt) => {
      const frames = items.map(frame);
      const stream = concat(frames);
      const starts = frames.map((_, i) => frames.slice(0, i).reduce((n, f) => n + f.length, 0));
      const flip = flipAt % stream.length;
      const bad = stream.slice();
      bad[flip]! ^= 0x10;
      const hit = starts.filter((s) => s <= flip).length - 1;
      const reader = new FrameReader();
      let verdict: FrameResult | undefined;
      for (const chunk of chunksOf(bad, at)) {
        reader.push(chunk);
        for (let r = reader.next(); r.kind !== 'more' && verdict === undefined; r = reader.next()) if (r.kind === 'bad') verdict = r;
        if (verdict !== undefined) break;
      }
      // A flip in a length field may instead claim more bytes than the stream holds: then it is a tail.
      if (verdict === undefined) expect(reader.offset).toBe(starts[hit]);
      else expect(verdict.kind === 'bad' && verdict.offset).toBe(starts[hit]);

      const cut = cutAt % stream.length;
      const tail = new FrameReader();
      for (const chunk of chunksOf(stream.subarray(0, cut), at)) {
        tail.push(chunk);
        while (tail.next().kind === 'frame');
      }
      const whole = starts.filter((s, i) => s + (frames[i] as Uint8Array).length <= cut).length;
      const end = whole === frames.length ? stream.length : (starts[whole] as number);
      expect(tail.offset).toBe(end);
      expect(tail.buffered).toBe(cut - end);
      expect([...tail.rest()]).toEqual([...stream.subarray(end, cut)]);
    }), { numRuns: 300 });
  });

  test('a frame many chunks long comes back whole, between its neighbours', () => {
    const big = new Uint8Array(200_000).map((_, i) => i % 251);
    const stream = concat([frame(Uint8Array.of(1)), frame(big), frame(Uint8Array.of(2))]);
    const reader = new FrameReader();
    const got: number[] = [];
    for (let at = 0; at < stream.length; at += 4096) {
      reader.push(stream.slice(at, at + 4096));
      for (let r = reader.next(); r.kind === 'frame'; r = reader.next()) got.push(r.payload.length);
    }
    expect(got).toEqual([1, 200_000, 1]);
    expect(reader.buffered).toBe(0);
  });
});
