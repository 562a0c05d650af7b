/**
 * The inline host: every actor of one node on the caller's event loop, real clock and timers.
 *
 * One FIFO queue holds every delivery of the node, so delivery order is send order (which gives
 * per-link FIFO). The drain loop hands out at most `inlineTurnMessagesMax` messages per turn, then
 * yields with setImmediate so that I/O and timers keep running while actors chatter.
 */
import { createNanoEvents } from 'nanoevents';
import type { Actor, ActorContext, Address, Message, NodeSpec, SendResult, TimerId } from './actor.js';
import { APP } from './actor.js';
import { assert } from './assert.js';
import { ActorFailedError, MailboxFullError, NoRouteError, StoppedError, toFailureReason } from './errors.js';
import { Fifo } from './fifo.js';
import type { HostEvents, HostOptions, HostState, HostStats, NodeHost } from './host.js';
import { AppBacklog, MailboxLedger, defaultLogSink, makeLogger, resolveMailboxMessagesMax, validateNodeSpec } from './host.js';
import { inlineTurnMessagesMax, timerDelayMsMax, timersPerActorMax } from '../limits.js';
import { FileJournal } from './file-journal.js';

interface Cell {
  readonly index: number;
  readonly address: Address;
  actor: Actor | undefined;
  readonly timers: Map<TimerId, ReturnType<typeof setTimeout>>;
  nextTimerId: number;
  journal: FileJournal | undefined;
  /** It threw: it receives nothing more, and its stop hook does not run (as a failed worker's). */
  failed: boolean;
}

/** A queued delivery; `fromSlot` -1 marks a timer firing, which holds no mailbox place. */
interface Delivery {
  readonly to: Cell;
  readonly fromSlot: number;
  readonly from: Address;
  readonly message: Message;
}

const TIMER_SLOT = -1;

/**
 * Starts a node on this event loop. Rejects with ActorFailedError (and leaves nothing running) when an
 * actor's `create` throws.
 */
export async function startInlineNode(spec: NodeSpec, options: HostOptions = {}): Promise<NodeHost> {
  validateNodeSpec('startInlineNode', spec);
  const host = new InlineHost(spec, options);
  await host.createActors(spec);
  return host;
}

const wallNow = (): number => performance.timeOrigin + performance.now();

class InlineHost implements NodeHost {
  readonly node: string;
  private hostState: HostState = 'starting';
  private readonly emitter = createNanoEvents<HostEvents>();
  private readonly cells = new Map<string, Cell>();
  private readonly ledger: MailboxLedger;
  private readonly queue = new Fifo<Delivery>();
  private readonly appAddress: Address;
  private readonly appBacklog: AppBacklog;
  private drainScheduled = false;
  private stopPromise: Promise<void> | undefined;
  private delivered = 0;
  private timersFired = 0;
  private mailboxFull = 0;

  constructor(
    spec: NodeSpec,
    private readonly options: HostOptions,
  ) {
    this.node = spec.node;
    this.appAddress = { node: spec.node, actor: APP };
    this.appBacklog = new AppBacklog(
      (message, from) => this.emitter.emit('appMessage', message, from),
      (msg) => (this.options.log ?? defaultLogSink)({ level: 'warn', timeMs: wallNow(), node: this.node, actor: 'host', msg, fields: undefined }),
    );
    this.ledger = new MailboxLedger(spec.actors.length, resolveMailboxMessagesMax('startInlineNode', options));
    spec.actors.forEach((actorSpec, index) => {
      this.cells.set(actorSpec.name, { index, address: { node: spec.node, actor: actorSpec.name }, actor: undefined, timers: new Map(), nextTimerId: 1, journal: undefined, failed: false });
    });
  }

  /** Creates every actor before any message moves, so that sends made in `create` find their target. */
  async createActors(spec: NodeSpec): Promise<void> {
    for (const actorSpec of spec.actors) {
      const cell = this.cells.get(actorSpec.name)!;
      try {
        cell.actor = actorSpec.kind.create(this.contextFor(cell), actorSpec.params as never);
      } catch (error) {
        this.stopPromise = this.finish('failed');
        await this.stopPromise;
        throw new ActorFailedError(cell.address, toFailureReason(error));
      }
    }
    this.hostState = 'running';
    this.appBacklog.release();
  }

  get state(): HostState {
    return this.hostState;
  }

  on<E extends keyof HostEvents>(event: E, listener: HostEvents[E]) {
    return this.emitter.on(event, listener);
  }

  send<T extends Message>(to: Address, message: T): SendResult {
    return this.route(this.ledger.appSlot, this.appAddress, to, message);
  }

  deliver<T extends Message>(from: Address, to: Address, message: T): SendResult {
    assert(from.node !== this.node, `deliver: message from ${from.node} claims to come from this node`);
    return this.route(this.ledger.remoteSlot, from, to, message);
  }

  stats(): HostStats {
    return { delivered: this.delivered, timersFired: this.timersFired, mailboxFull: this.mailboxFull, threads: 0 };
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.finish('requested');
    return this.stopPromise;
  }

  private contextFor(cell: Cell): ActorContext {
    const journalDir = this.options.journalDir;
    // A background sync's message comes back like a timer's (uncounted, from the actor itself).
    const journalDeliver = (message: Message) => {
      if (this.hostState === 'running') this.enqueue({ to: cell, fromSlot: TIMER_SLOT, from: cell.address, message });
    };
    return {
      get journal() {
        if (journalDir !== undefined) cell.journal ??= new FileJournal(journalDir, `${cell.address.node}.${cell.address.actor}`, journalDeliver);
        return cell.journal;
      },
      self: cell.address,
      batchEnds: true,
      send: (to, message) => this.route(cell.index, cell.address, to, message),
      now: wallNow,
      setTimer: (delayMs, message) => this.setTimer(cell, delayMs, message),
      cancelTimer: (id) => {
        const handle = cell.timers.get(id);
        if (handle === undefined) return;
        clearTimeout(handle);
        cell.timers.delete(id);
      },
      random: Math.random,
      log: makeLogger(cell.address, wallNow, this.options.log ?? defaultLogSink),
    };
  }

  private setTimer(cell: Cell, delayMs: number, message: Message): TimerId {
    assert(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= timerDelayMsMax, `setTimer: delayMs must be in [0, ${timerDelayMsMax}], got ${delayMs}`);
    assert(cell.timers.size < timersPerActorMax, `setTimer: ${cell.address.actor} has ${timersPerActorMax} timers pending (timersPerActorMax); a timer leak?`);
    const id = cell.nextTimerId++;
    const handle = setTimeout(() => {
      cell.timers.delete(id);
      if (this.hostState !== 'running') return;
      this.timersFired++;
      this.enqueue({ to: cell, fromSlot: TIMER_SLOT, from: cell.address, message });
    }, delayMs);
    cell.timers.set(id, handle);
    return id;
  }

  private route(fromSlot: number, from: Address, to: Address, message: Message): SendResult {
    if (this.hostState === 'stopping' || this.hostState === 'stopped') return new StoppedError(`node ${this.node}`);
    // During start, actors may send from `create`; those messages wait in the queue until running.
    if (to.node !== this.node) {
      return this.options.outbound ? this.options.outbound(from, to, message) : new NoRouteError(to);
    }
    if (to.actor === APP) {
      this.appBacklog.push(message, from);
      return undefined;
    }
    const cell = this.cells.get(to.actor);
    if (cell === undefined) return new NoRouteError(to);
    if (!this.ledger.take(fromSlot, cell.index)) {
      this.mailboxFull++;
      return new MailboxFullError(from, to, this.ledger.limit);
    }
    this.enqueue({ to: cell, fromSlot, from, message });
    return undefined;
  }

  private enqueue(delivery: Delivery): void {
    this.queue.push(delivery);
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Actors that received messages in this drain and have afterBatch, in order of their first message. */
  private readonly batched = new Set<Cell>();

  private readonly drain = (): void => {
    this.drainScheduled = false;
    for (let i = 0; i < inlineTurnMessagesMax && this.hostState === 'running'; i++) {
      const delivery = this.queue.shift();
      if (delivery === undefined) break;
      this.dispatch(delivery);
      if (delivery.to.actor?.afterBatch !== undefined) this.batched.add(delivery.to);
    }
    for (const cell of this.batched) {
      const actor = cell.actor;
      if (this.hostState === 'running' && actor?.afterBatch !== undefined) this.guard(cell, () => actor.afterBatch!());
    }
    this.batched.clear();
    if (this.queue.length > 0 && this.hostState === 'running' && !this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drain);
    }
  };

  private dispatch(delivery: Delivery): void {
    const { to, fromSlot, from, message } = delivery;
    if (fromSlot !== TIMER_SLOT) {
      this.ledger.release(fromSlot, to.index);
      this.delivered++;
    }
    const actor = to.actor;
    assert(actor !== undefined, `dispatch: ${to.address.actor} was never created`);
    this.guard(to, () => actor.receive(message, from));
  }

  /**
   * Runs actor code; an exception fails the node (reported, then a clean stop). The stop is under way
   * before anyone hears of the failure: a listener that stops the host (ClusterNode does) joins this
   * stop, and does not start one that would hand the queue to the failed actor.
   */
  private guard<T>(cell: Cell, run: () => T): T | undefined {
    try {
      return run();
    } catch (error) {
      const reason = toFailureReason(error);
      cell.failed = true;
      this.stopPromise ??= this.finish('failed');
      (this.options.log ?? defaultLogSink)({
        level: 'error', timeMs: wallNow(), node: this.node, actor: cell.address.actor,
        msg: new ActorFailedError(cell.address, reason).message, fields: { stack: reason.stack },
      });
      this.emitter.emit('actorFailed', cell.address, reason);
      return undefined;
    }
  }

  private async finish(reason: 'requested' | 'failed'): Promise<void> {
    const drainFirst = this.hostState === 'running' && reason === 'requested';
    this.hostState = 'stopping';
    for (const cell of this.cells.values()) {
      for (const handle of cell.timers.values()) clearTimeout(handle);
      cell.timers.clear();
    }
    await Promise.resolve(); // stop() returns before any actor code runs again
    // Messages sent before stop() began are delivered; their handlers' own sends are refused (STOPPED).
    if (drainFirst) {
      for (let delivery = this.queue.shift(); delivery !== undefined; delivery = this.queue.shift()) {
        if (delivery.fromSlot !== TIMER_SLOT && !delivery.to.failed) this.dispatch(delivery);
      }
    }
    this.queue.clear();
    this.ledger.clear();
    for (const cell of this.cells.values()) {
      const actor = cell.actor;
      if (actor?.stop && !cell.failed) this.guardStop(cell, actor);
      cell.actor = undefined;
      cell.journal?.close();
      cell.journal = undefined;
    }
    this.hostState = 'stopped';
    this.emitter.emit('stopped', reason);
  }

  private guardStop(cell: Cell, actor: Actor): void {
    try {
      actor.stop?.();
    } catch (error) {
      this.emitter.emit('actorFailed', cell.address, toFailureReason(error));
    }
  }
}
