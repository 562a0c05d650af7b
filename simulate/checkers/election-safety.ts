/**
 * Raft's Election Safety (§5.2) as a run observes it: at most one leader in any term. Every node's
 * replicator reports its role changes to its application (raftState); a node saying it leads a term
 * another node already led is a violation, whatever happened to the entries (commit agreement may not
 * see it when neither leader commits anything).
 *
 * Bound: one node name per term that had a leader; terms grow by elections only, so a run keeps a few
 * thousand at most.
 */
export class ElectionSafety {
  private readonly leaders = new Map<number, string>();
  private readonly violations: string[] = [];

  /** A node's report of its role in `term`. */
  observe(node: string, role: string, term: number): void {
    if (role !== 'leader') return;
    const first = this.leaders.get(term);
    if (first === undefined) this.leaders.set(term, node);
    else if (first !== node && this.violations.length < 10) this.violations.push(`two leaders in term ${term}: ${first} and ${node}`);
  }

  problems(): string[] {
    return this.violations.length === 0 ? [] : [`election safety (Raft §5.2): ${this.violations.join('; ')}`];
  }
}
