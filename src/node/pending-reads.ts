/**
 * Linearizable reads waiting for their ReadIndex (Raft §6.4): the replicator confirms with a quorum that
 * the leader is still the leader, waits until this node has applied what it had committed then, and
 * answers `readReady` (run the read now) or `readFailed` (not confirmed: no leader, or it stepped down).
 * Each waits at most `writeTimeoutMs`, and settles exactly once. Ids start at a random point, as write
 * ids do (pending-writes.ts): an answer to a read of this node's earlier run must not confirm a read
 * of this one with an older index.
 */
import { ChorusError } from '../runtime/errors.js';
import { runIdStart } from './pending-writes.js';

interface PendingRead {
  readonly settle: (ok: boolean) => void;
  readonly fail: (error: Error) => void;
}

export class PendingReads {
  private readonly pending = new Map<number, PendingRead>();
  private nextId = runIdStart();

  constructor(
    private readonly nodeId: string,
    private readonly timeoutMs: number,
    /** Asks the replicator for a ReadIndex; an error when the host did not take it. */
    private readonly ask: (id: number) => Error | undefined,
  ) {}

  /** True once the tables hold everything a quorum-confirmed leader had committed; false when it could not confirm. */
  confirm(): Promise<boolean> {
    const id = this.nextId++;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ChorusError('TIMEOUT', `a linearizable read on ${this.nodeId} was not confirmed within ${this.timeoutMs} ms (writeTimeoutMs)`));
      }, this.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, { settle: (ok) => { done(); resolve(ok); }, fail: (error) => { done(); reject(error); } });
      const error = this.ask(id);
      if (error !== undefined) this.pending.get(id)?.fail(new ChorusError('OVERLOADED', `read not accepted: ${error.message}`));
    });
  }

  /** The replicator's answer for read `id`. */
  answered(id: number, ok: boolean): void {
    this.pending.get(id)?.settle(ok);
  }

  failAll(error: () => Error): void {
    for (const read of [...this.pending.values()]) read.fail(error());
  }
}
