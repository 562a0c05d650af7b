/**
 * What every host of one node has in common: its options, its public events, its handle, the checks on
 * a NodeSpec at the public boundary, and the mailbox ledger that bounds every link.
 *
 * Hosts are the only code that touches the clock, timers and threads; actors see only ActorContext.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Unsubscribe } from 'nanoevents';
import type { Address, LogLevel, LogRecord, Logger, Message, NodeSpec, SendResult } from './actor.js';
import { APP } from './actor.js';
import type { FailureReason } from './errors.js';
import { invalidArgument } from './errors.js';
import { appBacklogMessagesMax, mailboxMessagesMaxCeiling, mailboxMessagesMaxDefault } from '../limits.js';

export interface HostOptions {
  /** Unprocessed messages one sender may have at one actor (default 4096). */
  readonly mailboxMessagesMax?: number;
  /** Where log records go (default: warn and error as JSON lines on stderr). */
  readonly log?: (record: LogRecord) => void;
  /**
   * Carries messages addressed to other nodes (a transport). Without it such sends fail with NO_ROUTE.
   * It is called on the host's thread.
   */
  readonly outbound?: (from: Address, to: Address, message: Message) => SendResult;
  /**
   * Thread host only: microseconds a worker keeps polling its ports after activity before it sleeps
   * (default 50 on machines with 2 or more cores, else 0). Trades CPU while traffic is hot for latency.
   */
  readonly spinUs?: number;
  /** Directory for the actors' journals (stable storage); without it actors have none. */
  readonly journalDir?: string;
  /**
   * Thread host only: the heap (MiB, V8 old generation) each actor's worker may use (default
   * actorHeapMbDefault, 1024). A worker past it is stopped and its node fails, naming the actor.
   */
  readonly actorHeapMb?: number;
}

export interface HostEvents {
  /** An actor sent a message to `{ node, actor: APP }`. */
  appMessage: (message: Message, from: Address) => void;
  /** An actor threw (or its worker died); the node stops because of it. */
  actorFailed: (actor: Address, error: FailureReason) => void;
  /** The node has stopped: every actor's stop hook ran (or its worker was terminated). */
  stopped: (reason: StopReason) => void;
}

export type StopReason = 'requested' | 'failed';

export type HostState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface HostStats {
  /** Messages handed to actors' receive (timer firings excluded). */
  readonly delivered: number;
  readonly timersFired: number;
  /** Sends refused because the receiving mailbox was full. */
  readonly mailboxFull: number;
  /** Worker threads alive now (thread host; 0 elsewhere). */
  readonly threads: number;
}

/** The handle an application holds on a running node, whichever host runs it. */
export interface NodeHost {
  readonly node: string;
  readonly state: HostState;
  /** Sends from the application (from = `{ node, actor: APP }`). */
  send<T extends Message>(to: Address, message: T): SendResult;
  /** Hands in a message that arrived from another node. */
  deliver<T extends Message>(from: Address, to: Address, message: T): SendResult;
  on<E extends keyof HostEvents>(event: E, listener: HostEvents[E]): Unsubscribe;
  /** Counters; under the thread host, workers' counters arrive when they stop. */
  stats(): HostStats;
  /**
   * Stops the node: from now on sends are refused with STOPPED; every message sent before is delivered;
   * timers are cancelled; then each actor's stop hook runs. Resolves when everything is released.
   */
  stop(): Promise<void>;
  /** Present on the thread host: actors joined to the same actors of other nodes in this process directly. */
  readonly direct?: DirectLinks;
}

/**
 * Direct links between nodes of one process (the thread host): a node's actor and the actor of the same
 * name on another node talk over their own MessagePort, worker to worker, instead of through both main
 * threads' network. The network sets them up, cuts and drops them; it behaves as a network does: a
 * message to a cut or gone peer is lost without telling the sender. One past the receiver's mailbox
 * bound is lost too, but the send returns MAILBOX_FULL, so that a sender that can act on it does.
 */
export interface DirectLinks {
  /** Actors that take direct links. */
  readonly actors: readonly string[];
  /**
   * Joins this node's `actor` to `peer`'s actor of the same name through `port` (replacing an earlier
   * link). `cut` (one Int32 over a SharedArrayBuffer, shared by both ends): while it holds 1, traffic is
   * lost both ways, checked when sending and when receiving, so a cut takes effect the moment the network
   * sets it, as it does for relayed messages.
   */
  connect(peer: string, actor: string, port: MessagePort, cut: Int32Array): void;
  /** `peer` left: its links are closed. */
  disconnect(peer: string): void;
}

/** Checks a NodeSpec at the public boundary; internal code trusts it afterwards. */
export function validateNodeSpec(api: string, spec: NodeSpec): void {
  if (typeof spec !== 'object' || spec === null) throw invalidArgument(api, 'node spec must be an object');
  if (typeof spec.node !== 'string' || spec.node.length === 0 || spec.node.includes('/')) {
    throw invalidArgument(api, `node name must be a non-empty string without '/', got ${JSON.stringify(spec.node)}`);
  }
  if (!Array.isArray(spec.actors) || spec.actors.length === 0) {
    throw invalidArgument(api, `node ${spec.node}: actors must be a non-empty array`);
  }
  const seen = new Set<string>();
  for (const actor of spec.actors) {
    const where = `node ${spec.node}, actor ${JSON.stringify(actor?.name)}`;
    if (typeof actor?.name !== 'string' || actor.name.length === 0 || actor.name.includes('/')) {
      throw invalidArgument(api, `${where}: actor name must be a non-empty string without '/'`);
    }
    if (actor.name === APP) throw invalidArgument(api, `${where}: '${APP}' is reserved for the application`);
    if (seen.has(actor.name)) throw invalidArgument(api, `${where}: actor names must be unique within a node`);
    seen.add(actor.name);
    const kind = actor.kind as unknown as Record<string, unknown> | undefined;
    if (typeof kind?.['kind'] !== 'string' || typeof kind['create'] !== 'function' || typeof kind['module'] !== 'string') {
      throw invalidArgument(api, `${where}: kind must come from defineActor({ kind, module, create })`);
    }
  }
}

export function resolveMailboxMessagesMax(api: string, options: HostOptions): number {
  const value = options.mailboxMessagesMax ?? mailboxMessagesMaxDefault;
  if (!Number.isInteger(value) || value < 1 || value > mailboxMessagesMaxCeiling) {
    throw invalidArgument(api, `mailboxMessagesMax must be an integer in [1, ${mailboxMessagesMaxCeiling}], got ${value}`);
  }
  return value;
}

/** Default log sink: warnings and errors as JSON lines on stderr; debug and info are dropped. */
export function defaultLogSink(record: LogRecord): void {
  if (record.level === 'warn' || record.level === 'error') process.stderr.write(`${JSON.stringify(record)}\n`);
}

export function makeLogger(self: Address, now: () => number, sink: (record: LogRecord) => void): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) =>
    sink({ level, timeMs: now(), node: self.node, actor: self.actor, msg, fields });
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/**
 * Counts unprocessed messages per (sender slot, receiver) link. Slots 0..n-1 are the node's actors,
 * slot n is the application, slot n+1 is every other node together (the transport).
 */
export class MailboxLedger {
  private readonly pending: Int32Array;
  readonly appSlot: number;
  readonly remoteSlot: number;

  constructor(
    private readonly actorCount: number,
    readonly limit: number,
  ) {
    this.appSlot = actorCount;
    this.remoteSlot = actorCount + 1;
    this.pending = new Int32Array((actorCount + 2) * actorCount);
  }

  /** Takes one place on the link; false when the link is full. */
  take(fromSlot: number, toIndex: number): boolean {
    const at = fromSlot * this.actorCount + toIndex;
    const used = this.pending[at] ?? 0;
    if (used >= this.limit) return false;
    this.pending[at] = used + 1;
    return true;
  }

  release(fromSlot: number, toIndex: number): void {
    this.pending[fromSlot * this.actorCount + toIndex]! -= 1;
  }

  clear(): void {
    this.pending.fill(0);
  }
}

/**
 * Holds the messages actors send to the application while their node starts, and emits them on the
 * turn after start returns: otherwise a message sent from `create` (or soon after) would be emitted
 * before the caller could subscribe, and lost. Past appBacklogMessagesMax, messages are dropped and
 * counted in one warning.
 */
export class AppBacklog {
  private held: [Message, Address][] | undefined = [];
  private dropped = 0;

  constructor(
    private readonly emit: (message: Message, from: Address) => void,
    private readonly warn: (msg: string) => void,
  ) {}

  push(message: Message, from: Address): void {
    if (this.held === undefined) this.emit(message, from);
    else if (this.held.length < appBacklogMessagesMax) this.held.push([message, from]);
    else this.dropped++;
  }

  release(): void {
    setImmediate(() => {
      const held = this.held ?? [];
      this.held = undefined;
      if (this.dropped > 0) this.warn(`dropped ${this.dropped} messages to the application sent during start (appBacklogMessagesMax)`);
      for (const [message, from] of held) this.emit(message, from);
    });
  }
}
