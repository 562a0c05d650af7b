/**
 * The bank checker: a snapshot read that does not sum to the total, misses or invents an account, or
 * shows a negative balance is reported with the read; everything else passes.
 */
import { describe, expect, it } from 'vitest';
import { checkBank, checkTransferRows } from '../../../simulate/checkers/index.js';
import type { TransferRow } from '../../../simulate/checkers/index.js';
import { transcript } from './generators.js';

const accounts = ['a', 'b', 'c'];

describe('checkBank', () => {
  it('accepts reads that sum to the total whichever transfers happened, and ignores unfinished reads', () => {
    const history = transcript(`
      0 invoke transfer - {"from":"a","to":"b","amount":5}
      1 invoke read -
      1 ok read - {"a":10,"b":10,"c":10}
      0 info transfer - {"from":"a","to":"b","amount":5}
      1 invoke read -
      1 ok read - {"a":5,"b":15,"c":10}
      2 invoke read -
      2 info read -
      3 invoke read -
      3 fail read -`);
    expect(checkBank(history, { total: 30, accounts })).toEqual({ ok: true, reads: 2 });
  });

  it('reports the read whose sum is wrong, with its sum', () => {
    const history = transcript(`
      0 invoke transfer - {"from":"a","to":"b","amount":5}
      1 invoke read -
      1 ok read - {"a":5,"b":10,"c":10}
      0 ok transfer - {"from":"a","to":"b","amount":5}`);
    const result = checkBank(history, { total: 30 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.anomalies).toHaveLength(1);
    expect(result.anomalies[0]).toMatchObject({ kind: 'wrong-total', total: 25, expected: 30, read: { process: 1, invokeIndex: 1, completeIndex: 2 } });
    expect(result.message).toContain('read sums to 25, not 30: p1 read null -> ok {"a":5,"b":10,"c":10} @1ms–2ms (events 1–2)');
  });

  it('reports missing and unknown accounts when the accounts are given, and negative balances unless allowed', () => {
    const history = transcript(`
      1 invoke read -
      1 ok read - {"a":40,"b":-10}
      1 invoke read -
      1 ok read - {"a":10,"b":10,"c":5,"d":5}`);
    const result = checkBank(history, { total: 30, accounts });
    expect(result.ok === false && result.anomalies.map((a) => a.kind)).toEqual(['missing-accounts', 'negative-balance', 'unexpected-accounts']);
    expect(result.ok === false && result.anomalies[1]).toMatchObject({ account: 'b', balance: -10 });
    const lenient = checkBank(history, { total: 30, negativeBalancesAllowed: true });
    expect(lenient.ok).toBe(true);
  });

  it('rejects input that is not a bank history as INVALID_ARGUMENT', () => {
    expect(() => checkBank(transcript('0 invoke write x 1\n0 ok write x 1'), { total: 1 })).toThrow(/f "write" is not a bank operation/);
    expect(() => checkBank(transcript('0 invoke read -\n0 ok read - {"a":1.5}'), { total: 1 })).toThrow(/a read must return \{ account: integer balance \}/);
    expect(() => checkBank(transcript('0 invoke transfer - {"from":"a"}\n0 ok transfer - {"from":"a"}'), { total: 1 })).toThrow(/a transfer's value must be/);
  });
});

describe('checkTransferRows', () => {
  // p0's transfer 1 was acknowledged, p1's 2 failed, p2's 3 has an unknown outcome.
  const history = transcript(`
    0 invoke transfer - {"from":"a","to":"b","amount":5,"id":1}
    1 invoke transfer - {"from":"b","to":"c","amount":7,"id":2}
    2 invoke transfer - {"from":"c","to":"a","amount":9,"id":3}
    0 ok transfer - {"from":"a","to":"b","amount":5,"id":1}
    1 fail transfer - {"from":"b","to":"c","amount":7,"id":2}
    2 info transfer - {"from":"c","to":"a","amount":9,"id":3}
    3 invoke read -
    3 ok read - {"a":10,"b":10,"c":10}`);
  const rows = (entries: [number, number][]): ReadonlyMap<number, TransferRow> => new Map(entries.map(([id, amount]) => [id, { amount }]));

  it('accepts the rows of every acknowledged transfer, with or without those of unknown outcome', () => {
    expect(checkTransferRows(history, rows([[1, 5]]))).toEqual({ ok: true, rows: 1 });
    expect(checkTransferRows(history, rows([[1, 5], [3, 9]]))).toEqual({ ok: true, rows: 2 });
  });

  it('reports an acknowledged transfer whose row is gone, though no total could show it', () => {
    const result = checkTransferRows(history, rows([[3, 9]]));
    expect(result).toMatchObject({ ok: false, anomaliesTotal: 1, anomalies: [{ kind: 'lost-transfer', id: 1, transfer: { process: 0 } }] });
    if (!result.ok) expect(result.message).toContain('transfer 1 was acknowledged but its row is missing: p0 transfer');
  });

  it('reports the row of a failed transfer, a row no client made, and a row holding another amount', () => {
    expect(checkTransferRows(history, rows([[1, 5], [2, 7]]))).toMatchObject({ ok: false, anomalies: [{ kind: 'failed-transfer-applied', id: 2 }] });
    expect(checkTransferRows(history, rows([[1, 5], [4, 1]]))).toMatchObject({ ok: false, anomalies: [{ kind: 'unknown-transfer', id: 4 }] });
    expect(checkTransferRows(history, rows([[1, 6]]))).toMatchObject({ ok: false, anomalies: [{ kind: 'wrong-transfer', id: 1, row: { amount: 6 } }] });
  });

  it('refuses a history whose transfers have no id, or the same id twice', () => {
    expect(() => checkTransferRows(transcript('0 invoke transfer - {"from":"a","to":"b","amount":5}'), rows([]))).toThrow(/checkTransferRows.*\{ from, to, amount, id \}/);
    const twice = transcript('0 invoke transfer - {"from":"a","to":"b","amount":5,"id":1}\n1 invoke transfer - {"from":"a","to":"b","amount":5,"id":1}');
    expect(() => checkTransferRows(twice, rows([]))).toThrow(/id 1 is used twice/);
  });
});
