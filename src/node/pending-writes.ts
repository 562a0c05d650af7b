/**
 * A node's writes as promises: the write bookkeeping's rules (write-core.ts, which the simulator runs on
 * virtual time too) on the process's real clock and timers, with this run's ids starting at a random
 * point. Owns nothing but that wiring: every rule (the gate, resubmission, copies out, same-bytes
 * settling, the timeout) is WriteCore's.
 */
import { randomInt } from 'node:crypto';
import { ChorusError, StoppedError } from '../runtime/errors.js';
import type { ApplyResult } from '../store/store.js';
import type { ChangeSet } from '../store/changeset.js';
import { realTime } from './app-time.js';
import { WriteCore } from './write-core.js';
import type { WriteRoutes, WriteSchema } from './write-core.js';

export class PendingWrites extends WriteCore {
  constructor(routes: Omit<WriteRoutes, 'time' | 'idStart'>) {
    super({ ...routes, time: realTime, idStart: runIdStart() });
  }

  /** A write called: settles with its outcome (see WriteCore.start). */
  write(phase1: () => ChangeSet, schema?: WriteSchema): Promise<ApplyResult> {
    return new Promise((resolve, reject) => this.start(phase1, schema, (result, error) => (error === undefined ? resolve(result!) : reject(error))));
  }

  /** A change-set whose phase 1 is done, submitted at once (past the gate): settles with its outcome. */
  submitted(changeSet: ChangeSet, schema?: WriteSchema): Promise<ApplyResult> {
    return new Promise((resolve, reject) => this.submit(changeSet, schema, (result, error) => (error === undefined ? resolve(result!) : reject(error))));
  }

  /** Resolves once no write is pending or starting. */
  drained(): Promise<void> {
    return new Promise((resolve) => this.whenDrained(resolve));
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

/**
 * Why a write fails when its node stops (`reason` undefined: asked to) or fails (`reason`). `sent`: a copy
 * of it went to the cluster and may still commit, and the error says its outcome is unknown.
 */
export function stoppedError(nodeId: string, reason: ChorusError | undefined, sent: boolean): ChorusError {
  const unknown = 'the write had been sent to the cluster and may still commit (its outcome is unknown)';
  if (reason === undefined) return new StoppedError(`node ${nodeId}`, sent ? unknown : undefined);
  return sent ? new ChorusError(reason.code, `${reason.message}; ${unknown}`) : reason;
}
