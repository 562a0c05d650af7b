/**
 * The leader's memory of forwarded proposals it acted on (ForwardedBytes.firstSight): a copy delivered
 * twice is acted on once, proposals of another origin or incarnation are not copies, and only the last
 * `forwardedSeenMax` are remembered.
 */
import { describe, expect, test } from 'vitest';
import { ForwardedBytes } from '../../../src/cluster/raft/forwarded-bytes.js';
import { forwardedSeenMax } from '../../../src/limits.js';

describe('ForwardedBytes.firstSight', () => {
  test('a copy is not a first sight; the same seq of another origin or incarnation is', () => {
    const f = new ForwardedBytes(1024);
    expect(f.firstSight('n1', 1767225600000.25, 7)).toBe(true);
    expect(f.firstSight('n1', 1767225600000.25, 7)).toBe(false);
    expect(f.firstSight('n1', 1767225600000.5, 7)).toBe(true);
    expect(f.firstSight('n2', 1767225600000.25, 7)).toBe(true);
    expect(f.firstSight('n1', 1767225600000.25, 8)).toBe(true);
    expect(f.firstSight('n1', 1767225600000.5, 7)).toBe(false);
  });

  test('remembers the last forwardedSeenMax, oldest forgotten first', () => {
    const f = new ForwardedBytes(1024);
    for (let seq = 0; seq < forwardedSeenMax; seq++) expect(f.firstSight(seq % 2 === 0 ? 'n1' : 'n2', 5, seq)).toBe(true);
    expect(f.firstSight('n1', 5, 0)).toBe(false); // all still remembered
    expect(f.firstSight('n3', 9, 0)).toBe(true); // one more: seq 0 of n1 is forgotten
    expect(f.firstSight('n2', 5, 1)).toBe(false);
    expect(f.firstSight('n1', 5, 0)).toBe(true); // forgotten, so taken as new (and now remembered again, forgetting seq 1)
    expect(f.firstSight('n1', 5, 0)).toBe(false);
    expect(f.firstSight('n2', 5, 1)).toBe(true);
    expect(f.firstSight('n1', 5, 2)).toBe(true); // seq 2 went after seq 1
    expect(f.firstSight('n2', 5, 3)).toBe(true);
    expect(f.firstSight('n3', 9, 0)).toBe(false); // the newest stay
    expect(f.firstSight('n2', 5, forwardedSeenMax - 1)).toBe(false);
  });
});
