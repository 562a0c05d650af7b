/**
 * One run (incarnation) of a simulated node's application side, as far as its writes and linearizable
 * reads go: the node's own write bookkeeping (src/node/write-core.ts: the quorum gate, resends after a
 * leader or term change, copies out, settling on the same bytes only, the timeout), read rules
 * (src/node/read-core.ts: the gate, ReadIndex, asking again after an election) and quorum gate (src/node/quorum-gate.ts),
 * on the simulation's virtual time, fed what the node's actors tell the application (raftState, quorum,
 * apply, commitRefused) as ClusterNode feeds them. So the swarm's outcomes come from the node's rules,
 * not from a copy of them.
 *
 * Each run's write ids start at a point of [1, 2^48) drawn from the seed, as a node draws its own at
 * random (runIdStart). A crash ends the run: its pending writes fail at once, those with a copy sent
 * with an outcome unknown (`info`), the others STOPPED (`fail`: nothing of them is in any log), and
 * writes still at its gate fail STOPPED when they leave it; the next run gets a new NodeApp.
 */
import type { AppTime } from '../src/node/app-time.js';
import { QuorumGate } from '../src/node/quorum-gate.js';
import { WriteCore } from '../src/node/write-core.js';
import { ReadCore } from '../src/node/read-core.js';
import type { WriteRoutes } from '../src/node/write-core.js';
import type { RaftStateChanged } from '../src/actors/replicator.js';
import type { QuorumChanged } from '../src/actors/quorum-watcher.js';
import type { CommitRequest } from '../src/actors/committer.js';
import { ChorusError, StoppedError } from '../src/runtime/errors.js';
import { COMMITTER, REPLICATOR } from '../src/node/node-spec.js';
import type { ReadIndexRequest } from '../src/actors/replicator.js';
import type { Simulation } from './simulation.js';
import type { Outcome } from './cluster.js';

/** Where a run's write ids start: [1, this), as runIdStart draws them. */
const writeIdStartMax = 2 ** 48;

/** A write that had a copy sent when its node crashed: it may still commit. */
class OutcomeUnknownError extends ChorusError {
  constructor(node: string) {
    super('STOPPED', `node ${node} crashed; the write had been sent to the cluster and may still commit (its outcome is unknown)`);
  }
}

const info: Outcome = Object.freeze({ kind: 'info' });

/**
 * A write's failure as the history records it: `info` when it may still have happened (TIMEOUT, or sent
 * before its node crashed), else `fail` with its code (a refusal of every copy, CONFLICT at apply, phase 1's
 * own error, NO_QUORUM at the gate, STOPPED before it was sent).
 */
export function outcomeOf(error: unknown): Outcome {
  if (error instanceof OutcomeUnknownError) return info;
  const code = (error as { code?: string } | undefined)?.code ?? 'ERROR';
  return code === 'TIMEOUT' ? info : { kind: 'fail', code };
}

/** Virtual time; a cleared timer's event stays queued and does nothing. */
export function simTime(sim: Simulation): AppTime {
  return {
    now: () => sim.nowMs,
    setTimer: (delayMs, fire) => {
      const timer = { live: true };
      sim.at(delayMs, () => {
        if (!timer.live) return;
        timer.live = false;
        fire();
      });
      return timer;
    },
    clearTimer: (timer) => void ((timer as { live: boolean }).live = false),
  };
}

export class NodeApp {
  readonly gate: QuorumGate;
  readonly writes: WriteCore;
  readonly reads: ReadCore;
  private raft: RaftStateChanged = { type: 'raftState', role: 'follower', leader: undefined, term: 0 };
  private stopped: Error | undefined;

  constructor(sim: Simulation, time: AppTime, readonly node: string, options: { readonly writeTimeoutMs: number; readonly gateWaitMs: number }, checkEncoded: NonNullable<WriteRoutes['checkEncoded']>) {
    this.gate = new QuorumGate(time);
    this.writes = new WriteCore({
      nodeId: node, writeTimeoutMs: options.writeTimeoutMs, gateWaitMs: options.gateWaitMs, gate: this.gate, time,
      idStart: 1 + Math.floor(sim.rng.next() * (writeIdStartMax - 1)),
      send: (request: CommitRequest) => sim.send({ node, actor: COMMITTER }, request),
      leader: () => this.raft.leader,
      term: () => this.raft.term,
      stopped: () => this.stopped,
      checkEncoded,
    });
    this.reads = new ReadCore({
      nodeId: node, timeoutMs: options.writeTimeoutMs, gateWaitMs: options.gateWaitMs, gate: this.gate, time,
      idStart: 1 + Math.floor(sim.rng.next() * (writeIdStartMax - 1)),
      ask: (id) => sim.send({ node, actor: REPLICATOR }, { type: 'readIndex', id } satisfies ReadIndexRequest),
      stopped: () => this.stopped,
    });
  }

  /** The replicator's report, handled as ClusterNode.onRaftState does. */
  raftState(state: RaftStateChanged): void {
    const before = this.raft;
    this.raft = state;
    if (state.leader !== undefined && (state.leader !== before.leader || state.term !== before.term)) this.writes.leaderChanged(state.leader, state.term);
    this.gate.leaderChanged(state.leader);
  }

  quorum(message: QuorumChanged): void {
    this.gate.quorumChanged(message.hasQuorum, message.reason);
  }

  /** The node crashed: this run is over (see the header). */
  crashed(): void {
    this.stopped = new StoppedError(`node ${this.node}`, 'it crashed');
    this.writes.failAll((sent) => (sent ? new OutcomeUnknownError(this.node) : this.stopped!));
    this.reads.failAll(() => this.stopped!);
  }
}
