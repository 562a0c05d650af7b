/**
 * This node's writes from their call to their outcome: the rules of a node's write bookkeeping, run by
 * the node (through PendingWrites, pending-writes.ts, which makes promises of them) and by the simulator
 * on virtual time (simulate/node-app.ts), so that its seeds exercise these very rules. Callbacks only,
 * no promises (a promise would settle outside the simulator's virtual time); time and timers come from an
 * injected AppTime, where ids start from the caller (random in a node, the seed's draw in the simulator).
 *
 * A write called waits at the quorum gate while no leader with a quorum is known (right after open, or
 * during an election), at most `gateWaitMs`, in the order called; it fails NO_QUORUM at once when its side
 * is known to have lost its quorum. Then phase 1 makes its change-set, and it is submitted: it gets an id,
 * a deadline (`writeTimeoutMs`) and exactly one outcome — applied, refused, rejected at apply, timed out,
 * or failed with the node.
 *
 * Resubmission: a write refused during an election (or a transfer of leadership) on a side that holds a
 * quorum (nothing of it is in the log) waits for the next leader reported after the refusal (the gate's
 * whenNextLeader), at most `gateWaitMs` at a time, and goes again to it: not at once, since the leader
 * this node knows then may be the one that just went (or the one transferring), and a copy sent to it is
 * refused again within milliseconds, so that every resend would be spent within one election. A wait
 * with no leader at its end counts as one resend (what a copy sent then would have been: refused); the
 * quorum lost fails the write at once (NO_QUORUM). A write forwarded to a leader that has since gone may be
 * lost with it (Raft drops proposals it cannot take), so it goes again through the new leader. Both at
 * most `noLeaderResubmitsMax` times. Safe if the first copy did reach the log: the second then writes
 * keys the first changed after its snapshot, certification rejects it as a conflict on every node alike,
 * and the write settles once, with whichever copy applies first.
 *
 * A refusal fails a write only when every copy sent was refused: a refusal is the answer for one copy
 * (nothing of that copy is in the log), and another may still be in a leader's log and commit. A write
 * sent again after a leader change, whose second copy the new leader refuses (clusterRecvBuf) while the
 * first, taken by the old leader, commits under the new one, would otherwise be reported OVERLOADED and
 * also be applied. Such a write settles when a copy applies, or with TIMEOUT (its outcome unknown).
 *
 * Ids are this run's own: they start at `idStart` (a random point of a 2^48 range in a node, runIdStart),
 * and an applied entry settles a write only when it carries the very bytes the write sent. An entry this
 * node wrote in an earlier run (forwarded, then the node stopped before it heard the commit) may commit
 * after a restart: with ids from 1 it settled the new write of the same id with the old write's outcome,
 * and the new write, acknowledged, was then certified as a conflict everywhere (lost).
 */
import { ChorusError } from '../runtime/errors.js';
import type { ApplyResult } from '../store/store.js';
import type { CommitRefused, CommitRequest } from '../actors/committer.js';
import type { ChangeSet } from '../store/changeset.js';
import { encodeChangeSet } from '../store/changeset.js';
import { noLeaderResubmitsMax } from '../limits.js';
import type { AppTime, AppTimer } from './app-time.js';
import type { QuorumGate } from './quorum-gate.js';

/** A write's outcome: its result once applied here, or why it failed (what phase 1 threw, as thrown). */
export type WriteOutcome = (result: ApplyResult | undefined, error: Error | undefined) => void;

/** The writer's schema, carried with each write (modeMask.binaryEvolution), and its encoded size. */
export interface WriteSchema {
  readonly def: unknown;
  readonly bytes: number;
}

interface PendingWrite {
  readonly outcome: WriteOutcome;
  /** When it times out (AppTime ms): submit time plus writeTimeoutMs. */
  readonly deadline: number;
  readonly request: CommitRequest;
  /** The change-set as made here: applied as it is when it comes back committed (no decoding). */
  readonly changeSet: ChangeSet;
  /** Times it was submitted again after a refusal or a leader change. */
  resubmits: number;
  /** Copies handed to the committer whose refusal has not come: each may be in a log. */
  copiesOut: number;
  /** The leader this node knew when the write was last submitted, and its term. */
  leader: string | undefined;
  term: number;
  /** Refused for want of a leader: it waits for the next one at the gate (leaderChanged leaves it to the gate). */
  awaitingLeader: boolean;
  /** A state image was installed here while a copy was out: that copy may have applied inside it, unseen. */
  mayBeInImage: boolean;
}

/** What the writes need from their node. */
export interface WriteRoutes {
  readonly nodeId: string;
  readonly writeTimeoutMs: number;
  /**
   * How long a write waits at the gate for a leader with a quorum before it goes all the same, and at most
   * how long a refused one waits for the next leader at a time (about two elections).
   */
  readonly gateWaitMs: number;
  readonly gate: QuorumGate;
  readonly time: AppTime;
  /** This run's first write id. */
  readonly idStart: number;
  /** Hands a request to the committer; an error when the host did not take it. */
  send(request: CommitRequest): Error | undefined;
  /** The leader this node knows now. */
  leader(): string | undefined;
  /** The term this node knows now. */
  term(): number;
  /** Why the node is stopped, if it is: writes not yet submitted fail with it, and refusals are final. */
  stopped(): Error | undefined;
  /**
   * Throws (VALIDATION) when the other nodes would read `encoded` back different from `changeSet` as
   * this node applies it (Store.checkEncoded); the write is then refused before it leaves.
   */
  checkEncoded?(changeSet: ChangeSet, encoded: Uint8Array): void;
}

export class WriteCore {
  private readonly pending = new Map<number, PendingWrite>();
  private nextId: number;
  /** Writes called but not submitted yet (waiting at the gate, or running phase 1). */
  private starting = 0;
  /** Called once no write is pending or starting. */
  private drainWaiters: (() => void)[] = [];
  /**
   * One timer for every pending write, armed for the oldest deadline: writes all wait writeTimeoutMs, so
   * `pending` (in submit order) is in deadline order too. Left armed when the last write settles (it then
   * fires once and finds nothing): clearing it and arming it again cost a timer per write on a node whose
   * writes come one at a time.
   */
  private timer: AppTimer | undefined;

  constructor(private readonly routes: WriteRoutes) {
    this.nextId = routes.idStart;
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * A write called: through the gate (see the header), then `phase1` makes its change-set (what it throws
   * is the outcome: VALIDATION, UNIQUE) and it is submitted. `outcome` is called exactly once.
   */
  start(phase1: () => ChangeSet, schema: WriteSchema | undefined, outcome: WriteOutcome): void {
    this.starting++;
    const { gate } = this.routes;
    // No closure when the gate is open and nobody waits at it: the common case.
    if (gate.open() && !gate.waiting) this.pass(phase1, schema, outcome);
    else gate.whenReady(this.routes.gateWaitMs, () => this.pass(phase1, schema, outcome));
  }

  private pass(phase1: () => ChangeSet, schema: WriteSchema | undefined, outcome: WriteOutcome): void {
    let error = this.routes.stopped();
    // After quorumLost, refuse at once here: the committer hears it too, but on another link, maybe later.
    if (error === undefined && this.routes.gate.lost) error = this.routes.gate.noQuorum();
    let changeSet: ChangeSet | undefined;
    if (error === undefined) {
      try {
        changeSet = phase1();
      } catch (thrown) {
        error = thrown as Error;
      }
    }
    if (changeSet !== undefined) this.submit(changeSet, schema, outcome);
    this.starting--; // after submit() has put it among the pending writes
    if (changeSet === undefined) outcome(undefined, error);
    this.maybeDrained();
  }

  /**
   * Sends a change-set (its phase 1 done) to the committer, encoded once here for the whole way through
   * the log; `outcome` is called once its outcome is known here.
   */
  submit(changeSet: ChangeSet, schema: WriteSchema | undefined, outcome: WriteOutcome): void {
    const id = this.nextId++;
    const { writeTimeoutMs, time } = this.routes;
    const encoded = encodeChangeSet(changeSet);
    if (this.routes.checkEncoded !== undefined) {
      try {
        this.routes.checkEncoded(changeSet, encoded);
      } catch (error) {
        outcome(undefined, error as Error);
        return;
      }
    }
    const bytes = encoded.byteLength;
    const request: CommitRequest = schema === undefined ? { type: 'commit', id, changeSet: encoded, bytes } : { type: 'commit', id, changeSet: encoded, bytes: bytes + schema.bytes, schema: schema.def };
    this.pending.set(id, { outcome, deadline: time.now() + writeTimeoutMs, request, changeSet, resubmits: 0, copiesOut: 0, leader: this.routes.leader(), term: this.routes.term(), awaitingLeader: false, mayBeInImage: false });
    this.timer ??= time.setTimer(writeTimeoutMs, this.expire);
    this.send(request);
  }

  /** The timer: writes past their deadline fail with TIMEOUT; armed again for the oldest one left. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const { nodeId, writeTimeoutMs, time } = this.routes;
    const now = time.now();
    for (const [id, write] of this.pending) {
      if (write.deadline > now) {
        this.timer = time.setTimer(write.deadline - now, this.expire);
        return;
      }
      this.settle(id, undefined, new ChorusError('TIMEOUT', `write ${id} on ${nodeId} was not committed within ${writeTimeoutMs} ms (writeTimeoutMs)`));
    }
  };

  /**
   * Write `id`'s change-set as made here, if it is pending and `encoded` are the very bytes it was sent
   * as (same object: hosts that pass messages by reference; a host that copies them, or an entry of an
   * earlier run of this node that happens to carry the same id, gets undefined and decodes the bytes).
   */
  changeSet(id: number, encoded: Uint8Array): ChangeSet | undefined {
    const write = this.pending.get(id);
    return write !== undefined && write.request.changeSet === encoded ? write.changeSet : undefined;
  }

  /**
   * A committed entry of this node's applied here with `result` or `error`: it settles write `id` if
   * it is that write's (`encoded` its very bytes, or equal ones when a host copied them), not an entry
   * of an earlier run of this node.
   */
  applied(id: number, encoded: Uint8Array, result: ApplyResult | undefined, error: Error | undefined): void {
    const write = this.pending.get(id);
    if (write === undefined || !sameBytes(write.request.changeSet, encoded)) return;
    // A copy rejected at apply says this write did not happen only if no other copy did: one that applied
    // inside a state image installed here was never seen. While another copy (not refused) may be there, it
    // settles when a copy applies, or with TIMEOUT (its outcome unknown), not as rejected: it may be in
    // every node's tables.
    if (error !== undefined && write.mayBeInImage && write.copiesOut > 1) {
      write.copiesOut--;
      return;
    }
    this.settle(id, result, error);
  }

  /** This node installed a state image (a state transfer): a copy of a write out now may be in it. */
  imageInstalled(): void {
    for (const write of this.pending.values()) if (write.copiesOut > 0) write.mayBeInImage = true;
  }

  /** The write's outcome (from apply, a refusal, its timer or the node stopping); later ones are ignored. */
  settle(id: number, result: ApplyResult | undefined, error: Error | undefined): void {
    const write = this.pending.get(id);
    if (write === undefined) return;
    this.pending.delete(id);
    write.outcome(result, error);
    this.maybeDrained();
  }

  private maybeDrained(): void {
    if (this.pending.size === 0 && this.starting === 0 && this.drainWaiters.length > 0) for (const done of this.drainWaiters.splice(0)) done();
  }

  /**
   * Every pending write fails with `error` (the node stops); `sent`: a copy of it went to the committer
   * and may be in a leader's log, so it may still commit (its outcome is unknown). Writes still at the
   * gate fail with `stopped()` when they leave it.
   */
  failAll(error: (sent: boolean) => Error): void {
    if (this.timer !== undefined) this.routes.time.clearTimer(this.timer);
    this.timer = undefined;
    for (const [id, write] of [...this.pending]) this.settle(id, undefined, error(write.copiesOut > 0));
  }

  /** Calls `done` once no write is pending or starting (at once if none is). */
  whenDrained(done: () => void): void {
    if (this.pending.size === 0 && this.starting === 0) done();
    else this.drainWaiters.push(done);
  }

  /** The committer did not take these: fail them, or (an election on a side with quorum) send them to the next leader. */
  refused(refused: CommitRefused): void {
    for (const id of refused.ids) {
      const write = this.pending.get(id);
      if (write === undefined) continue;
      write.copiesOut = Math.max(0, write.copiesOut - 1);
      if (write.awaitingLeader) continue; // another copy refused: the write waits for a leader already
      if (!refused.retryable || write.resubmits >= noLeaderResubmitsMax || this.routes.stopped() !== undefined) {
        // Another copy out may be in a log: this write's outcome is that copy's.
        if (write.copiesOut === 0) this.settle(id, undefined, new ChorusError(refused.code, refused.reason));
        continue;
      }
      write.resubmits++;
      this.awaitLeader(id, write, refused.reason);
    }
  }

  /** Write `id`, refused for want of a leader (`reason`), waits for the next one and goes to it (see the header). */
  private awaitLeader(id: number, write: PendingWrite, reason: string): void {
    write.awaitingLeader = true;
    const { gate, gateWaitMs, nodeId } = this.routes;
    gate.whenNextLeader(gateWaitMs, (why) => {
      if (this.pending.get(id) !== write) return; // settled meanwhile: a copy applied, its timeout, the node stopped
      write.awaitingLeader = false;
      if (this.routes.stopped() !== undefined) return; // failAll settles it
      // At the timeout a leader known with a quorum (none reported since: this node never heard the old one
      // go, or a transfer was given up) takes it; none known, the wait was one resend's worth.
      if (why === 'leader' || (why === 'timeout' && gate.open() && !gate.lost)) {
        write.leader = this.routes.leader();
        write.term = this.routes.term();
        this.send(write.request);
        return;
      }
      if (why === 'timeout' && write.resubmits < noLeaderResubmitsMax) {
        write.resubmits++;
        this.awaitLeader(id, write, reason);
        return;
      }
      // Another copy out may be in a log: this write's outcome is that copy's.
      if (write.copiesOut > 0) return;
      const error = why === 'lost' ? gate.noQuorum() : new ChorusError('NO_QUORUM', `write ${id} on ${nodeId}: ${reason}; no leader with a quorum was known within ${gateWaitMs} ms (gateWaitMs), ${noLeaderResubmitsMax} times over (noLeaderResubmitsMax)`);
      this.settle(id, undefined, error);
    });
  }

  /**
   * A new leader, or the same one in a new term: writes last sent in another leader's or term's time go
   * again, through it. The same leader in a later term may have lost entries in between (another leader
   * this node never saw overwrote them), so a change of term alone counts too.
   */
  leaderChanged(leader: string, term: number): void {
    for (const write of this.pending.values()) {
      if (write.awaitingLeader || (write.leader === leader && write.term === term) || write.resubmits >= noLeaderResubmitsMax) continue;
      write.leader = leader;
      write.term = term;
      write.resubmits++;
      this.send(write.request);
    }
  }

  private send(request: CommitRequest): void {
    const write = this.pending.get(request.id);
    const error = this.routes.send(request);
    if (error === undefined) {
      if (write !== undefined) write.copiesOut++;
    } else if (write === undefined || write.copiesOut === 0) {
      this.settle(request.id, undefined, new ChorusError('OVERLOADED', `write ${request.id} not accepted: ${error.message}`));
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
