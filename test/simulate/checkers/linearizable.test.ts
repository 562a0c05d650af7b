/**
 * The register linearizability checker on hand-written histories, each the classic case it is named
 * after, with the exact verdict. Transcript lines read `process type f key value`; time = line number.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable } from '../../../simulate/checkers/index.js';
import type { LinearizableResult } from '../../../simulate/checkers/index.js';
import { operationsOf } from '../../../simulate/history.js';
import { registerReference, runConcurrently, transcript } from './generators.js';

function verdict(text: string, options = {}): LinearizableResult['ok'] {
  return checkLinearizable(transcript(text), options).ok;
}

describe('checkLinearizable: sequential histories', () => {
  it('accepts a write then a read of it, and a read of the initial value first', () => {
    expect(verdict(`
      0 invoke read x
      0 ok read x null
      0 invoke write x 1
      0 ok write x 1
      1 invoke read x
      1 ok read x 1`)).toBe(true);
  });

  it('rejects a stale read after a completed write, explaining where it got stuck', () => {
    const result = checkLinearizable(transcript(`
      0 invoke write x 1
      0 ok write x 1
      0 invoke write x 2
      0 ok write x 2
      1 invoke read x
      1 ok read x 1`));
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.key).toBe('x');
    expect(result.prefixLength).toBe(2);
    expect(result.prefix.map((op) => op.invokeValue)).toEqual([1, 2]);
    expect(result.stateAfterPrefix).toBe(2);
    expect(result.pending.map((op) => [op.process, op.f, op.value])).toEqual([[1, 'read', 1]]);
    expect(result.message).toContain('key "x" is not linearizable');
    expect(result.message).toContain('p1 read "x" null -> ok 1');
  });

  it('rejects a read of a value nobody wrote', () => {
    expect(verdict(`
      0 invoke write x 1
      0 ok write x 1
      1 invoke read x
      1 ok read x 7`)).toBe(false);
  });

  it('uses the initial value it is given', () => {
    const text = `
      0 invoke read x
      0 ok read x 0`;
    expect(verdict(text)).toBe(false);
    expect(verdict(text, { initialValue: 0 })).toBe(true);
  });
});

describe('checkLinearizable: concurrency', () => {
  it('lets a read overlapping a write see either value', () => {
    for (const seen of [null, 1]) {
      expect(verdict(`
        0 invoke write x 1
        1 invoke read x
        1 ok read x ${JSON.stringify(seen)}
        0 ok write x 1`)).toBe(true);
    }
  });

  it('lets reads during two concurrent writes see 1 then 2, or 2 then 1', () => {
    for (const [a, b] of [[1, 2], [2, 1]]) {
      expect(verdict(`
        0 invoke write x 1
        1 invoke write x 2
        2 invoke read x
        2 ok read x ${a}
        2 invoke read x
        2 ok read x ${b}
        0 ok write x 1
        1 ok write x 2`)).toBe(true);
    }
  });

  it('rejects readers that see two concurrent writes in opposite orders', () => {
    // Both writes are done before any read starts, so there is one final value, and a value that was
    // overwritten cannot come back.
    expect(verdict(`
      0 invoke write x 1
      1 invoke write x 2
      0 ok write x 1
      1 ok write x 2
      2 invoke read x
      2 ok read x 1
      3 invoke read x
      3 ok read x 2`)).toBe(false);
  });

  it('rejects a value that comes back after being overwritten', () => {
    expect(verdict(`
      0 invoke write x 1
      0 ok write x 1
      0 invoke write x 2
      1 invoke read x
      1 ok read x 2
      1 invoke read x
      1 ok read x 1
      0 ok write x 2`)).toBe(false);
  });
});

describe('checkLinearizable: compare-and-set', () => {
  it('accepts a cas chain and a read of its end', () => {
    expect(verdict(`
      0 invoke write x 0
      0 ok write x 0
      0 invoke cas x [0,1]
      0 ok cas x [0,1]
      1 invoke cas x [1,2]
      1 ok cas x [1,2]
      2 invoke read x
      2 ok read x 2`)).toBe(true);
  });

  it('rejects a cas that succeeds against a value the register no longer holds', () => {
    expect(verdict(`
      0 invoke write x 0
      0 ok write x 0
      0 invoke cas x [0,1]
      0 ok cas x [0,1]
      1 invoke cas x [0,5]
      1 ok cas x [0,5]`)).toBe(false);
  });

  it('rejects two concurrent cas from the same value that both succeed', () => {
    expect(verdict(`
      0 invoke write x 0
      0 ok write x 0
      1 invoke cas x [0,1]
      2 invoke cas x [0,2]
      1 ok cas x [0,1]
      2 ok cas x [0,2]`)).toBe(false);
  });

  it('ignores a failed cas: it did not happen, whatever the register held', () => {
    expect(verdict(`
      0 invoke write x 0
      0 ok write x 0
      1 invoke cas x [0,1]
      1 fail cas x [0,1]
      2 invoke read x
      2 ok read x 0`)).toBe(true);
  });
});

describe('checkLinearizable: outcomes unknown (info) and failed', () => {
  it('assumes an info write applied when a later read needs it, even long after', () => {
    expect(verdict(`
      0 invoke write x 1
      0 ok write x 1
      1 invoke write x 2
      1 info write x 2
      2 invoke read x
      2 ok read x 1
      2 invoke read x
      2 ok read x 2`)).toBe(true);
  });

  it('does not assume an info write applied: it may never happen', () => {
    expect(verdict(`
      0 invoke write x 1
      0 ok write x 1
      1 invoke write x 2
      1 info write x 2
      2 invoke read x
      2 ok read x 1`)).toBe(true);
  });

  it('rejects a history where an info write would have to apply twice', () => {
    expect(verdict(`
      1 invoke write x 2
      1 info write x 2
      2 invoke read x
      2 ok read x 2
      0 invoke write x 1
      0 ok write x 1
      2 invoke read x
      2 ok read x 2`)).toBe(false);
  });

  it('rejects a read of an info write\'s value before that write was invoked', () => {
    expect(verdict(`
      2 invoke read x
      2 ok read x 2
      1 invoke write x 2
      1 info write x 2`)).toBe(false);
  });

  it('never applies a failed write', () => {
    expect(verdict(`
      1 invoke write x 2
      1 fail write x 2
      2 invoke read x
      2 ok read x 2`)).toBe(false);
  });

  it('treats an operation that never completed like info', () => {
    const text = `
      1 invoke write x 2
      2 invoke read x
      2 ok read x 2`;
    expect(verdict(text)).toBe(true);
    expect(verdict(`${text}\n2 invoke read x\n2 ok read x null`)).toBe(false);
  });

  it('applies an info cas only where its expected value holds', () => {
    const head = `
      0 invoke write x 0
      0 ok write x 0`;
    expect(verdict(`${head}\n1 invoke cas x [0,1]\n1 info cas x [0,1]\n2 invoke read x\n2 ok read x 1`)).toBe(true);
    expect(verdict(`${head}\n1 invoke cas x [5,1]\n1 info cas x [5,1]\n2 invoke read x\n2 ok read x 1`)).toBe(false);
  });

  it('ignores reads whose outcome is unknown', () => {
    expect(verdict(`
      0 invoke write x 1
      0 ok write x 1
      1 invoke read x
      1 info read x`)).toBe(true);
  });
});

describe('checkLinearizable: keys, bounds and bad input', () => {
  it('checks keys independently and names every key that fails', () => {
    const result = checkLinearizable(transcript(`
      0 invoke write x 1
      0 ok write x 1
      0 invoke read y
      0 ok read y 3
      1 invoke read x
      1 ok read x 1
      1 invoke read z
      1 ok read z 4`));
    expect(result).toMatchObject({ ok: false, key: 'y', failedKeys: ['y', 'z'] });
  });

  it('counts keys and explored states on success', () => {
    const result = checkLinearizable(transcript(`
      0 invoke write x 1
      0 ok write x 1
      0 invoke write y 1
      0 ok write y 1`));
    expect(result).toEqual({ ok: true, keys: 2, statesExplored: 2 });
  });

  it('answers unknown, naming the bound, when the search passes its state budget', () => {
    // Six concurrent writes then a read of a value nobody wrote: the search must try every order.
    const writes = [1, 2, 3, 4, 5, 6].map((v) => `${v} invoke write x ${v}`).join('\n');
    const oks = [1, 2, 3, 4, 5, 6].map((v) => `${v} ok write x ${v}`).join('\n');
    const text = `${writes}\n${oks}\n0 invoke read x\n0 ok read x 9`;
    expect(verdict(text)).toBe(false);
    const bounded = checkLinearizable(transcript(text), { statesPerKeyMax: 10 });
    expect(bounded).toEqual({ ok: 'unknown', key: 'x', reason: 'key "x": explored more than 10 states (linearizableStatesPerKeyMax)' });
  });

  it('checks the operations it is given when the caller paired the history already', () => {
    const stale = transcript('0 invoke write x 1\n0 ok write x 1\n0 invoke write x 2\n0 ok write x 2\n1 invoke read x\n1 ok read x 1');
    const fresh = transcript('0 invoke write x 1\n0 ok write x 1\n0 invoke write x 2\n0 ok write x 2\n1 invoke read x\n1 ok read x 2');
    expect(checkLinearizable(stale, { operations: operationsOf(stale, 'test') })).toEqual(checkLinearizable(stale));
    expect(checkLinearizable(fresh, { operations: operationsOf(fresh, 'test') }).ok).toBe(true);
    // The operations decide, not the events beside them (they are not paired again).
    expect(checkLinearizable(fresh, { operations: operationsOf(stale, 'test') }).ok).toBe(false);
  });

  it('rejects operations that are not register operations, and malformed ones, as INVALID_ARGUMENT', () => {
    expect(() => checkLinearizable(transcript('0 invoke append x 1\n0 ok append x 1'))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('f "append" is not a register operation') }),
    );
    expect(() => checkLinearizable(transcript('0 invoke cas x 1\n0 ok cas x 1'))).toThrow(/a cas's value must be \[expected, new\]/);
    expect(() => checkLinearizable(transcript('0 ok write x 1'))).toThrow(/history event 0: ok for process 0, which has no open operation/);
  });
});

describe('checkLinearizable: search cost', () => {
  it('checks a 1,000-operation, 5-process single-key history with unknown outcomes in a few states per operation', () => {
    // Deterministic stand-in for a speed test: the memo and the pruning of info operations keep the
    // search near-linear (an unpruned search explores ~12,600 states here; docs/checkers.md has timings).
    const history = runConcurrently(42, registerReference(['x']), { processes: 5, operations: 1000, infoRate: 0.05, failRate: 0.05 });
    const result = checkLinearizable(history);
    expect(result).toMatchObject({ ok: true, keys: 1 });
    expect(result.ok === true && result.statesExplored).toBeLessThan(3 * 1000);
    const target = history.findIndex((e, i) => i > 1800 && e.type === 'ok' && e.f === 'read');
    const broken = checkLinearizable(history.map((e, i) => (i === target ? { ...e, value: -1 } : e)));
    expect(broken).toMatchObject({ ok: false, key: 'x', pending: [expect.objectContaining({ completeIndex: target, value: -1 })] });
  });
});
