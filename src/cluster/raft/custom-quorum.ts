/**
 * A custom quorum rule (`checkQuorum(nodeIds)` at open) in a form every host can carry: the rule is asked
 * once, at open, about every subset of the voters, and the answers travel as a bit table (2^n bits; for
 * the 16 voters a custom rule may have, 8 KiB). Actors on worker threads cannot receive a function; a
 * table they can, and a table cannot change its mind later.
 *
 * At open the table is checked for what Raft relies on (§5.2, §5.4): the whole cluster is a quorum; the
 * rule is monotone (adding a voter to a quorum keeps it one); and no two disjoint sets are both quorums
 * (two leaders at once). A rule that fails is refused with the sets that show it.
 */
import { assert } from '../../runtime/assert.js';
import { customQuorumVotersMax } from '../../limits.js';
import type { NodeId, QuorumRule } from './quorum.js';
import { findDisjointQuorums } from './quorum.js';

/** Asks `rule` about every subset of `ids` (subset i holds ids[k] when bit k of i is set). */
export function quorumTable(ids: readonly NodeId[], rule: (nodeIds: readonly NodeId[]) => boolean): Uint8Array {
  assert(ids.length <= customQuorumVotersMax, `quorumTable: at most ${customQuorumVotersMax} voters`);
  const table = new Uint8Array(Math.ceil((1 << ids.length) / 8));
  for (let mask = 0; mask < 1 << ids.length; mask++) {
    if (rule(ids.filter((_, k) => mask & (1 << k))) === true) table[mask >> 3]! |= 1 << (mask & 7);
  }
  return table;
}

/** The rule a table describes. */
export function tableRule(ids: readonly NodeId[], table: Uint8Array): QuorumRule {
  assert(table.length === Math.ceil((1 << ids.length) / 8), 'tableRule: table size does not match the voters');
  const bit = new Map(ids.map((id, k) => [id, 1 << k] as const));
  return (set) => {
    let mask = 0;
    for (const id of set) mask |= bit.get(id) ?? 0;
    return (table[mask >> 3]! & (1 << (mask & 7))) !== 0;
  };
}

/** What is wrong with a table as a quorum rule, or undefined. */
export function quorumTableProblem(ids: readonly NodeId[], table: Uint8Array): string | undefined {
  const n = ids.length;
  const has = (mask: number) => (table[mask >> 3]! & (1 << (mask & 7))) !== 0;
  const members = (mask: number) => JSON.stringify(ids.filter((_, k) => mask & (1 << k)));
  const all = (1 << n) - 1;
  if (!has(all)) return `the whole cluster ${members(all)} is not a quorum`;
  for (let mask = 0; mask <= all; mask++) {
    if (!has(mask)) continue;
    for (let k = 0; k < n; k++) {
      if (!has(mask | (1 << k))) return `${members(mask)} is a quorum but ${members(mask | (1 << k))} is not (a quorum must stay one when a node joins it)`;
    }
  }
  const disjoint = findDisjointQuorums(ids, tableRule(ids, table));
  if (disjoint !== undefined) return `${JSON.stringify(disjoint[0])} and ${JSON.stringify(disjoint[1])} are both quorums and share no node: two leaders could be elected at once`;
  return undefined;
}
