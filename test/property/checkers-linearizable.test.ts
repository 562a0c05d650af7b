/**
 * Properties of the register linearizability checker:
 * - histories made by clients running against a sequential register, with random concurrency and
 *   unknown outcomes, are linearizable by construction: the checker must say ok;
 * - the same histories with a provable violation planted (a read of a value nobody wrote; a read of
 *   the initial value after an acknowledged write) must be rejected, naming the key;
 * - on small random histories, right or wrong, it agrees with a brute-force search over every order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../simulate/checkers/index.js';
import type { History, HistoryEvent, Operation } from '../../simulate/history.js';
import { HistoryRecorder, pairHistory } from '../../simulate/history.js';
import { Rng } from '../../simulate/rng.js';
import { registerReference, runConcurrently } from '../simulate/checkers/generators.js';

const keys = ['x', 'y', 'z'];
const shape = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  processes: fc.integer({ min: 1, max: 6 }),
  operations: fc.integer({ min: 1, max: 120 }),
  infoRate: fc.constantFrom(0, 0.05, 0.2),
  failRate: fc.constantFrom(0, 0.1),
});

function generate(s: { seed: number; processes: number; operations: number; infoRate: number; failRate: number }): History {
  return runConcurrently(s.seed, registerReference(keys.slice(0, 1 + (s.seed % 3))), s);
}

describe('checkLinearizable (property)', () => {
  it('accepts every history of a sequential register run concurrently', () => {
    fc.assert(
      fc.property(shape, (s) => {
        expect(checkLinearizable(generate(s)).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects the history once one ok read returns a value nobody wrote', () => {
    fc.assert(
      fc.property(shape, fc.nat(), (s, pick) => {
        const history = generate(s);
        const reads = history.flatMap((e, i) => (e.f === 'read' && e.type === 'ok' ? [i] : []));
        fc.pre(reads.length > 0);
        const at = reads[pick % reads.length] as number;
        const mutated = history.map((e, i) => (i === at ? { ...e, value: -1 } : e));
        expect(checkLinearizable(mutated)).toMatchObject({ ok: false, key: history[at]?.key });
      }),
      { numRuns: 200 },
    );
  });

  it('rejects a read of the initial value after an acknowledged write, appended to any history', () => {
    fc.assert(
      fc.property(shape, (s) => {
        const history = generate(s);
        const t = history.at(-1)?.time ?? 0;
        const p = 100; // a process no generated client uses
        const tail: HistoryEvent[] = [
          { process: p, type: 'invoke', f: 'write', key: 'x', value: 1e9, time: t },
          { process: p, type: 'ok', f: 'write', key: 'x', value: 1e9, time: t + 1 },
          { process: p, type: 'invoke', f: 'read', key: 'x', value: null, time: t + 2 },
          { process: p, type: 'ok', f: 'read', key: 'x', value: null, time: t + 3 },
        ];
        expect(checkLinearizable([...history, ...tail])).toMatchObject({ ok: false, key: 'x' });
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with a brute-force search on small random histories', () => {
    let rejected = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 7 }), (seed, count) => {
        const history = randomHistory(seed, count);
        const expected = bruteForce(history);
        if (!expected) rejected++;
        expect(checkLinearizable(history).ok).toBe(expected);
      }),
      { numRuns: 600 },
    );
    expect(rejected).toBeGreaterThan(50); // the comparison covered both verdicts
  });
});

/** Up to `count` operations by three clients on one key, with random (often wrong) results. */
function randomHistory(seed: number, count: number): History {
  const rng = new Rng(seed);
  const recorder = new HistoryRecorder();
  const open = new Map<number, { handle: ReturnType<HistoryRecorder['invoke']>; f: string }>();
  const small = (): number | null => (rng.chance(0.2) ? null : rng.int(3));
  let invoked = 0;
  for (let time = 0; invoked < count || open.size > 0; time++) {
    const process = rng.int(3);
    const current = open.get(process);
    if (current === undefined) {
      if (invoked === count) continue;
      const f = (['read', 'write', 'cas'] as const)[rng.int(3)] ?? 'read';
      const value = f === 'read' ? null : f === 'write' ? rng.int(3) : [small(), rng.int(3)];
      open.set(process, { handle: recorder.invoke({ process, f, key: 'x', value, time }), f });
      invoked++;
      continue;
    }
    const roll = rng.next();
    if (roll < 0.15) recorder.info(current.handle, time);
    else if (roll < 0.25) recorder.fail(current.handle, time);
    else recorder.ok(current.handle, time, current.f === 'read' ? small() : undefined);
    open.delete(process);
  }
  return recorder.events;
}

/** Tries every order of the operations that respects real time; info writes may also be left out. */
function bruteForce(history: History): boolean {
  const paired = pairHistory(history);
  if (!paired.ok) throw new Error(paired.reason);
  const ops = paired.operations.filter((op) => op.type === 'ok' || (op.type === 'info' && op.f !== 'read'));
  const done = new Set<Operation>();
  const end = (op: Operation): number => (op.type === 'ok' ? (op.completeIndex ?? Infinity) : Infinity);
  const search = (state: unknown): boolean => {
    if (ops.every((op) => op.type !== 'ok' || done.has(op))) return true;
    for (const op of ops) {
      if (done.has(op)) continue;
      if (ops.some((other) => !done.has(other) && other !== op && end(other) < op.invokeIndex)) continue;
      let next: unknown;
      if (op.f === 'write') next = op.invokeValue;
      else if (op.f === 'read') next = op.value === state ? state : undefined;
      else {
        const [expected, value] = op.invokeValue as [unknown, unknown];
        next = expected === state ? value : undefined;
      }
      if (next === undefined) continue;
      done.add(op);
      const found = search(next);
      done.delete(op);
      if (found) return true;
    }
    return false;
  };
  return search(null);
}
