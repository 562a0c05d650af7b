/**
 * The list-append checker, rule by rule: each history breaks exactly one rule and must be reported
 * with exactly that anomaly; a correct concurrent history passes.
 */
import { describe, expect, it } from 'vitest';
import { checkListAppend } from '../../../simulate/checkers/index.js';
import type { ListAppendAnomaly } from '../../../simulate/checkers/index.js';
import { transcript } from './generators.js';

function anomalies(text: string): { kind: ListAppendAnomaly['kind']; key: string; element?: unknown }[] {
  const result = checkListAppend(transcript(text));
  if (result.ok) return [];
  return result.anomalies.map((a) => ({ kind: a.kind, key: a.key, ...('element' in a ? { element: a.element } : {}) }));
}

const appended = `
  0 invoke append x 1
  0 ok append x 1
  0 invoke append x 2
  0 ok append x 2`;

describe('checkListAppend', () => {
  it('accepts concurrent appends and reads that agree on one order per key', () => {
    const result = checkListAppend(transcript(`
      0 invoke append x 1
      1 invoke append x 2
      2 invoke read x
      2 ok read x [2]
      0 ok append x 1
      1 ok append x 2
      2 invoke read x
      2 ok read x [2,1]
      3 invoke append y "a"
      3 info append y "a"
      2 invoke read y
      2 ok read y []
      2 invoke read y
      2 ok read y ["a"]`));
    expect(result).toEqual({ ok: true, keys: 2, reads: 4 });
  });

  it('reports an element shown twice', () => {
    expect(anomalies(`${appended}\n1 invoke read x\n1 ok read x [1,2,2]`)).toEqual([{ kind: 'duplicate-element', key: 'x', element: 2 }]);
  });

  it('reports an element nobody appended, and one whose append failed', () => {
    expect(anomalies(`
      0 invoke append x 1
      0 fail append x 1
      1 invoke read x
      1 ok read x [1,9]`)).toEqual([
      { kind: 'aborted-read', key: 'x', element: 1 },
      { kind: 'phantom-element', key: 'x', element: 9 },
    ]);
  });

  it('reports a read that saw an element before its append began', () => {
    expect(anomalies(`
      1 invoke read x
      1 ok read x [1]
      0 invoke append x 1
      0 ok append x 1`)).toEqual([{ kind: 'future-read', key: 'x', element: 1 }]);
  });

  it('reports reads that disagree on the order', () => {
    expect(anomalies(`
      0 invoke append x 1
      1 invoke append x 2
      2 invoke read x
      3 invoke read x
      2 ok read x [1,2]
      3 ok read x [2]
      0 ok append x 1
      1 ok append x 2`)).toEqual([{ kind: 'incompatible-order', key: 'x' }]);
  });

  it('reports an acknowledged append missing from a read that began after it, once per element', () => {
    expect(anomalies(`${appended}\n1 invoke read x\n1 ok read x [1]\n1 invoke read x\n1 ok read x [1]`)).toEqual([
      { kind: 'lost-append', key: 'x', element: 2 },
    ]);
  });

  it('reports a read shorter than one that finished before it began', () => {
    expect(anomalies(`
      0 invoke append x 1
      1 invoke read x
      1 ok read x [1]
      2 invoke read x
      2 ok read x []
      0 info append x 1`)).toEqual([{ kind: 'stale-read', key: 'x' }]);
  });

  it('reports an append ordered before one acknowledged before it began', () => {
    expect(anomalies(`
      0 invoke append x 1
      0 ok append x 1
      1 invoke append x 2
      1 info append x 2
      2 invoke read x
      2 ok read x [2,1]`)).toEqual([{ kind: 'realtime-order', key: 'x' }]);
  });

  it('says what it found in the message, and counts beyond what it lists', () => {
    const reads = Array.from({ length: 150 }, () => '1 invoke read x\n1 ok read x [7]').join('\n');
    const result = checkListAppend(transcript(reads));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.anomaliesTotal).toBe(150);
    expect(result.anomalies).toHaveLength(100);
    expect(result.message.split('\n')[0]).toBe('list-append: 150 anomalies over 150 ok reads of 1 keys:');
    expect(result.message).toContain('"x": read shows 7, which nobody appended');
  });

  it('rejects a history that appends one element twice to a key, and non-list operations', () => {
    expect(() => checkListAppend(transcript(`${appended}\n1 invoke append x 1\n1 ok append x 1`))).toThrow(/element 1 is appended twice \(events 0 and 4\)/);
    expect(() => checkListAppend(transcript('0 invoke cas x [1,2]\n0 ok cas x [1,2]'))).toThrow(/f "cas" is not a list-append operation/);
  });
});
