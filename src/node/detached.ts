/**
 * A node's place in the cluster as the application drives it: `detach()` takes it out of the membership
 * (its qrank leaves the total) and leaves it a standalone read/write database; `attach()` puts it back,
 * discarding what was written while detached; `modeMask.startDetached` opens it detached, off the network.
 *
 * How: the replicator does the membership change (Raft §6, joint consensus) and answers once a leader
 * confirmed it; from then on it stands still. Here the tables are imaged at that moment (the attach
 * point: exactly the state after the entries applied so far), written to locally while detached, and
 * restored from that image on attach, so that the replicator goes on from where it stopped.
 *
 * Invariants: at most one detach or attach is under way; while detached, writes apply to the local
 * tables only and nothing of them reaches the log; the attach point is dropped once attached again.
 * Bounds: one serialized image of the tables is held while detached.
 */
import type { Store } from '../store/store.js';
import { ChorusError } from '../runtime/errors.js';
import type { MembershipDone } from '../actors/replicator-messages.js';

export type MembershipState = 'attached' | 'detaching' | 'detached' | 'attaching';

export class DetachControl {
  state: MembershipState;
  /** The tables as they were when the node left; restored on attach. */
  private attachPoint: Uint8Array[] | undefined;
  /** Local writes since the node left (when none, attach keeps the tables as they are). */
  localWrites = 0;
  private waiter: { readonly want: 'detached' | 'attached'; readonly resolve: () => void; readonly reject: (error: Error) => void; readonly timer: ReturnType<typeof setTimeout> } | undefined;
  /**
   * A detach timed out and was called off (the replicator was asked to attach again): if the replicator's
   * `detached` was already on its way, the node must not go standalone on it — a write made then would
   * stay on this node only, as the `attached` that follows does not restore the tables.
   */
  private detachCalledOff = false;

  constructor(
    private readonly nodeId: string,
    startDetached: boolean,
    private readonly timeoutMs: number,
  ) {
    this.state = startDetached ? 'detached' : 'attached';
  }

  get detached(): boolean {
    return this.state === 'detached';
  }

  /** Starts a change; resolves once the replicator reports it done, or rejects with TIMEOUT. */
  begin(want: 'detached' | 'attached', onTimeout: () => void): Promise<void> {
    if (this.waiter !== undefined) throw new ChorusError('DETACHED', `node ${this.nodeId} is ${this.state}; wait for that to finish`);
    this.state = want === 'detached' ? 'detaching' : 'attaching';
    this.detachCalledOff = false;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        if (want === 'detached') this.detachCalledOff = true;
        onTimeout();
        reject(new ChorusError('TIMEOUT', `${want === 'detached' ? 'detach' : 'attach'} of node ${this.nodeId} was not confirmed by a leader within ${this.timeoutMs} ms (writeTimeoutMs)${want === 'detached' ? '; the node stays in the cluster' : '; it goes on trying'}`));
      }, this.timeoutMs);
      this.waiter = { want, resolve, reject, timer };
    });
  }

  /** attach() is opening the network: its standalone writes are not discarded yet. Writes and linearizable reads wait for it. */
  opening: Promise<void> | undefined;

  /**
   * For an attach just begun: runs `open`, then discards the standalone writes; if `open` throws, the
   * attach is called off and the node stays detached, its writes kept. Writes and linearizable reads
   * called meanwhile wait (`opening`): run at once, a body would read tables about to be discarded, and a
   * write would carry what it read there into the cluster (found in review).
   */
  async openThenDiscard(open: () => Promise<void>, store: Store | undefined): Promise<void> {
    const discarded = this.orDetached(open).then(() => this.discardLocalWrites(store));
    this.opening = discarded.catch(() => undefined);
    try {
      await discarded;
    } finally {
      this.opening = undefined;
    }
  }

  /** Runs `step` of an attach just begun; if it throws, the attach is called off and the node stays detached. */
  private async orDetached(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (waiter !== undefined) clearTimeout(waiter.timer);
      this.state = 'detached';
      throw error;
    }
  }

  /** The replicator reports the node out (standing still) or back in, or that a leader refused the detach. */
  reached(done: MembershipDone, store: Store | undefined): void {
    const state = done.state;
    if (state === 'refused') {
      if (this.detachCalledOff) return; // the attach asked when the detach was called off answers
      this.state = 'attached';
      this.settle('detached', new ChorusError('NO_QUORUM', `detach of node ${this.nodeId} was refused by the leader: ${done.reason ?? 'no reason given'}; the node stays in the cluster`));
      return;
    }
    if (state === 'detached' && this.detachCalledOff) {
      this.state = 'attaching'; // the attach asked when the detach was called off is under way
      return;
    }
    if (state === 'attached') this.detachCalledOff = false;
    this.state = state;
    if (state === 'detached') this.keepAttachPoint(store);
    else this.attachPoint = undefined;
    this.settle(state);
  }

  /** Settles the waiter for `want`, if any: resolved, or rejected with `error`. */
  private settle(want: 'detached' | 'attached', error?: Error): void {
    const waiter = this.waiter;
    if (waiter === undefined || waiter.want !== want) return;
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  /** The tables as they are now are what attach goes back to. */
  keepAttachPoint(store: Store | undefined): void {
    this.attachPoint = store === undefined ? undefined : [...store.snapshot()];
    this.localWrites = 0;
  }

  /** Before attaching: the tables go back to the attach point if anything was written since. */
  private discardLocalWrites(store: Store | undefined): void {
    if (store !== undefined && this.attachPoint !== undefined && this.localWrites > 0) store.restoreSync(this.attachPoint, `the state of node ${this.nodeId} when it was detached`);
    this.localWrites = 0;
  }

  /** The node stops: a change under way fails. */
  fail(error: Error): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) return;
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }
}
