/**
 * The lost-writes checker against a final state: a register's final value must have been written, the
 * certainly-last acknowledged write must be the final value, and every acknowledged append must be in
 * the final list. Uncertain cases (concurrent or unknown-outcome writes) must not be reported.
 */
import { describe, expect, it } from 'vitest';
import { checkLostWrites } from '../../../simulate/checkers/index.js';
import type { FinalValue } from '../../../simulate/checkers/index.js';
import { transcript } from './generators.js';

const final = (entries: Record<string, FinalValue>): ReadonlyMap<string, FinalValue> => new Map(Object.entries(entries));

const sequential = `
  0 invoke write x 1
  0 ok write x 1
  1 invoke cas x [1,2]
  1 ok cas x [1,2]`;

describe('checkLostWrites: registers', () => {
  it('accepts the certainly-last write as the final value, a cas counting as a write of its new value', () => {
    expect(checkLostWrites(transcript(sequential), final({ x: 2 }))).toEqual({ ok: true, keys: 1 });
  });

  it('reports the certainly-last acknowledged write when the final value is an older one', () => {
    const result = checkLostWrites(transcript(sequential), final({ x: 1 }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.anomalies).toEqual([expect.objectContaining({ kind: 'last-write-lost', key: 'x', finalValue: 1, write: expect.objectContaining({ f: 'cas', process: 1 }) })]);
    expect(result.message).toContain('"x": final value 1, but this acknowledged write came after every write of it: p1 cas "x" [1,2] -> ok [1,2]');
  });

  it('reports a final value nobody wrote, including the initial value after an acknowledged write', () => {
    expect(checkLostWrites(transcript(sequential), final({ x: 7 }))).toMatchObject({ ok: false, anomalies: [{ kind: 'unknown-final-value', finalValue: 7 }] });
    expect(checkLostWrites(transcript(sequential), final({}))).toMatchObject({ ok: false, anomalies: [{ kind: 'unknown-final-value', finalValue: null }] });
  });

  it('accepts either value when the last writes were concurrent', () => {
    const history = transcript(`
      0 invoke write x 1
      1 invoke write x 2
      0 ok write x 1
      1 ok write x 2`);
    expect(checkLostWrites(history, final({ x: 1 })).ok).toBe(true);
    expect(checkLostWrites(history, final({ x: 2 })).ok).toBe(true);
  });

  it('accepts an older value when an info write could have landed late, or the value of the info write', () => {
    const history = transcript(`${sequential}\n2 invoke write x 1\n2 info write x 1`);
    expect(checkLostWrites(history, final({ x: 1 })).ok).toBe(true);
    const never = transcript(`${sequential}\n2 invoke write x 9\n2 info write x 9`);
    expect(checkLostWrites(never, final({ x: 9 })).ok).toBe(true);
    expect(checkLostWrites(never, final({ x: 2 })).ok).toBe(true);
  });

  it('still reports a lost acknowledged write when the key also has an info write of another value', () => {
    // The info write of 9 may have landed at any time, but the final value is 1, which only p0 wrote, and
    // p0's write had completed before p1's acknowledged cas began: the cas is lost, 9 or not.
    const history = transcript(`${sequential}\n2 invoke write x 9\n2 info write x 9`);
    expect(checkLostWrites(history, final({ x: 1 }))).toMatchObject({ ok: false, anomalies: [{ kind: 'last-write-lost', finalValue: 1, write: { f: 'cas', process: 1 } }] });
    // An info write of the final value explains it, whenever it landed.
    const late = transcript(`${sequential}\n2 invoke write x 1\n2 info write x 1`);
    expect(checkLostWrites(late, final({ x: 1 })).ok).toBe(true);
  });

  it('reports an acknowledged write that came after every write of the final value, even when it is not the last one', () => {
    // p0 writes 1, then p1 writes 2 (ok), then p2 writes 3 concurrently with p0 writing 4: the final value
    // may be 3 or 4, never 1 (overwritten by the acknowledged 2 for certain).
    const history = transcript(`${sequential}
      2 invoke write x 3
      0 invoke write x 4
      2 ok write x 3
      0 ok write x 4`);
    expect(checkLostWrites(history, final({ x: 3 })).ok).toBe(true);
    expect(checkLostWrites(history, final({ x: 4 })).ok).toBe(true);
    expect(checkLostWrites(history, final({ x: 2 }))).toMatchObject({ ok: false, anomalies: [{ kind: 'last-write-lost', finalValue: 2 }] });
    expect(checkLostWrites(history, final({ x: 1 }))).toMatchObject({ ok: false, anomalies: [{ kind: 'last-write-lost', finalValue: 1 }] });
  });

  it('never accepts the value of a failed write, and keeps the initial value of unwritten keys', () => {
    const history = transcript('0 invoke write x 5\n0 fail write x 5');
    expect(checkLostWrites(history, final({ x: 5 })).ok).toBe(false);
    expect(checkLostWrites(history, final({ x: null })).ok).toBe(true);
    expect(checkLostWrites([], final({ y: 0 }), { initialValue: 0 })).toEqual({ ok: true, keys: 1 });
  });
});

describe('checkLostWrites: lists', () => {
  const appends = `
    0 invoke append l 1
    0 ok append l 1
    1 invoke append l 2
    1 info append l 2
    2 invoke append l 3
    2 fail append l 3
    0 invoke append l 4
    0 ok append l 4`;

  it('accepts a final list holding every acknowledged element, with or without the uncertain ones', () => {
    expect(checkLostWrites(transcript(appends), final({ l: [1, 4] })).ok).toBe(true);
    expect(checkLostWrites(transcript(appends), final({ l: [1, 2, 4] })).ok).toBe(true);
  });

  it('reports each acknowledged element missing from the final list, or all of them if the key is gone', () => {
    expect(checkLostWrites(transcript(appends), final({ l: [4, 2] }))).toMatchObject({ ok: false, anomaliesTotal: 1, anomalies: [{ kind: 'lost-append', key: 'l', element: 1 }] });
    expect(checkLostWrites(transcript(appends), final({}))).toMatchObject({ ok: false, anomaliesTotal: 2 });
  });

  it('rejects a final state of the wrong shape as INVALID_ARGUMENT', () => {
    expect(() => checkLostWrites(transcript(appends), final({ l: 3 }))).toThrow(/its final value must be a list/);
    expect(() => checkLostWrites(transcript(sequential), final({ x: [1] }))).toThrow(/key "x" is a register, so its final value must be a JSON scalar/);
  });
});
