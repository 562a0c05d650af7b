/**
 * The actor contract: what an actor is, what it may touch, and how a node is described.
 *
 * An actor is a handler over its own state for a discriminated union of messages. It reaches the world
 * only through its ActorContext: `send`, `now`, `setTimer` / `cancelTimer`, `random`, `log`. It never
 * calls Date.now, Math.random or setTimeout, and never imports node:net, node:fs or node:worker_threads
 * (a test enforces this). That is what lets the same actor code run on worker threads, inline on one
 * event loop, and under the deterministic simulator.
 *
 * Invariants every host keeps:
 * - messages from one sender to one receiver arrive in the order they were sent (per-link FIFO);
 * - `receive` runs for one message at a time, never re-entered;
 * - a cancelled timer never fires; a timer fires at most once;
 * - one sender has at most `mailboxMessagesMax` unprocessed messages at one receiver: past that,
 *   `send` returns a MailboxFullError and the message is not sent.
 */
import type { MailboxFullError, NoRouteError, StoppedError } from './errors.js';
import type { Journal } from './journal.js';

/** Names one actor on one node. Plain data: it crosses threads and the wire unchanged. */
export interface Address {
  readonly node: string;
  readonly actor: string;
}

/** Every message is a plain object with a `type` tag; actors switch on it exhaustively. */
export interface Message {
  readonly type: string;
}

/**
 * The reserved actor name of the application side of a node. Messages an actor sends to
 * `{ node, actor: APP }` come out of the host as `appMessage` events; messages the application sends
 * through the host arrive with `from` set to that address.
 */
export const APP = 'app';

export type TimerId = number;

export type SendResult = undefined | MailboxFullError | NoRouteError | StoppedError;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  readonly level: LogLevel;
  readonly timeMs: number;
  readonly node: string;
  readonly actor: string;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Everything an actor may do to the world. Hosts supply it; the simulator supplies a virtual one. */
export interface ActorContext<M extends Message = Message> {
  readonly self: Address;
  /**
   * Queues `message` for `to`. Returns undefined when queued, or the operating error that kept it
   * from being queued (full mailbox, no route, host stopped): the message was then not sent.
   * Messages are structured-cloned between threads: send plain data only.
   */
  send<T extends Message>(to: Address, message: T): SendResult;
  /** Milliseconds since the Unix epoch on this node's clock (virtual under the simulator). */
  now(): number;
  /** Delivers `message` to this actor after `delayMs`; returns an id for cancelTimer. */
  setTimer(delayMs: number, message: M): TimerId;
  /** Cancels a pending timer; cancelling one that fired or was cancelled is a no-op. */
  cancelTimer(id: TimerId): void;
  /** A number in [0, 1); seeded and replayable under the simulator. */
  random(): number;
  readonly log: Logger;
  /**
   * This actor's stable storage, when the host has some (a `journalDir`, or the simulator); opened on
   * first use. Undefined when the node runs without durable state.
   */
  readonly journal: Journal | undefined;
  /**
   * True when the host calls the actor's `afterBatch` once it has handed it the messages that were
   * waiting together (the thread and inline hosts); absent or false, it never does (the simulator), so
   * an actor must not leave work for `afterBatch` then.
   */
  readonly batchEnds?: boolean;
}

/** A running actor: its state lives in the closure that `create` returned. */
export interface Actor<M extends Message = Message> {
  receive(message: M, from: Address): void;
  /**
   * Optional: runs after a batch of `receive` calls (messages that were waiting together), when the
   * context says `batchEnds`. Lets an actor answer many messages with one piece of work (the replicator:
   * one Raft Ready, so one journal write and one append per follower, for all the proposals of a batch).
   */
  afterBatch?(): void;
  /** Called once when the node stops, after the mailbox is drained; timers are already cancelled. */
  stop?(): void;
}

/**
 * A kind of actor. `module` is the URL of the module that exports this definition (pass
 * `import.meta.url`): the thread host imports it inside the worker and finds the export whose `kind`
 * matches, so the definition must be exported from that module.
 */
export interface ActorKind<M extends Message = Message, P = unknown> {
  readonly kind: string;
  readonly module: string;
  create(ctx: ActorContext<M>, params: P): Actor<M>;
}

export function defineActor<M extends Message, P>(definition: ActorKind<M, P>): ActorKind<M, P> {
  return Object.freeze({ ...definition });
}

/** One actor of a node: its name (unique within the node), its kind and its parameters. */
export interface ActorSpec {
  readonly name: string;
  /** A node mixes actors of different message unions; each actor's own code is typed against its own. */
  readonly kind: ActorKind<Message, never>;
  /** Structured-cloneable: it is copied into the actor's worker under the thread host. */
  readonly params?: unknown;
}

/** A node: a name and its actors. */
export interface NodeSpec {
  readonly node: string;
  readonly actors: readonly ActorSpec[];
}

export function formatAddress(address: Address): string {
  return `${address.node}/${address.actor}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.node === b.node && a.actor === b.actor;
}
