/**
 * The guards on the two actor messages that cross between nodes (src/actors/peer-guards.ts): a
 * replicator's `raft` (its Raft message goes through message-guard.ts, tested there) and a watcher's
 * `heartbeat`. A well-formed one passes; each malformed field is refused, naming it.
 */
import { describe, expect, it } from 'vitest';
import { heartbeatProblem, peerRaftProblem } from '../../src/actors/peer-guards.js';

const status = { role: 'follower', term: 3, leader: 'n1', commit: 5, applied: 4, lastIndex: 6, membership: { members: ['n1', 'n2'], old: ['n1'] } };

describe('heartbeatProblem', () => {
  it('takes a heartbeat with a full status, one without the optional fields, and one with no status (a node that has not reported yet)', () => {
    expect(heartbeatProblem({ type: 'heartbeat', status, stopAt: 4 })).toBeUndefined();
    const { leader: _l, membership: _m, ...bare } = status;
    expect(heartbeatProblem({ type: 'heartbeat', status: bare })).toBeUndefined();
    expect(heartbeatProblem({ type: 'heartbeat' })).toBeUndefined();
  });

  it.each([
    ['not an object', 'heartbeat', /not a \{ type: 'heartbeat' \} message/],
    ['another type', { type: 'localStatus', status }, /not a \{ type: 'heartbeat' \} message/],
    ['stopAt negative', { type: 'heartbeat', stopAt: -1 }, /stopAt must be a non-negative integer/],
    ['stopAt a string', { type: 'heartbeat', stopAt: '4' }, /stopAt must be a non-negative integer/],
    ['status not an object', { type: 'heartbeat', status: [1] }, /status must be an object/],
    ['status.role missing', { type: 'heartbeat', status: { ...status, role: undefined } }, /status\.role must be a string/],
    ['status.leader a number', { type: 'heartbeat', status: { ...status, leader: 1 } }, /status\.leader must be a node id/],
    ['status.term fractional', { type: 'heartbeat', status: { ...status, term: 1.5 } }, /status\.term must be a non-negative integer/],
    ['status.commit missing', { type: 'heartbeat', status: { ...status, commit: undefined } }, /status\.commit must be a non-negative integer/],
    ['status.applied negative', { type: 'heartbeat', status: { ...status, applied: -2 } }, /status\.applied must be a non-negative integer/],
    ['status.lastIndex NaN', { type: 'heartbeat', status: { ...status, lastIndex: Number.NaN } }, /status\.lastIndex must be a non-negative integer/],
    ['status.membership without members', { type: 'heartbeat', status: { ...status, membership: { members: [] } } }, /status\.membership\.members must be a non-empty array/],
    ['status.membership.old of numbers', { type: 'heartbeat', status: { ...status, membership: { members: ['n1'], old: [1] } } }, /status\.membership\.old must be a non-empty array/],
  ])('refuses %s', (_what, body, reason) => {
    expect(heartbeatProblem(body)).toMatch(reason);
  });
});

describe('peerRaftProblem', () => {
  const msg = { type: 'timeoutNow', term: 1, from: 'n1', to: 'n2' };
  it("takes { type: 'raft', msg } when msg is a Raft message from the sending node to this one", () => {
    expect(peerRaftProblem({ type: 'raft', msg }, 'n1', 'n2')).toBeUndefined();
  });
  it('refuses another type, a missing msg, and a msg in the name of another node', () => {
    expect(peerRaftProblem({ type: 'persisted', seq: 1 }, 'n1', 'n2')).toBe("not a { type: 'raft' } message");
    expect(peerRaftProblem({ type: 'raft' }, 'n1', 'n2')).toBe('raft not a message object');
    expect(peerRaftProblem({ type: 'raft', msg }, 'n3', 'n2')).toBe('raft timeoutNow: from "n1" is not the sending node');
  });
});
