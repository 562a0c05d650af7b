/**
 * The whole protocol between the thread host (main thread) and an actor's worker, on one screen.
 * It travels over the actor's control PortLink. `deliver` and `out` carry actor messages and are
 * counted against the mailbox bound; the rest is lifecycle control and is never refused.
 *
 * Stop is two-phase so that it drains exactly: `stopping` makes every actor refuse new sends and
 * report how many messages it sent on each link (`quiesced`); `finish` then tells each actor how many
 * to expect on each link; it processes until it has them all, runs its stop hook and says `stopped`.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Address, LogRecord, Message } from '../actor.js';
import type { FailureReason } from '../errors.js';

/** The task a piscina worker runs: one actor, for the life of the node. */
export interface ActorTask {
  readonly node: string;
  readonly actor: string;
  readonly kind: string;
  /** A URL the worker can import (compiled JavaScript). */
  readonly module: string;
  readonly params: unknown;
  readonly mailboxMessagesMax: number;
  /** Whether sends to other nodes have a transport (else they fail with NO_ROUTE at once). */
  readonly hasOutbound: boolean;
  /** Microseconds to keep polling the ports after activity (0: never spin). */
  readonly spinUs: number;
  /** Directory for the actor's journal, if the node has stable storage. */
  readonly journalDir: string | undefined;
  readonly control: MessagePort;
  readonly peers: readonly { readonly actor: string; readonly port: MessagePort }[];
}

export interface ActorTaskResult {
  readonly delivered: number;
  readonly timersFired: number;
  readonly mailboxFull: number;
}

// Main thread -> worker.
export interface DeliverToWorker {
  readonly type: 'deliver';
  readonly from: Address;
  readonly to: string;
  readonly message: Message;
}
export interface StoppingToWorker {
  readonly type: 'stopping';
}
export interface FinishToWorker {
  readonly type: 'finish';
  /** Messages to expect, per peer actor name, before stopping; peers whose worker died are absent. */
  readonly expected: Readonly<Record<string, number>>;
  readonly expectedFromHost: number;
}
/** A direct link to the actor of the same name on node `peer` (replaces an earlier one); see DirectLinks. */
export interface RemoteToWorker {
  readonly type: 'remote';
  readonly peer: string;
  readonly port: MessagePort;
  /** Shared with the other end and the network: 1 while the pair is cut. */
  readonly cut: Int32Array;
}
/** Node `peer` left: its link closes. */
export interface RemoteStateToWorker {
  readonly type: 'remoteGone';
  readonly peer: string;
}
export type ToWorker = DeliverToWorker | StoppingToWorker | FinishToWorker | RemoteToWorker | RemoteStateToWorker;

// Worker -> main thread.
export interface ReadyFromWorker {
  readonly type: 'ready';
}
export interface OutFromWorker {
  readonly type: 'out';
  readonly to: Address;
  readonly message: Message;
}
export interface FailedFromWorker {
  readonly type: 'failed';
  readonly error: FailureReason;
}
export interface QuiescedFromWorker {
  readonly type: 'quiesced';
  /** Messages sent, per peer actor name, over the link's lifetime. */
  readonly sent: Readonly<Record<string, number>>;
}
export interface StoppedFromWorker {
  readonly type: 'stopped';
  readonly result: ActorTaskResult;
}
export interface LogFromWorker {
  readonly type: 'log';
  readonly record: LogRecord;
}
export type FromWorker = ReadyFromWorker | OutFromWorker | FailedFromWorker | QuiescedFromWorker | StoppedFromWorker | LogFromWorker;

/** Why items a PortLink could not post were refused, and which (by type): for the failure they cause. */
export function unsendableText(error: Error, items: readonly unknown[]): string {
  const what = items.map((item) => {
    const outer = item as { type?: unknown; message?: { type?: unknown } } | null;
    const inner = outer?.message?.type;
    return typeof outer?.type === 'string' ? `${outer.type}${typeof inner === 'string' ? ` ${inner}` : ''}` : typeof item;
  });
  return `${items.length === 1 ? 'a message' : `${items.length} messages`} across threads (${what.join(', ')}): ${error.message.replace(/\.$/, '')}; messages must be plain data`;
}
