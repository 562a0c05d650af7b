/**
 * Operating errors of the actor runtime: typed, each with a stable `code` a caller can switch on.
 * Programmer errors use `assert` instead (see assert.ts).
 */
import type { Address } from './actor.js';
import { formatAddress } from './actor.js';

/** Every operating error code in chorusdb, so that callers can switch on `code` exhaustively. */
export type ChorusErrorCode =
  // actor runtime
  | 'MAILBOX_FULL' | 'NO_ROUTE' | 'STOPPED' | 'ACTOR_FAILED' | 'INVALID_ARGUMENT'
  // store
  | 'SCHEMA' | 'VALIDATION' | 'UNIQUE' | 'CONFLICT' | 'NOT_FOUND' | 'INCOMPATIBLE_SCHEMA' | 'CORRUPT' | 'EVOLUTION_MODE'
  // cluster
  | 'NO_QUORUM' | 'TIMEOUT' | 'OVERLOADED' | 'ARBITER' | 'DETACHED'
  // a data directory written by another node or cluster (docs/cluster.md, "Durability")
  | 'FOREIGN_DATA'
  // simulator
  | 'HISTORY_FULL';

export class ChorusError extends Error {
  override readonly name: string = 'ChorusError';
  constructor(
    readonly code: ChorusErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The receiver already holds `limit` unprocessed messages from this sender. Retry later or shed load. */
export class MailboxFullError extends ChorusError {
  override readonly name = 'MailboxFullError';
  constructor(
    readonly from: Address,
    readonly to: Address,
    readonly limit: number,
  ) {
    super(
      'MAILBOX_FULL',
      `mailbox of ${formatAddress(to)} holds ${limit} unprocessed messages from ${formatAddress(from)} (mailboxMessagesMax); the message was not sent`,
    );
  }
}

/** No actor with that address on this node, and no transport to other nodes. */
export class NoRouteError extends ChorusError {
  override readonly name = 'NoRouteError';
  constructor(readonly to: Address) {
    super('NO_ROUTE', `no route to ${formatAddress(to)}`);
  }
}

/** The host is stopping or stopped; nothing more is delivered. */
export class StoppedError extends ChorusError {
  override readonly name = 'StoppedError';
  constructor(what: string, detail?: string) {
    super('STOPPED', `${what} is stopped${detail === undefined ? '' : `: ${detail}`}`);
  }
}

/** An actor threw; the node stopped because of it. */
export class ActorFailedError extends ChorusError {
  override readonly name = 'ActorFailedError';
  constructor(
    readonly actor: Address,
    readonly reason: FailureReason,
  ) {
    super('ACTOR_FAILED', `actor ${formatAddress(actor)} failed: ${reason.message}`);
  }
}

/** An error as it crosses a thread boundary: plain data, so it survives structured clone intact. */
export interface FailureReason {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** The error's code when it was a ChorusError (an operating error: a journal refused at open, say). */
  readonly code?: ChorusErrorCode;
}

export function toFailureReason(error: unknown): FailureReason {
  if (error instanceof ChorusError) return { name: error.name, message: error.message, stack: error.stack, code: error.code };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'NonError', message: String(error), stack: undefined };
}

export function invalidArgument(api: string, message: string): ChorusError {
  return new ChorusError('INVALID_ARGUMENT', `${api}: ${message}`);
}
