/**
 * What the node's API knows of its side's quorum (from the quorum watcher) and of its leader (from
 * Raft), for writes, linearizable reads and detach: whether they may go now, how long to wait first,
 * and the NO_QUORUM error they fail with once the watcher said the quorum is lost.
 *
 * Invariants: a waiter is released once a leader is known and the watcher reports a quorum (right
 * after open Raft may name its leader before the watcher has heard the peers, and the committer would
 * refuse), at once when the quorum is known lost (failing then is prompt), or at its timeout; each
 * waiter is released once.
 */
import { ChorusError } from '../runtime/errors.js';

export class QuorumGate {
  /** What the quorum watcher last said. */
  hasQuorum = false;
  /** A quorum was reported once: quorumRegained follows a quorumLost, not the first quorum after open. */
  private seen = false;
  private reason = '';
  private leader: string | undefined;
  private readonly waiters = new Set<() => void>();

  /** The watcher's report; returns the event it makes for the application, if any. */
  quorumChanged(hasQuorum: boolean, reason: string): 'quorumLost' | 'quorumRegained' | undefined {
    const before = this.hasQuorum;
    this.hasQuorum = hasQuorum;
    this.reason = reason;
    const event = before && !hasQuorum ? 'quorumLost' : !before && hasQuorum && this.seen ? 'quorumRegained' : undefined;
    if (hasQuorum) this.seen = true;
    this.wake();
    return event;
  }

  leaderChanged(leader: string | undefined): void {
    this.leader = leader;
    this.wake();
  }

  /** The watcher said this side lost its quorum (not merely: has not reported one yet). */
  get lost(): boolean {
    return this.seen && !this.hasQuorum;
  }

  /** NO_QUORUM with the watcher's reason; `prefix` and `purpose` name the call, as in "detach: … to change the membership". */
  noQuorum(prefix = '', purpose = ''): ChorusError {
    return new ChorusError('NO_QUORUM', `${prefix}this node's side of the cluster has no quorum${purpose}: ${this.reason}`);
  }

  /** Resolves once a call may go (see the invariants), or after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void> {
    if (this.open()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** True when a call may go now (ready() would resolve at once). */
  open(): boolean {
    return (this.leader !== undefined && this.hasQuorum) || this.lost;
  }

  private wake(): void {
    if (this.open()) for (const done of [...this.waiters]) done();
  }
}
