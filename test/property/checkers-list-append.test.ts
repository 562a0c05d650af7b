/**
 * Properties of the list-append and lost-writes checkers on histories of clients appending to and
 * reading lists of a sequential reference with random concurrency: those pass both checkers (against
 * the reference's final lists); a read with an element duplicated or invented, a late read missing an
 * acknowledged element, or a final list missing one, is reported as exactly that anomaly. Registers:
 * the reference's final values pass the lost-writes checker; a final value rolled back to one that an
 * acknowledged write certainly overwrote is reported, whatever info writes the key had.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkListAppend, checkLostWrites } from '../../simulate/checkers/index.js';
import type { History, HistoryEvent } from '../../simulate/history.js';
import { operationsOf } from '../../simulate/history.js';
import { listReference, registerReference, runConcurrently } from '../simulate/checkers/generators.js';

const keys = ['x', 'y'];
const shape = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  processes: fc.integer({ min: 1, max: 6 }),
  operations: fc.integer({ min: 1, max: 150 }),
  infoRate: fc.constantFrom(0, 0.1),
  failRate: fc.constantFrom(0, 0.1),
});
type Shape = { seed: number; processes: number; operations: number; infoRate: number; failRate: number };

function generate(s: Shape): { history: History; lists: ReadonlyMap<string, readonly number[]> } {
  const reference = listReference(keys);
  return { history: runConcurrently(s.seed, reference, s), lists: reference.lists };
}

/** Indexes of ok reads with a non-empty list. */
function nonEmptyReads(history: History): number[] {
  return history.flatMap((e, i) => (e.f === 'read' && e.type === 'ok' && Array.isArray(e.value) && e.value.length > 0 ? [i] : []));
}

describe('checkListAppend (property)', () => {
  it('accepts every history of a sequential list per key run concurrently, and finds nothing lost', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const { history, lists } = generate(s);
        expect(checkListAppend(history)).toMatchObject({ ok: true });
        expect(checkLostWrites(history, lists)).toMatchObject({ ok: true });
      }),
      { numRuns: 200 },
    );
  });

  it('reports a read with an element duplicated, or one nobody appended', () => {
    fc.assert(
      fc.property(shape, fc.nat(), fc.boolean(), (s, pick, duplicate) => {
        const { history } = generate(s);
        const reads = nonEmptyReads(history);
        fc.pre(reads.length > 0);
        const at = reads[pick % reads.length] as number;
        const list = history[at]?.value as number[];
        const element = duplicate ? (list[pick % list.length] as number) : -1;
        const mutated = history.map((e, i) => (i === at ? { ...e, value: [...list, element] } : e));
        const result = checkListAppend(mutated);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        const kind = duplicate ? 'duplicate-element' : 'phantom-element';
        expect(result.anomalies.filter((a) => a.kind === kind).map((a) => 'read' in a && a.read.completeIndex)).toEqual([at]);
      }),
      { numRuns: 200 },
    );
  });

  it('reports an acknowledged element missing from a read made after everything finished, and from the final list', () => {
    fc.assert(
      fc.property(shape, fc.nat(), (s, pick) => {
        const { history, lists } = generate(s);
        const acked = history.filter((e) => e.f === 'append' && e.type === 'ok');
        fc.pre(acked.length > 0);
        const lost = acked[pick % acked.length] as HistoryEvent;
        const key = lost.key as string;
        const without = (lists.get(key) ?? []).filter((element) => element !== lost.value);
        const t = history.at(-1)?.time ?? 0;
        const tail: HistoryEvent[] = [
          { process: 100, type: 'invoke', f: 'read', key, value: null, time: t },
          { process: 100, type: 'ok', f: 'read', key, value: without, time: t },
        ];
        const result = checkListAppend([...history, ...tail]);
        expect(result.ok === false && result.anomalies.filter((a) => a.kind === 'lost-append').map((a) => 'element' in a && a.element)).toEqual([lost.value]);
        const finalLists = new Map(lists);
        finalLists.set(key, without);
        expect(checkLostWrites(history, finalLists)).toMatchObject({ ok: false, anomalies: [{ kind: 'lost-append', key, element: lost.value }] });
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkLostWrites on registers (property)', () => {
  it('accepts the final values of a sequential register run concurrently, and rejects a value nobody wrote', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const reference = registerReference(keys);
        const history = runConcurrently(s.seed, reference, s);
        expect(checkLostWrites(history, reference.values)).toMatchObject({ ok: true });
        const forged = new Map(reference.values);
        forged.set('x', -1);
        expect(checkLostWrites(history, forged)).toMatchObject({ ok: false, anomalies: [{ kind: 'unknown-final-value', key: 'x', finalValue: -1 }] });
      }),
      { numRuns: 200 },
    );
  });

  it('reports a final value rolled back to one an acknowledged write certainly overwrote, info writes or not', () => {
    fc.assert(
      fc.property(shape, fc.nat(), (s, pick) => {
        const history = runConcurrently(s.seed, registerReference(keys), { ...s, infoRate: Math.max(s.infoRate, 0.1) });
        const ops = operationsOf(history, 'test');
        // Every value is written once (fresh), so W1's value is written by W1 alone; W2 began after W1 ended.
        const writes = ops.filter((op) => (op.f === 'write' || op.f === 'cas') && op.type === 'ok');
        const pairs = writes.flatMap((w1) => writes.filter((w2) => w2.key === w1.key && w2.invokeIndex > w1.completeIndex!).map((w2) => [w1, w2] as const));
        fc.pre(pairs.length > 0);
        const [w1] = pairs[pick % pairs.length]!;
        const value = w1.f === 'cas' ? (w1.invokeValue as [unknown, number])[1] : (w1.invokeValue as number);
        const finals = new Map(keys.map((k) => [k, k === w1.key ? value : null] as const));
        const result = checkLostWrites(history, finals);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.anomalies.filter((a) => a.key === w1.key)).toEqual([expect.objectContaining({ kind: 'last-write-lost', finalValue: value })]);
      }),
      { numRuns: 200 },
    );
  });
});
