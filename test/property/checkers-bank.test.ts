/**
 * Properties of the bank checker: snapshot reads of accounts that only ever see whole transfers always
 * sum to the total, whatever the concurrency and outcomes; a single read with one balance off by any
 * amount is reported, and it is that read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBank } from '../../simulate/checkers/index.js';
import type { History } from '../../simulate/history.js';
import { bankReference, runConcurrently } from '../simulate/checkers/generators.js';

const accounts = ['a', 'b', 'c', 'd'];
const opening = 25;
const shape = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  processes: fc.integer({ min: 1, max: 6 }),
  operations: fc.integer({ min: 1, max: 150 }),
  infoRate: fc.constantFrom(0, 0.1),
  failRate: fc.constantFrom(0, 0.1),
});

function generate(s: { seed: number; processes: number; operations: number; infoRate: number; failRate: number }): History {
  return runConcurrently(s.seed, bankReference(accounts, opening), s);
}

describe('checkBank (property)', () => {
  it('accepts every history of transfers and snapshot reads run concurrently', () => {
    fc.assert(
      fc.property(shape, (s) => {
        expect(checkBank(generate(s), { total: accounts.length * opening, accounts })).toMatchObject({ ok: true });
      }),
      { numRuns: 200 },
    );
  });

  it('reports exactly the read whose balance was changed', () => {
    fc.assert(
      fc.property(shape, fc.nat(), fc.integer({ min: 1, max: 1000 }), fc.boolean(), (s, pick, delta, up) => {
        const history = generate(s);
        const reads = history.flatMap((e, i) => (e.f === 'read' && e.type === 'ok' ? [i] : []));
        fc.pre(reads.length > 0);
        const at = reads[pick % reads.length] as number;
        const account = accounts[pick % accounts.length] as string;
        const mutated = history.map((e, i) => {
          if (i !== at) return e;
          const balances = e.value as Record<string, number>;
          return { ...e, value: { ...balances, [account]: (balances[account] ?? 0) + (up ? delta : -delta) } };
        });
        const result = checkBank(mutated, { total: accounts.length * opening, accounts, negativeBalancesAllowed: true });
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.anomalies.map((a) => [a.kind, a.read.completeIndex])).toEqual([['wrong-total', at]]);
      }),
      { numRuns: 200 },
    );
  });
});
