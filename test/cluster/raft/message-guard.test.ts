/**
 * The guard on Raft messages from other nodes (src/cluster/raft/message-guard.ts): one well-formed
 * message of each type passes; each field of each type, missing or of a wrong kind, is refused with a
 * reason naming it; and the checks that keep the Raft core's assertions out of a peer's reach (entries
 * that follow prevIndex, a chunk within its count, an image's membership not beyond it) hold. That no
 * message an honest node sends is refused is checked on every generated schedule of
 * test/property/raft-safety.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { raftMessageProblem } from '../../../src/cluster/raft/message-guard.js';
import type { Entry, RaftMessage } from '../../../src/cluster/raft/messages.js';

const A = 'n1';
const B = 'n2';
const members = { members: [A, B] };
const env = { term: 3, from: A, to: B };
const entries: readonly Entry[] = [
  { term: 2, index: 5, data: { kind: 'noop' } },
  { term: 3, index: 6, data: { kind: 'command', payload: new Uint8Array([1]) } },
  { term: 3, index: 7, data: { kind: 'members', membership: { members: [A], old: [A, B] } } },
];

/** One well-formed message of each type, with every optional field present. */
const valid: readonly RaftMessage[] = [
  { ...env, type: 'preVote', lastIndex: 4, lastTerm: 2 },
  { ...env, type: 'preVoteResp', granted: true },
  { ...env, type: 'vote', lastIndex: 4, lastTerm: 2, transfer: false },
  { ...env, type: 'voteResp', granted: false },
  { ...env, type: 'append', prevIndex: 4, prevTerm: 2, entries, commit: 6, readRound: 1, quiet: true, dataMatch: 3 },
  { ...env, type: 'appendResp', success: true, index: 7, hint: 0, readRound: 1 },
  { ...env, type: 'propose', payloads: [new Uint8Array(2)], origin: 'n3', bytes: 2, incarnation: 1712.25, seq: 9 },
  { ...env, type: 'proposeRefused', payloads: [], heldBytes: 10, heldBytesMax: 8 },
  { ...env, type: 'timeoutNow' },
  { ...env, type: 'snapshot', index: 9, snapTerm: 2, chunk: 0, chunks: 2, data: new Uint8Array(3), membership: { index: 1, membership: members }, commit: 12, digest: 12345 },
  { ...env, type: 'snapshotResp', index: 9, next: 1 },
  { ...env, type: 'readIndex', id: 2 ** 48 },
  { ...env, type: 'readIndexResp', id: 7, ok: true, index: 6 },
  { ...env, type: 'membersChange', op: 'detach', node: A, seen: 0 },
  { ...env, type: 'membersChangeResp', membership: { index: 4, membership: members }, version: 4, refused: { op: 'detach', reason: 'no quorum' } },
];

type Kind = 'count' | 'optionalCount' | 'flag' | 'text' | 'list' | 'op' | 'object';
const kinds: Readonly<Record<string, Readonly<Record<string, Kind>>>> = {
  preVote: { lastIndex: 'count', lastTerm: 'count' },
  preVoteResp: { granted: 'flag' },
  vote: { lastIndex: 'count', lastTerm: 'count', transfer: 'flag' },
  voteResp: { granted: 'flag' },
  append: { prevIndex: 'count', prevTerm: 'count', entries: 'list', commit: 'count', readRound: 'optionalCount', dataMatch: 'optionalCount' },
  appendResp: { success: 'flag', index: 'count', hint: 'count', readRound: 'optionalCount' },
  propose: { payloads: 'list', origin: 'text', bytes: 'count', seq: 'count' },
  proposeRefused: { payloads: 'list', heldBytes: 'count', heldBytesMax: 'count' },
  timeoutNow: {},
  snapshot: { index: 'count', snapTerm: 'count', chunk: 'count', chunks: 'count', commit: 'count', digest: 'count', membership: 'object' },
  snapshotResp: { index: 'count', next: 'count' },
  readIndex: { id: 'count' },
  readIndexResp: { id: 'count', ok: 'flag', index: 'count' },
  membersChange: { op: 'op', node: 'text', seen: 'count' },
  membersChangeResp: { membership: 'object', version: 'count' },
};
const MISSING = Symbol('missing');
const bad: Readonly<Record<Kind, readonly unknown[]>> = {
  count: [MISSING, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, 1n],
  optionalCount: [-1, 0.5, Number.NaN, '1', null],
  flag: [MISSING, 1, 'true', null],
  text: [MISSING, 1, null, ['n1']],
  list: [MISSING, {}, 'x', null, new Uint8Array(1)],
  op: [MISSING, 'remove', 1],
  object: [MISSING, 'x', null, [], { index: 0 }, { index: -1, membership: members }, { index: 0, membership: { members: [] } }, { index: 0, membership: { members: [1] } }],
};

const problem = (m: unknown) => raftMessageProblem(m, A, B);
const withField = (m: RaftMessage, key: string, value: unknown) => {
  const copy: Record<string, unknown> = { ...m };
  if (value === MISSING) delete copy[key];
  else copy[key] = value;
  return copy;
};

describe('raftMessageProblem', () => {
  it('has one case per Raft message type', () => {
    expect(valid.map((m) => m.type).sort()).toEqual(Object.keys(kinds).sort());
  });

  it.each(valid.map((m) => [m.type, m] as const))('takes a well-formed %s, with its optional fields and without them', (_type, m) => {
    expect(problem(m)).toBeUndefined();
    const bare = { ...m } as Record<string, unknown>;
    for (const key of ['readRound', 'quiet', 'dataMatch', 'refused']) delete bare[key];
    expect(problem(bare)).toBeUndefined();
  });

  it.each(valid.map((m) => [m.type, m] as const))('refuses a %s with any field missing or of the wrong kind, naming the field', (type, m) => {
    const fields: [string, Kind][] = [['term', 'count'], ['from', 'text'], ['to', 'text'], ...Object.entries(kinds[type]!)];
    for (const [key, kind] of fields) {
      for (const value of bad[kind]) {
        const reason = problem(withField(m, key, value));
        expect(reason, `${type}.${key} = ${String(value)}`).toMatch(new RegExp(`^${type}: .*${key}`));
      }
    }
  });

  it('refuses what is not a message, or not a Raft one', () => {
    for (const value of [undefined, null, 3, 'append', [], new Uint8Array(4), {}, { type: 1 }]) expect(problem(value)).toBeDefined();
    expect(problem({ ...env, type: 'persisted' })).toBe('persisted: unknown Raft message type "persisted"');
    expect(problem({ ...env, type: 'toString' })).toMatch(/unknown Raft message type/);
  });

  it('refuses a message in the name of another node, or for another node', () => {
    expect(problem({ ...valid[8]!, from: 'n3' })).toBe('timeoutNow: from "n3" is not the sending node');
    expect(problem({ ...valid[8]!, to: 'n3' })).toBe('timeoutNow: to "n3" is not this node');
  });

  it('refuses entries that do not follow prevIndex one by one, or whose terms go down or pass the message term', () => {
    const append = valid[4] as Extract<RaftMessage, { type: 'append' }>;
    const e = (changes: Record<string, unknown>[]) => problem({ ...append, entries: entries.map((entry, i) => ({ ...entry, ...changes[i] })) });
    expect(e([{}, {}, {}])).toBeUndefined();
    expect(e([{ index: 6 }, {}, {}])).toBe('append: entry index 6 does not follow 4');
    expect(e([{}, { index: 7 }, {}])).toBe('append: entry index 7 does not follow 5');
    expect(e([{ term: 1 }, {}, {}])).toBe('append: entry 5 has term 1, outside [2, 3]');
    expect(e([{}, { term: 4 }, {}])).toBe('append: entry 6 has term 4, outside [2, 3]');
    expect(e([{}, {}, { term: 2 }])).toBe('append: entry 7 has term 2, outside [3, 3]');
    expect(e([{ term: 'x' }, {}, {}])).toBe('append: entry: term must be a non-negative integer');
    expect(e([{ data: null }, {}, {}])).toBe('append: entry 5: data must be an object');
    expect(e([{ data: { kind: 'drop tables' } }, {}, {}])).toBe('append: entry 5: unknown kind');
    expect(e([{}, {}, { data: { kind: 'members', membership: { members: [A], old: [] } } }])).toMatch(/^append: entry 7: membership\.old must be a non-empty array/);
    expect(problem({ ...append, entries: [null] })).toBe('append: an entry must be an object');
    expect(problem({ ...append, quiet: false })).toBe('append: quiet must be true when present');
  });

  it('refuses an image chunk beyond its count, without bytes, or with a membership from after the image', () => {
    const snapshot = valid[9] as Extract<RaftMessage, { type: 'snapshot' }>;
    expect(problem({ ...snapshot, chunk: 2 })).toBe('snapshot: chunk 2 is not below chunks 2');
    expect(problem({ ...snapshot, chunk: 0, chunks: 0 })).toBe('snapshot: chunk 0 is not below chunks 0');
    expect(problem({ ...snapshot, data: [1, 2] })).toBe('snapshot: data must be bytes');
    expect(problem({ ...snapshot, membership: { index: 10, membership: members } })).toBe('snapshot: membership.index is beyond the image');
  });

  it('refuses a refusal of another shape in a membership answer, and a proposal whose incarnation is no number', () => {
    const resp = valid[14] as Extract<RaftMessage, { type: 'membersChangeResp' }>;
    expect(problem({ ...resp, refused: 'no' })).toBe('membersChangeResp: refused must be an object when present');
    expect(problem({ ...resp, refused: { op: 'detach' } })).toBe('membersChangeResp: reason must be a string');
    expect(problem({ ...valid[6]!, incarnation: Number.NaN })).toBe('propose: incarnation must be a finite number');
  });
});
