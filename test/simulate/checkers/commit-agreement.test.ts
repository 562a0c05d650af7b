/**
 * The commit-agreement checker (Raft §5.4.3, State Machine Safety): entries committed at one index by
 * different nodes, or again by one node after a restart, must be the same entry.
 */
import { describe, expect, it } from 'vitest';
import { CommitAgreement, simCommitConflictsReportedMax } from '../../../simulate/checkers/commit-agreement.js';
import type { Entry } from '../../../src/cluster/raft/messages.js';

const command = (index: number, term: number, origin: string, id: number): Entry => ({ index, term, data: { kind: 'command', payload: { origin, id, changeSet: {} } } });
const noop = (index: number, term: number): Entry => ({ index, term, data: { kind: 'noop' } });

describe('CommitAgreement', () => {
  it('passes nodes that commit the same entries, in batches of any size, and replays after restarts', () => {
    const log = [noop(1, 1), command(2, 1, 'a', 1), command(3, 1, 'b', 2), noop(4, 2), command(5, 2, 'c', 3)];
    const check = new CommitAgreement();
    check.observe('a', log);
    check.observe('b', log.slice(0, 2));
    check.observe('b', log.slice(2));
    check.observe('c', log.slice(3)); // restored from an image at index 3
    check.observe('a', log); // replayed from its journal after a restart
    expect(check.problems()).toEqual([]);
    expect(check.observed).toBe(5 + 5 + 2 + 5);
  });

  it('fails on another term, or the same term with other contents, at a committed index', () => {
    const byTerm = new CommitAgreement();
    byTerm.observe('a', [noop(1, 1), command(2, 1, 'a', 1)]);
    byTerm.observe('b', [noop(1, 1), command(2, 2, 'a', 1)]);
    expect(byTerm.problems()).toEqual(['nodes committed different entries at the same log index: b committed an entry of term 2 (command a#1) at index 2, where a had committed an entry of term 1']);
    const byContents = new CommitAgreement();
    byContents.observe('a', [command(7, 3, 'a', 1)]);
    byContents.observe('c', [command(7, 3, 'b', 1)]);
    expect(byContents.problems()).toEqual(['nodes committed different entries at the same log index: c committed an entry of term 3 (command b#1) at index 7, where a had committed an entry of term 3 with other contents']);
    const byId = new CommitAgreement();
    byId.observe('a', [command(8, 3, 'a1', 2), command(9, 3, 'a', 1)]);
    byId.observe('b', [command(8, 3, 'a', 12), command(9, 3, 'a', 2)]);
    expect(byId.problems()[0]).toMatch(/^nodes committed different entries at the same log index: b committed an entry of term 3 \(command a#12\) at index 8, .*; b committed an entry of term 3 \(command a#2\) at index 9, /);
  });

  it('tells window batches apart by every transaction in them', () => {
    const batch = (index: number, term: number, ...ids: number[]): Entry => ({ index, term, data: { kind: 'command', payload: ids.map((id) => ({ origin: 'a', id, changeSet: {} })) } });
    const same = new CommitAgreement();
    same.observe('a', [batch(4, 2, 1, 2, 3)]);
    same.observe('b', [batch(4, 2, 1, 2, 3)]);
    expect(same.problems()).toEqual([]);
    const other = new CommitAgreement();
    other.observe('a', [batch(4, 2, 1, 2, 3)]);
    other.observe('b', [batch(4, 2, 1, 2, 4)]);
    expect(other.problems()).toEqual(['nodes committed different entries at the same log index: b committed an entry of term 2 (command a#1,a#2,a#4) at index 4, where a had committed an entry of term 2 with other contents']);
  });

  it('describes the first disagreements and counts the rest', () => {
    const check = new CommitAgreement();
    const count = simCommitConflictsReportedMax + 5;
    check.observe('a', Array.from({ length: count }, (_, i) => noop(i + 1, 1)));
    check.observe('b', Array.from({ length: count }, (_, i) => noop(i + 1, 2)));
    const [problem] = check.problems();
    expect(problem!.split('; ')).toHaveLength(simCommitConflictsReportedMax + 1);
    expect(problem).toMatch(/; and 5 more$/);
  });
});
