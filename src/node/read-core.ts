/**
 * A node's linearizable reads, as callbacks on an AppTime (app-time.ts), so that the simulator runs the
 * very rules a node runs, on its virtual time (simulate/node-app.ts), as it does writes (write-core.ts).
 *
 * A read waits at the quorum gate (a leader with a quorum, or the watcher saying there is none), then
 * asks the replicator for a ReadIndex (Raft §6.4): it confirms with a quorum that the leader still
 * leads, waits until this node has applied what was committed then, and answers `readReady` (run the
 * read now) or `readFailed` (not confirmed: no leader, or it stepped down). Not confirmed, it waits for
 * the next leader reported after that (the gate's whenNextLeader, at most `gateWaitMs` at a time: asked
 * again at once, of a leader that has gone or of none, it would fail again within milliseconds, and its
 * tries would all be spent within one election), then asks again; at most `noLeaderResubmitsMax` times
 * (a wait with no leader at its end counts as one), then NO_QUORUM; at once NO_QUORUM once the quorum is
 * known lost.
 *
 * Invariants: each read's outcome is called exactly once: `undefined` (its tables now hold everything
 * a quorum-confirmed leader had committed when the read began: run it) or an error (NO_QUORUM, TIMEOUT
 * after `timeoutMs` per ask, OVERLOADED when the replicator did not take the ask or the leader held
 * readsPendingMax reads already (not asked again: more asks are what overloaded it), or why the node
 * stopped). Ids start where the caller says (a random point per run: an answer to a read of this node's
 * earlier run must not confirm a read of this one).
 */
import { ChorusError } from '../runtime/errors.js';
import { noLeaderResubmitsMax, readsPendingMax } from '../limits.js';
import type { WriteRoutes } from './write-core.js';

/** What writes have too (the node, its gate and how long to wait there, time, the run's first id, whether it stopped), and: */
export interface ReadRoutes extends Pick<WriteRoutes, 'nodeId' | 'gateWaitMs' | 'gate' | 'time' | 'idStart' | 'stopped'> {
  /** How long one ReadIndex may take to be answered (writeTimeoutMs). */
  readonly timeoutMs: number;
  /** Asks the replicator for a ReadIndex; an error when the host did not take it. */
  ask(id: number): Error | undefined;
}

/** A read's outcome: undefined to run it now, or why it cannot run. */
export type ReadOutcome = (error: Error | undefined) => void;

export class ReadCore {
  private readonly pending = new Map<number, { readonly answered: (ok: boolean | Error) => void }>();
  private nextId: number;

  constructor(private readonly routes: ReadRoutes) {
    this.nextId = routes.idStart;
  }

  /** A linearizable read called: `outcome` says when its body may run, or why it may not. */
  start(outcome: ReadOutcome): void {
    const stopped = this.routes.stopped();
    if (stopped !== undefined) return outcome(stopped);
    this.routes.gate.whenReady(this.routes.gateWaitMs, () => this.ask(0, outcome));
  }

  /** The replicator's answer for read `id`; `overloaded`: the leader refused it (it held readsPendingMax reads). */
  answered(id: number, ok: boolean, overloaded = false): void {
    const refusal = overloaded ? new ChorusError('OVERLOADED', `a linearizable read on ${this.routes.nodeId} was refused: the leader holds ${readsPendingMax} reads waiting for confirmation (readsPendingMax)`) : undefined;
    this.pending.get(id)?.answered(refusal ?? ok);
  }

  /** Every read waiting for an answer fails with `error()` (the node stopped or failed). */
  failAll(error: () => Error): void {
    for (const read of [...this.pending.values()]) read.answered(error());
  }

  /** Past the gate, or a leader come: ask number `attempt` (from 0), one ReadIndex; not confirmed (no leader, or it stepped down), wait for the next leader. */
  private ask(attempt: number, outcome: ReadOutcome): void {
    const { gate } = this.routes;
    const stopped = this.routes.stopped(); // it stopped while the read waited
    if (stopped !== undefined) return outcome(stopped);
    if (gate.lost) return outcome(gate.noQuorum());
    this.confirm((result) => {
      if (result instanceof Error) return outcome(result);
      if (result) return outcome(undefined);
      this.awaitLeader(attempt + 1, outcome);
    });
  }

  /** Waits for the next leader and asks it (see the header); `attempt`: the ask it will be. */
  private awaitLeader(attempt: number, outcome: ReadOutcome): void {
    const { gate, gateWaitMs, nodeId } = this.routes;
    if (attempt > noLeaderResubmitsMax) return outcome(new ChorusError('NO_QUORUM', `a linearizable read on ${nodeId} could not be confirmed by a leader with a quorum: asked again ${noLeaderResubmitsMax} times (noLeaderResubmitsMax), each at the next leader or after ${gateWaitMs} ms (gateWaitMs)`));
    gate.whenNextLeader(gateWaitMs, (why) => {
      // A leader come, or the quorum lost (ask fails it at once), or at the timeout a leader known with a
      // quorum (none reported since the read failed: asked all the same); ask also fails it if stopped.
      if (why !== 'timeout' || gate.open() || this.routes.stopped() !== undefined) return this.ask(attempt, outcome);
      this.awaitLeader(attempt + 1, outcome);
    });
  }

  /** One ReadIndex: true once the tables hold what a confirmed leader had committed, false if not confirmed. */
  private confirm(done: (result: boolean | Error) => void): void {
    const { time, timeoutMs, nodeId } = this.routes;
    const id = this.nextId++;
    const timer = time.setTimer(timeoutMs, () => {
      this.pending.delete(id);
      done(new ChorusError('TIMEOUT', `a linearizable read on ${nodeId} was not confirmed within ${timeoutMs} ms (writeTimeoutMs)`));
    });
    this.pending.set(id, {
      answered: (result) => {
        time.clearTimer(timer);
        this.pending.delete(id);
        done(result);
      },
    });
    const error = this.routes.ask(id);
    if (error !== undefined) this.pending.get(id)?.answered(new ChorusError('OVERLOADED', `read not accepted: ${error.message}`));
  }
}
