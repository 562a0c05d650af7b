/**
 * This node's writes between phase 1 and their outcome: each gets an id, a deadline (`writeTimeoutMs`) and
 * exactly one settlement — applied, refused, rejected at apply, timed out, or failed with the node.
 *
 * Resubmission: a write refused during an election on a side that holds a quorum (nothing of it is in
 * the log) goes again once a leader is known; a write forwarded to a leader that has since gone may be
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
 * Ids are this run's own: they start at a random point of a 2^48 range instead of 1, and an applied
 * entry settles a write only when it carries the very bytes the write sent. An entry this node wrote in
 * an earlier run (forwarded, then the node stopped before it heard the commit) may commit after a
 * restart: with ids from 1 it settled the new write of the same id with the old write's outcome, and
 * the new write, acknowledged, was then certified as a conflict everywhere (lost).
 */
import { randomInt } from 'node:crypto';
import { ChorusError, StoppedError } from '../runtime/errors.js';
import type { ApplyResult } from '../store/store.js';
import type { CommitRefused, CommitRequest } from '../actors/committer.js';
import type { ChangeSet } from '../store/changeset.js';
import { encodeChangeSet } from '../store/changeset.js';
import { noLeaderResubmitsMax } from '../limits.js';

interface PendingWrite {
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  /** When it times out (performance.now() ms): submit time plus writeTimeoutMs. */
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
}

/** What the writes need from their node. */
export interface WriteRoutes {
  readonly nodeId: string;
  readonly writeTimeoutMs: number;
  /** Hands a request to the committer; an error when the host did not take it. */
  send(request: CommitRequest): Error | undefined;
  /** The leader this node knows now. */
  leader(): string | undefined;
  /** The term this node knows now. */
  term(): number;
  /** Resolves once a leader is known, or after about an election's time. */
  leaderSoon(): Promise<void>;
  stopped(): boolean;
}

export class PendingWrites {
  private readonly pending = new Map<number, PendingWrite>();
  private nextId = runIdStart();
  /** Writes called but not submitted yet (waiting for a leader, or running phase 1). */
  private starting = 0;
  /** Called once no write is pending. */
  private drainWaiters: (() => void)[] = [];
  /**
   * One timer for every pending write, armed for the oldest deadline: writes all wait writeTimeoutMs,
   * so `pending` (in submit order) is in deadline order too. A timer per write cost an object and an
   * insertion into Node's timer lists per write.
   */
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly routes: WriteRoutes) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * A write was called: drained() waits for it from now on, also while it waits for a leader before its
   * phase 1. The returned function ends that, once it was submitted (or failed before).
   */
  begin(): () => void {
    this.starting++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.starting--;
      this.maybeDrained();
    };
  }

  /**
   * Sends a change-set (its phase 1 done) to the committer, encoded once here for the whole way through
   * the log; settles when its outcome is known here.
   */
  submit(changeSet: ChangeSet, schema?: { readonly def: unknown; readonly bytes: number }): Promise<ApplyResult> {
    const id = this.nextId++;
    const { nodeId, writeTimeoutMs } = this.routes;
    const encoded = encodeChangeSet(changeSet);
    const bytes = encoded.byteLength;
    return new Promise<ApplyResult>((resolve, reject) => {
      const request: CommitRequest = schema === undefined ? { type: 'commit', id, changeSet: encoded, bytes } : { type: 'commit', id, changeSet: encoded, bytes: bytes + schema.bytes, schema: schema.def };
      this.pending.set(id, { resolve, reject, deadline: performance.now() + writeTimeoutMs, request, changeSet, resubmits: 0, copiesOut: 0, leader: this.routes.leader(), term: this.routes.term() });
      this.timer ??= setTimeout(this.expire, writeTimeoutMs);
      this.send(request);
    });
  }

  /** The timer: writes past their deadline fail with TIMEOUT; armed again for the oldest one left. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const { nodeId, writeTimeoutMs } = this.routes;
    for (const [id, write] of this.pending) {
      if (write.deadline > now) {
        this.timer = setTimeout(this.expire, write.deadline - now);
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
    this.settle(id, result, error);
  }

  /** The write's outcome (from apply, a refusal, its timer or the node stopping); later ones are ignored. */
  settle(id: number, result: ApplyResult | undefined, error: Error | undefined): void {
    const write = this.pending.get(id);
    if (write === undefined) return;
    this.pending.delete(id);
    if (this.pending.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (error !== undefined) write.reject(error);
    else write.resolve(result!);
    this.maybeDrained();
  }

  private maybeDrained(): void {
    if (this.pending.size === 0 && this.starting === 0 && this.drainWaiters.length > 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /**
   * Every pending write fails with `error` (the node stops); `sent`: a copy of it went to the committer
   * and may be in a leader's log, so it may still commit (its outcome is unknown).
   */
  failAll(error: (sent: boolean) => Error): void {
    for (const [id, write] of [...this.pending]) this.settle(id, undefined, error(write.copiesOut > 0));
  }

  /** Resolves once no write is pending or starting. */
  drained(): Promise<void> {
    if (this.pending.size === 0 && this.starting === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** The committer did not take these: fail them, or (an election on a side with quorum) send them again. */
  refused(refused: CommitRefused): void {
    for (const id of refused.ids) {
      const write = this.pending.get(id);
      if (write === undefined) continue;
      write.copiesOut = Math.max(0, write.copiesOut - 1);
      if (!refused.retryable || write.resubmits >= noLeaderResubmitsMax || this.routes.stopped()) {
        // Another copy out may be in a log: this write's outcome is that copy's.
        if (write.copiesOut === 0) this.settle(id, undefined, new ChorusError(refused.code, refused.reason));
        continue;
      }
      write.resubmits++;
      void this.routes.leaderSoon().then(() => {
        write.leader = this.routes.leader();
        write.term = this.routes.term();
        if (this.pending.get(id) === write && !this.routes.stopped()) this.send(write.request);
      });
    }
  }

  /**
   * A new leader, or the same one in a new term: writes last sent in another leader's or term's time go
   * again, through it. The same leader in a later term may have lost entries in between (another leader
   * this node never saw overwrote them), so a change of term alone counts too.
   */
  leaderChanged(leader: string, term: number): void {
    for (const write of this.pending.values()) {
      if ((write.leader === leader && write.term === term) || write.resubmits >= noLeaderResubmitsMax) continue;
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

/**
 * Where a run's write (and linearizable read) ids start: random in [1, 2^48), so that ids of two runs of
 * a node overlap only with negligible odds (and even then `applied` compares bytes). Numbers stay safe
 * integers for 2^53 - 2^48 requests after it.
 */
export function runIdStart(): number {
  return randomInt(1, 2 ** 48);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.byteLength !== b.byteLength) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Why a write fails when its node stops (`reason` undefined: asked to) or fails (`reason`). `sent`: a copy
 * of it went to the cluster and may still commit, and the error says its outcome is unknown.
 */
export function stoppedError(nodeId: string, reason: ChorusError | undefined, sent: boolean): ChorusError {
  const unknown = 'the write had been sent to the cluster and may still commit (its outcome is unknown)';
  if (reason === undefined) return new StoppedError(`node ${nodeId}`, sent ? unknown : undefined);
  return sent ? new ChorusError(reason.code, `${reason.message}; ${unknown}`) : reason;
}
