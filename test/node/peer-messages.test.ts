/**
 * The allow-list a node's transport applies to peers' messages (src/node/peer-messages.ts): the
 * replicator takes `raft` from its namesake, the watcher `heartbeat` from its namesake, and nothing
 * else reaches any actor: not the other actors, not the internal types of these two.
 */
import { describe, expect, it } from 'vitest';
import { peerMessageProblem } from '../../src/node/peer-messages.js';
import type { Message } from '../../src/runtime/actor.js';

const raft = { type: 'raft', msg: { type: 'timeoutNow', term: 1, from: 'n1', to: 'n2' } };
const check = (from: string, to: string, body: Message) => peerMessageProblem({ from, to, body }, 'n1', 'n2');

describe('peerMessageProblem', () => {
  it('delivers a replicator Raft message and a watcher heartbeat from their namesakes', () => {
    expect(check('replicator', 'replicator', raft)).toBeUndefined();
    expect(check('watcher', 'watcher', { type: 'heartbeat' })).toBeUndefined();
  });

  it.each([
    ['committer', 'committer', { type: 'commit', id: 1, changeSet: new Uint8Array(1), bytes: 1 }, /no actor here takes messages from other nodes/],
    ['flusher', 'flusher', { type: 'setWindow' }, /no actor here takes messages from other nodes/],
    ['listener', 'listener', { type: 'link', peer: 'n1', up: false, reason: 'forged' }, /no actor here takes messages from other nodes/],
    ['app', 'app', { type: 'apply' }, /no actor here takes messages from other nodes/],
    ['replicator', 'toString', { type: 'x' }, /no actor here takes messages from other nodes/],
    ['watcher', 'replicator', raft, /replicator takes messages only from its namesake/],
    ['replicator', 'watcher', { type: 'heartbeat' }, /watcher takes messages only from its namesake/],
    ...['persisted', 'propose', 'tick', 'transferLeadership', 'imageTaken', 'readIndex', 'detach', 'attach'].map((type) =>
      ['replicator', 'replicator', { type, seq: 1 }, new RegExp(`type "${type}" is not one a peer may send \\(only raft\\)`)] as const),
    ...['localStatus', 'stopCluster', 'watchTick', 'link'].map((type) =>
      ['watcher', 'watcher', { type }, new RegExp(`type "${type}" is not one a peer may send \\(only heartbeat\\)`)] as const),
    ['replicator', 'replicator', { type: 'raft', msg: { ...raft.msg, from: 'n3' } }, /raft timeoutNow: from "n3" is not the sending node/],
    ['watcher', 'watcher', { type: 'heartbeat', stopAt: -1 }, /stopAt must be a non-negative integer/],
  ] as const)('refuses %s -> %s %j', (from, to, body, reason) => {
    expect(check(from, to, body as Message)).toMatch(reason);
  });
});
