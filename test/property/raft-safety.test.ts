/**
 * Raft's safety properties (Ongaro & Ousterhout 2014, Figure 3) under generated schedules of ticks,
 * deliveries, losses, duplications, reorderings, partitions, crashes and restarts, nodes leaving and
 * rejoining the membership (§6), with qrank-weighted voters; then liveness: once healed, the cluster elects a leader, converges and commits again.
 * fast-check shrinks a failure to a short schedule and prints the seed that replays it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/cluster/raft/messages.js';
import type { Voter } from '../../src/cluster/raft/quorum.js';
import { raftMessageProblem } from '../../src/cluster/raft/message-guard.js';
import { RaftNet } from '../cluster/raft/net.js';

type Action =
  | { readonly kind: 'tick'; readonly node: number; readonly times: number }
  | { readonly kind: 'deliver' | 'drop' | 'duplicate'; readonly at: number }
  | { readonly kind: 'partition'; readonly mask: number }
  | { readonly kind: 'heal' }
  | { readonly kind: 'propose'; readonly node: number }
  | { readonly kind: 'crash' | 'restart' | 'compact' | 'detach' | 'attach'; readonly node: number };

const actionWeighted = (w: { readonly compact: number; readonly propose: number; readonly deliver: number; readonly members: number }): fc.Arbitrary<Action> => fc.oneof(
  { weight: w.members, arbitrary: fc.record({ kind: fc.constantFrom('detach' as const, 'attach' as const), node: fc.nat(4) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('tick' as const), node: fc.nat(4), times: fc.integer({ min: 1, max: 12 }) }) },
  { weight: w.deliver, arbitrary: fc.record({ kind: fc.constant('deliver' as const), at: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const), at: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partition' as const), mask: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('heal' as const) }) },
  { weight: w.propose, arbitrary: fc.record({ kind: fc.constant('propose' as const), node: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('crash' as const, 'restart' as const), node: fc.nat(4) }) },
  { weight: w.compact, arbitrary: fc.record({ kind: fc.constant('compact' as const), node: fc.nat(4) }) },
);
const action = actionWeighted({ compact: 1, propose: 4, deliver: 10, members: 1 });
/** Busy, compacting nodes: followers that fall behind are sent images while faults go on (§7). */
const compactingAction = actionWeighted({ compact: 3, propose: 8, deliver: 30, members: 1 });

/** 3 or 5 voters with qranks 1-3; in some clusters the last one is an arbiter (log, no tables). */
const cluster = fc.tuple(
  fc.oneof(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 5, maxLength: 5 })),
  fc.boolean(),
).map(([ranks, arbiter]) => ranks.map((qrank, i): Voter => ({ id: `n${i}`, qrank, ...(arbiter && i === ranks.length - 1 ? { arbiter: true } : {}) })));

/** Nodes with a state machine (an arbiter's applied list restarts empty at each image it installs). */
const dataIds = (net: RaftNet) => net.ids().filter((id) => !net.node(id).dataless);

const key = (e: Entry) => `${e.index}@${e.term}`;

function checkSafety(net: RaftNet): void {
  // Election safety: at most one leader per term.
  for (const [term, leaders] of net.leadersByTerm) expect([term, leaders.size]).toEqual([term, 1]);
  // State machine safety: every node applied a prefix of one common sequence.
  const sequences = dataIds(net).map((id) => net.applied.get(id)!.map(key));
  const longest = sequences.reduce((a, b) => (b.length > a.length ? b : a));
  for (const s of sequences) expect(s).toEqual(longest.slice(0, s.length));
  // Leader completeness (§5.4): a leader holds every entry committed in an earlier term. A deposed
  // leader of an older term that has not heard of its successor yet is exempt.
  for (const leader of net.liveLeaders()) {
    const raft = net.node(leader);
    for (const [index, { entryTerm, seenInTerm }] of net.committedAt) {
      if (seenInTerm >= raft.term) continue;
      // Compacted entries are held in the leader's image (state machine safety above checks its content).
      const held = index < raft.log.compactedIndex ? entryTerm : raft.log.term(index);
      expect([leader, index, held]).toEqual([leader, index, entryTerm]);
    }
  }
}

function run(voters: Voter[], seed: number, preVote: boolean, retained: number, actions: readonly Action[]): void {
  // Without pre-vote the vote path itself must keep stale candidates out (§5.4.1); test both. Few entries
  // retained behind an image make lagging nodes catch up by state transfer (§7) rather than from the log.
  const net = new RaftNet({ voters, seed, preVote, logTransactionsRetained: retained });
  const ids = net.ids();
  let proposals = 0;
  for (const a of actions) {
    const id = 'node' in a ? ids[a.node % ids.length]! : undefined;
    switch (a.kind) {
      case 'tick':
        net.tick(id!, a.times);
        break;
      case 'deliver':
        if (net.inFlight.length > 0) net.deliverOne(a.at % net.inFlight.length);
        break;
      case 'drop':
        if (net.inFlight.length > 0) net.inFlight.splice(a.at % net.inFlight.length, 1);
        break;
      case 'duplicate':
        if (net.inFlight.length > 0) net.inFlight.push(net.inFlight[a.at % net.inFlight.length]!);
        break;
      case 'partition':
        net.heal();
        net.partition(ids.filter((_, i) => a.mask & (1 << i)), ids.filter((_, i) => !(a.mask & (1 << i))));
        break;
      case 'heal':
        net.heal();
        break;
      case 'propose':
        if (!net.down.has(id!)) net.propose(id!, `p${proposals++}`);
        break;
      case 'crash':
        net.crash(id!);
        break;
      case 'restart':
        if (net.down.has(id!)) net.boot(id!);
        break;
      case 'compact':
        if (!net.down.has(id!)) net.compact(id!);
        break;
      case 'detach':
        if (!net.down.has(id!)) net.detach(id!);
        break;
      case 'attach':
        if (net.frozen.has(id!)) net.attach(id!);
        break;
    }
    checkSafety(net);
  }
  // Liveness: heal, restart everyone, and let time pass until a leader commits a new entry everywhere.
  // Without pre-vote, a node with a stale log keeps starting elections it cannot win and deposing
  // leaders, so this may take several election rounds: allow up to 100 of them.
  net.heal();
  for (const id of ids) if (net.down.has(id)) net.boot(id);
  for (const id of ids) if (net.frozen.has(id) || net.asking.get(id) === 'detach') net.attach(id);
  const data = dataIds(net);
  const everywhere = () => data.every((id) => net.commands(id).includes('final'));
  // Converged: 'final' is everywhere, every node is a member again, and all applied the same entries.
  const converged = () => {
    if (!everywhere() || net.asking.size > 0 || net.frozen.size > 0) return false;
    const first = net.applied.get(data[0]!)!.map(key).join();
    return data.every((id) => net.applied.get(id)!.map(key).join() === first) && ids.every((id) => net.node(id).log.committed === net.node(data[0]!).log.committed);
  };
  for (let round = 0; round < 100 && !converged(); round++) {
    // Nodes compact as they go, so a node that comes back far behind is sent an image (§7).
    if (round % 2 === 1) for (const id of ids) net.compact(id);
    net.tickAll(10);
    const leader = net.leader();
    if (leader !== undefined && !net.commands(leader).includes('final')) net.propose(leader, 'final');
  }
  expect(everywhere()).toBe(true);
  expect([...net.asking, ...net.frozen]).toEqual([]);
  checkSafety(net);
  // The guard a node's transport applies to a peer's Raft message (message-guard.ts) refuses none an honest node sends.
  for (const m of net.sent) if (raftMessageProblem(m, m.from, m.to) !== undefined) expect([m, raftMessageProblem(m, m.from, m.to)]).toBeUndefined();
  const first = net.applied.get(data[0]!)!.map(key);
  for (const id of data) expect(net.applied.get(id)!.map(key)).toEqual(first);
  // An arbiter holds the same log: it committed as far as everyone.
  for (const id of ids) expect([id, net.node(id).log.committed]).toEqual([id, net.node(data[0]!).log.committed]);
}

describe('Raft safety under generated fault schedules', () => {
  it('keeps election safety, state machine safety and leader completeness, then converges', () => {
    fc.assert(
      fc.property(cluster, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.boolean(), fc.integer({ min: 0, max: 4 }), fc.array(action, { minLength: 20, maxLength: 400 }), (voters, seed, preVote, retained, actions) => {
        run(voters, seed, preVote, retained, actions);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps them when nodes compact their logs and catch up by state transfer', () => {
    fc.assert(
      fc.property(cluster, fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 3 }), fc.array(compactingAction, { minLength: 50, maxLength: 400 }), (voters, seed, retained, actions) => {
        run(voters, seed, true, retained, actions);
      }),
      { numRuns: 150 },
    );
  });
});
