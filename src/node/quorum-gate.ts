/**
 * What the node's API knows of its side's quorum (from the quorum watcher) and of its leader (from
 * Raft), for writes, linearizable reads and detach: whether they may go now, how long to wait first,
 * and the NO_QUORUM error they fail with once the watcher said the quorum is lost.
 *
 * Invariants: a waiter is released once a leader is known and the watcher reports a quorum (right
 * after open Raft may name its leader before the watcher has heard the peers, and the committer would
 * refuse), at once when the quorum is known lost (failing then is prompt), or at its timeout; each
 * waiter is released once; waiters are released in the order they came (one that comes while earlier ones
 * are being released goes after them), so writes waiting here go in the order they were called.
 *
 * A call the cluster refused for want of a leader (an election, or a transfer of leadership, under way)
 * waits instead for the next leader (`whenNextLeader`): the gate may be open then (this node may not have
 * heard yet that its leader went, and a leader transferring its leadership is still the leader), and a
 * call sent again at once would be refused again at once, until its resends are spent within one election.
 * Such a waiter is released once a leader is reported after it came (any report naming one: a new
 * leader, a new term, or the leader back after a pre-vote that failed) while the watcher reports a
 * quorum, at once when the quorum is known lost, or at its timeout; each once.
 *
 * Callback-based, with its timers from an injected AppTime: the simulator runs this gate on virtual time
 * (a promise would settle outside it); `ready()` is the promise form for the node's async API.
 */
import { ChorusError } from '../runtime/errors.js';
import type { AppTime } from './app-time.js';

/** Why a call waiting for the next leader was released: one is known (with a quorum), the quorum is lost, or the wait timed out. */
export type NextLeader = 'leader' | 'lost' | 'timeout';

interface LeaderWaiter {
  /** A leader was reported since it came. */
  heard: boolean;
  readonly release: (why: NextLeader) => void;
}

export class QuorumGate {
  /** What the quorum watcher last said. */
  hasQuorum = false;
  /** A quorum was reported once: quorumRegained follows a quorumLost, not the first quorum after open. */
  private seen = false;
  private reason = '';
  private leader: string | undefined;
  /** In the order they came; iterated live by wake(), so that one added meanwhile is released in turn. */
  private readonly waiters = new Set<() => void>();
  /** Calls waiting for the next leader (whenNextLeader), in the order they came. */
  private readonly leaderWaiters = new Set<LeaderWaiter>();

  constructor(private readonly time: AppTime) {}

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

  /** Raft's report of the leader this node knows (undefined: none), made each time its role, leader or term changes. */
  leaderChanged(leader: string | undefined): void {
    this.leader = leader;
    if (leader !== undefined) for (const waiter of this.leaderWaiters) waiter.heard = true;
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
    if (this.open() && this.waiters.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.whenReady(timeoutMs, resolve));
  }

  /** Calls `done` once a call may go (at once if it may now and nobody waits), or after `timeoutMs`. */
  whenReady(timeoutMs: number, done: () => void): void {
    if (this.open() && this.waiters.size === 0) return done();
    const release = () => {
      if (!this.waiters.delete(release)) return; // released already
      this.time.clearTimer(timer);
      done();
    };
    const timer = this.time.setTimer(timeoutMs, release);
    this.waiters.add(release);
    // Open with waiters: they are being released right now (wake's loop reaches this one after them).
  }

  /**
   * Calls `done` once a leader is reported after this call while the watcher reports a quorum ('leader'),
   * once the quorum is known lost ('lost', at once if it is), or after `timeoutMs` ('timeout'): for a call
   * the cluster refused for want of a leader (see the header).
   */
  whenNextLeader(timeoutMs: number, done: (why: NextLeader) => void): void {
    if (this.lost) return done('lost');
    const waiter: LeaderWaiter = {
      heard: false,
      release: (why) => {
        if (!this.leaderWaiters.delete(waiter)) return; // released already
        this.time.clearTimer(timer);
        done(why);
      },
    };
    const timer = this.time.setTimer(timeoutMs, () => waiter.release('timeout'));
    this.leaderWaiters.add(waiter);
  }

  /** The node stopped: every call waiting here is released now (each then finds the node stopped), its timer cleared. */
  releaseAll(): void {
    for (const release of [...this.waiters]) release();
    for (const waiter of [...this.leaderWaiters]) waiter.release('timeout');
  }

  /** Calls are waiting here. */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  /** True when a call may go now (ready() would resolve at once). */
  open(): boolean {
    return (this.leader !== undefined && this.hasQuorum) || this.lost;
  }

  private wake(): void {
    // The live set: a waiter added by one released here (a client's next write) is released after the rest.
    if (this.open()) for (const release of this.waiters) release();
    // A snapshot: one that comes while these are released waits for a leader after it.
    if (this.lost) for (const waiter of [...this.leaderWaiters]) waiter.release('lost');
    else if (this.leader !== undefined && this.hasQuorum) for (const waiter of [...this.leaderWaiters]) if (waiter.heard) waiter.release('leader');
  }
}
