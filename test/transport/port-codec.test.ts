/**
 * The port codec against the reference it stands in for, structured clone: whatever batch it encodes
 * reads back as structured clone would give it, through a sequence of batches on one link (the string
 * table), and it refuses (the link then clones) whatever it cannot give back exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EchoRegistry, PortDecoder, PortEncoder } from '../../src/transport/port-codec.js';
import { portCodecBatchBytesMax, portCodecEchoBytesMax, portCodecEchoEntriesMax, portCodecSharedBytesMax, portCodecStringsMax } from '../../src/limits.js';

/** Plain data as actor messages hold it; every value here must be encoded. */
const plain = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, true, false, 0, -0, Number.NaN, Number.POSITIVE_INFINITY, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1),
    fc.integer(),
    fc.double(),
    fc.bigInt(),
    fc.string({ unit: 'grapheme' }),
    fc.constantFrom('type', 'commit', 'b1', 'replicator', 'é', '日本', '🙂'),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('type', 'id', '0', '7', 'constructor')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/**
 * A value spelled out so that plain equality sees everything structured clone keeps: -0, undefined
 * against absent, key order, prototypes, byte arrays by type and content (an own key `constructor` would
 * confuse a matcher's type check, so none is used).
 */
function spelled(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value], exactType: Object.getPrototypeOf(value) === Uint8Array.prototype };
  if (Array.isArray(value)) return { array: value.map(spelled), length: value.length };
  if (typeof value === 'object' && value !== null) return { object: Object.entries(value).map(([k, v]) => [k, spelled(v)]), plain: Object.getPrototypeOf(value) === Object.prototype };
  if (typeof value === 'number') return { number: Object.is(value, -0) ? '-0' : String(value) };
  return { [typeof value]: String(value) };
}

function roundTrip(encoder: PortEncoder, decoder: PortDecoder, batch: unknown[]): unknown[] | undefined {
  const bytes = encoder.encode(batch);
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

describe('port codec', () => {
  it('reads back every batch of plain data as structured clone would, batch after batch on one link', () => {
    fc.assert(fc.property(fc.array(fc.array(plain, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), (batches) => {
      const encoder = new PortEncoder();
      const decoder = new PortDecoder();
      for (const batch of batches) {
        const decoded = roundTrip(encoder, decoder, batch);
        expect(decoded).toBeDefined();
        expect(spelled(decoded)).toEqual(spelled(structuredClone(batch)));
      }
    }));
  });

  it('refuses what it cannot give back exactly, and a refused batch leaves the link in step', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const refused: unknown[] = [
      new Map([[1, 2]]), new Set([1]), new Date(5), new Point(1), new Int32Array(2), new Uint8Array(new SharedArrayBuffer(4)),
      new ArrayBuffer(4), new Error('x'), cyclic, JSON.parse('{"__proto__": 1}'), 'lone \ud800 surrogate', () => 1, Symbol('s'),
    ];
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    for (const [i, value] of refused.entries()) {
      // New strings ahead of the refused value must not enter the table at one end only.
      expect(encoder.encode([{ [`fresh${i}`]: `new${i}`, deep: [value] }])).toBeUndefined();
      const next = [{ [`fresh${i}`]: `new${i}`, after: i }];
      expect(roundTrip(encoder, decoder, next)).toStrictEqual(next);
    }
  });

  it('leaves the link in step when reading a value throws mid-batch (a getter), as it does after a refusal', () => {
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    const failing = { typeA: 1, get boom(): number { throw new Error('getter'); } };
    expect(() => encoder.encode([{ type: 'first', key1: 1 }, failing])).toThrow('getter'); // structured clone throws it too
    const next = [{ typeA: 'x', key1: 2 }];
    expect(roundTrip(encoder, decoder, next)).toStrictEqual(next);
  });

  it('refuses a batch larger than portCodecBatchBytesMax (a state image): it goes by structured clone, and the link stays in step', () => {
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    const frames = Array.from({ length: 5 }, () => new Uint8Array(portCodecBatchBytesMax / 4));
    expect(encoder.encode([{ type: 'imageTaken', index: 9, frames }])).toBeUndefined();
    const next = [{ type: 'imageTaken', index: 10, frames: [new Uint8Array([1, 2])] }];
    expect(spelled(roundTrip(encoder, decoder, next))).toStrictEqual(spelled(next));
  });

  it('sends a string the receiver has seen as a number, once the table has it', () => {
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    const batch = [{ type: 'replicatorAppendEntries', node: 'n1' }];
    const first = encoder.encode(batch)!;
    decoder.decode(first);
    const second = encoder.encode(batch)!;
    expect(second.length).toBeLessThan(first.length - 20);
    expect(decoder.decode(second)).toStrictEqual(batch);
  });

  it('keeps working once the string table is full', () => {
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    for (let i = 0; i < portCodecStringsMax + 10; i += 100) {
      const batch = Array.from({ length: 100 }, (_, j) => ({ [`k${i + j}`]: `v${i + j}` }));
      expect(roundTrip(encoder, decoder, batch)).toStrictEqual(batch);
    }
  });

  it('hands out views of a small batch, and copies out of a large one so that no small array pins it', () => {
    const encoder = new PortEncoder();
    const decoder = new PortDecoder();
    const small = roundTrip(encoder, decoder, [new Uint8Array([1, 2, 3]), new Uint8Array([4])]) as Uint8Array[];
    expect(small[0]!.buffer).toBe(small[1]!.buffer);
    const large = roundTrip(encoder, decoder, [new Uint8Array(portCodecSharedBytesMax + 1), new Uint8Array([4])]) as Uint8Array[];
    expect(large[1]!.buffer.byteLength).toBe(1);
    expect(large[0]!.length).toBe(portCodecSharedBytesMax + 1);
  });

  describe('echoes', () => {
    /** main -> worker -> worker -> main, as a change-set goes from the application through a node's actors and back. */
    function throughWorkers(echoes: EchoRegistry, batch: unknown[], change?: (item: unknown) => void): unknown[] {
      const atWorker = new PortDecoder().decode(new PortEncoder(echoes).encode(batch)!);
      change?.(atWorker[0]);
      const atNextWorker = new PortDecoder().decode(new PortEncoder().encode(atWorker)!);
      return new PortDecoder(echoes).decode(new PortEncoder().encode(atNextWorker)!);
    }

    it('hands the main thread back the very byte array it sent, with what hangs on it', () => {
      const echoes = new EchoRegistry();
      const bytes = Object.assign(new Uint8Array([1, 2, 3]), { decoded: 'kept' });
      const [back] = throughWorkers(echoes, [{ payload: { changeSet: bytes } }]) as [{ payload: { changeSet: Uint8Array } }];
      expect(back.payload.changeSet).toBe(bytes);
    });

    it('gives a copy when the bytes came back changed, or were sent too long ago, or are too large to keep', () => {
      const echoes = new EchoRegistry();
      const changed = new Uint8Array([1, 2, 3]);
      const [back] = throughWorkers(echoes, [changed], (item) => void ((item as Uint8Array)[0] = 9)) as [Uint8Array];
      expect(back).not.toBe(changed);
      expect([...back]).toEqual([9, 2, 3]);

      const old = new Uint8Array([4, 5]);
      const encoder = new PortEncoder(echoes);
      const atWorker = new PortDecoder().decode(encoder.encode([old])!);
      const since = Array.from({ length: portCodecEchoEntriesMax }, () => new Uint8Array([4, 5])); // the same bytes, other arrays
      for (const array of since) encoder.encode([array]);
      const [late] = new PortDecoder(echoes).decode(new PortEncoder().encode(atWorker)!) as [Uint8Array];
      expect([old, ...since].some((array) => array === late)).toBe(false);
      expect([...late]).toEqual([4, 5]);

      const large = new Uint8Array(portCodecEchoBytesMax + 1).fill(3);
      const [copy] = throughWorkers(echoes, [large]) as [Uint8Array];
      expect(copy).not.toBe(large);
      expect(copy).toEqual(large);
    });

    it('sends a byte array that cannot take an echo number as a copy', () => {
      const fixed = Object.preventExtensions(new Uint8Array([1, 2]));
      const [back] = throughWorkers(new EchoRegistry(), [fixed]) as [Uint8Array];
      expect(back).not.toBe(fixed);
      expect([...back]).toEqual([1, 2]);
    });

    it('never hands back an array to a thread that keeps no registry (a worker)', () => {
      const bytes = new Uint8Array([7]);
      const decoded = new PortDecoder().decode(new PortEncoder(new EchoRegistry()).encode([bytes])!) as [Uint8Array];
      expect(decoded[0]).not.toBe(bytes);
      expect([...decoded[0]]).toEqual([7]);
    });
  });
});
