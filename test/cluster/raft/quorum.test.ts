/**
 * The qrank arithmetic against a brute-force reference over every subset of voters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDisjointQuorums, qrankQuorum, quorumIndex } from '../../../src/cluster/raft/quorum.js';
import type { Voter } from '../../../src/cluster/raft/quorum.js';

const voters = fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 9 }).map((ranks) => ranks.map((qrank, i): Voter => ({ id: `n${i}`, qrank })));
const subsets = <T>(items: readonly T[]): T[][] => Array.from({ length: 1 << items.length }, (_, mask) => items.filter((_, i) => mask & (1 << i)));

describe('qrank quorums', () => {
  it('a set is a quorum exactly when its qrank sum is more than half the total', () => {
    fc.assert(
      fc.property(voters, (vs) => {
        const rule = qrankQuorum(vs);
        const total = vs.reduce((s, v) => s + v.qrank, 0);
        for (const subset of subsets(vs)) {
          const sum = subset.reduce((s, v) => s + v.qrank, 0);
          expect(rule(new Set(subset.map((v) => v.id)))).toBe(sum * 2 > total);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('never has two disjoint quorums', () => {
    fc.assert(
      fc.property(voters, (vs) => {
        expect(findDisjointQuorums(vs.map((v) => v.id), qrankQuorum(vs))).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it('finds the disjoint quorums of a bad custom rule', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const anyTwo = (set: ReadonlySet<string>) => set.size >= 2;
    expect(findDisjointQuorums(ids, anyTwo)).toEqual([['a', 'b'], ['c', 'd']]);
  });

  it('commits the highest index that some quorum holds', () => {
    fc.assert(
      fc.property(voters, fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 9, maxLength: 9 }), (vs, matches) => {
        const rule = qrankQuorum(vs);
        const match = new Map(vs.map((v, i) => [v.id, matches[i]!] as const));
        let expected = 0;
        for (const subset of subsets(vs)) {
          if (subset.length === 0 || !rule(new Set(subset.map((v) => v.id)))) continue;
          expected = Math.max(expected, Math.min(...subset.map((v) => match.get(v.id)!)));
        }
        expect(quorumIndex(match, rule)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });
});
