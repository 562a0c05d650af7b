/** The election-safety checker (Raft §5.2): at most one leader per term. */
import { describe, expect, it } from 'vitest';
import { ElectionSafety } from '../../../simulate/checkers/election-safety.js';

describe('ElectionSafety', () => {
  it('passes one leader per term, reported any number of times, and followers of any term', () => {
    const check = new ElectionSafety();
    check.observe('a', 'leader', 1);
    check.observe('a', 'leader', 1);
    check.observe('b', 'follower', 1);
    check.observe('b', 'leader', 2);
    check.observe('a', 'candidate', 2);
    expect(check.problems()).toEqual([]);
  });

  it('fails a second leader in a term', () => {
    const check = new ElectionSafety();
    check.observe('a', 'leader', 3);
    check.observe('c', 'leader', 3);
    expect(check.problems()).toEqual(['election safety (Raft §5.2): two leaders in term 3: a and c']);
  });
});
