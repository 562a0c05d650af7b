/**
 * The quorum questions of elections and check-quorum (Raft §5.2, thesis §6.2), as pure functions over
 * the qrank (or custom) quorum rule.
 */
import type { NodeId, QuorumRule } from './quorum.js';
import type { Progress } from './progress.js';

/** Won once the granted votes are a quorum; lost once the not-refused ones cannot be any more. */
export function tally(votes: ReadonlyMap<NodeId, boolean>, voters: readonly NodeId[], isQuorum: QuorumRule): 'won' | 'lost' | 'pending' {
  const granted = new Set<NodeId>();
  const possible = new Set<NodeId>(voters);
  for (const [id, yes] of votes) {
    if (yes) granted.add(id);
    else possible.delete(id);
  }
  if (isQuorum(granted)) return 'won';
  return isQuorum(possible) ? 'pending' : 'lost';
}

/** Leader: did a quorum answer since the last check? Starts the next round of the check. */
export function quorumActive(self: NodeId, progress: ReadonlyMap<NodeId, Progress>, isQuorum: QuorumRule): boolean {
  const active = new Set<NodeId>([self]);
  for (const [id, pr] of progress) {
    if (pr.recentActive) active.add(id);
    pr.recentActive = false;
  }
  return isQuorum(active);
}
