/**
 * The simulator host: any number of nodes in one thread on a virtual clock.
 *
 * It runs the real actors (the same ActorKind definitions the thread and inline hosts run). Owns: the
 * virtual clock, the one event queue ordered by (time, sequence), the one seeded Rng from which every
 * delivery delay, every interleaving and every actor's `random()` is drawn, and the trace hash.
 *
 * Invariants:
 * - the same seed and the same calls give the same trace hash (nothing reads the real clock or
 *   Math.random, and no iteration order depends on anything but insertion order);
 * - per-link FIFO: a message never overtakes an earlier one on the same (sender, receiver) link;
 * - an event for a crashed incarnation of a node is dropped, never delivered to its successor.
 */
import { createNanoEvents } from 'nanoevents';
import type { Unsubscribe } from 'nanoevents';
import type { ActorContext, Address, LogRecord, Message, NodeSpec, SendResult, TimerId } from '../src/runtime/actor.js';
import { APP, formatAddress } from '../src/runtime/actor.js';
import { assert } from '../src/runtime/assert.js';
import type { FailureReason } from '../src/runtime/errors.js';
import { MailboxFullError, NoRouteError, invalidArgument, toFailureReason } from '../src/runtime/errors.js';
import { MailboxLedger, makeLogger, resolveMailboxMessagesMax, validateNodeSpec } from '../src/runtime/host.js';
import { simActorsPerNodeMax, simEventsMaxDefault, simLogRecordsMax, timerDelayMsMax, timersPerActorMax } from '../src/limits.js';
import { KeyedHeap } from './event-queue.js';
import { SimNetwork } from './network.js';
import { Rng } from './rng.js';
import { TraceHash } from './trace.js';
import { simulatedCrash } from './sim-journal.js';
import { SimDisks, drawBackgroundSync } from './sim-journals.js';
import { Kind, PendingTimers, SimEvent } from './sim-state.js';
import type { SimCell, SimNode } from './sim-state.js';

export interface SimOptions {
  readonly seed: number;
  /** Fold every event into a trace hash (costs a walk of every message). */
  readonly trace?: boolean;
  readonly mailboxMessagesMax?: number;
  /** Delay of a message between actors of one node, drawn uniformly (default 5–50 µs, a thread hop). */
  readonly localDelayMs?: readonly [number, number];
  /** Delay of a message between nodes, drawn uniformly (default 0.1–2 ms); `network.setFaults` changes it later. */
  readonly networkDelayMs?: readonly [number, number];
  /** Events one simulation may process before it fails as a runaway (default 50 million). */
  readonly eventsMax?: number;
  /** Receives every log record as it is made (the last `simLogRecordsMax` are also kept). */
  readonly log?: (record: LogRecord) => void;
  /** Journals offer syncThen, a background sync (default: drawn from the seed, on about half the seeds). */
  readonly backgroundSync?: boolean;
}

export interface SimEvents {
  appMessage: (message: Message, from: Address, node: string) => void;
  actorFailed: (actor: Address, error: FailureReason) => void;
  /** A node went down (crash(), a crash mid-write, or an actor failure), after its actors stopped. */
  crashed: (node: string) => void;
}

export interface SimStats {
  readonly events: number;
  readonly delivered: number;
  readonly timersFired: number;
  readonly mailboxFull: number;
  /** Messages dropped because their node crashed, a link was cut or lossy, or a remote mailbox was full. */
  readonly dropped: number;
}

/** The simulated epoch: virtual time 0 reads as this on every node's clock (2026-01-01T00:00:00Z). */
export const simEpochMs = Date.UTC(2026, 0, 1);

export class Simulation {
  readonly seed: number;
  readonly rng: Rng;
  /** The network between nodes: partitions, cuts, clogs, loss, duplication, reordering, delay. */
  readonly network: SimNetwork;
  /** Whether this run's journals sync in the background (syncThen) as well as with `sync`. */
  readonly backgroundSync: boolean;
  /** The nodes' journals: armed crashes, stalls, what a crash loses (sim-journals.ts). */
  readonly disks: SimDisks;
  private clockMs = 0;
  private seq = 0;
  private readonly queue = new KeyedHeap<SimEvent>();
  private readonly nodes = new Map<string, SimNode>();
  private readonly emitter = createNanoEvents<SimEvents>();
  /** appMessage listeners, called directly (the emitter's rest arguments cost an array per message, ~40,000 a
   * run); replaced on unsubscribe, as the emitter does, so that an emit under way calls those it began with. */
  private appListeners: SimEvents['appMessage'][] = [];
  private readonly hash: TraceHash | undefined;
  private readonly mailboxMessagesMax: number;
  private readonly localDelayMs: readonly [number, number];
  private readonly eventsMax: number;
  private readonly logRecords: LogRecord[] = [];
  private counters = { events: 0, delivered: 0, timersFired: 0, mailboxFull: 0, dropped: 0 };

  constructor(private readonly options: SimOptions) {
    this.seed = options.seed;
    this.rng = new Rng(options.seed);
    this.hash = options.trace ? new TraceHash() : undefined;
    this.mailboxMessagesMax = resolveMailboxMessagesMax('Simulation', options);
    this.localDelayMs = checkRange('localDelayMs', options.localDelayMs ?? [0.005, 0.05]);
    this.network = new SimNetwork(this.rng);
    this.network.setFaults({ delayMs: checkRange('networkDelayMs', options.networkDelayMs ?? [0.1, 2]) });
    this.eventsMax = options.eventsMax ?? simEventsMaxDefault;
    this.backgroundSync = options.backgroundSync ?? drawBackgroundSync(options.seed);
    this.disks = new SimDisks(this, this.nodes);
  }

  /** Virtual milliseconds since the start of the run. */
  get nowMs(): number {
    return this.clockMs;
  }

  get traceHash(): string {
    assert(this.hash !== undefined, 'traceHash: create the Simulation with { trace: true }');
    return this.hash.digest();
  }

  stats(): SimStats {
    return { ...this.counters };
  }

  /** Journal records torn by crashes mid-write, torn frames cut off on reopening, and armed crashes inside a background sync or a rewrite, over every node. */
  journalTears(): ReturnType<SimDisks['journalCounts']> {
    return this.disks.journalCounts();
  }

  /** The most recent log records (at most simLogRecordsMax). */
  logs(): readonly LogRecord[] {
    return this.logRecords;
  }

  on<E extends keyof SimEvents>(event: E, listener: SimEvents[E]): Unsubscribe {
    if (event !== 'appMessage') return this.emitter.on(event, listener);
    const app = listener as SimEvents['appMessage'];
    this.appListeners.push(app);
    return () => void (this.appListeners = this.appListeners.filter((l) => l !== app));
  }

  /** Adds a node and creates its actors now. Node specs are factories: restart() builds them again. */
  addNode(spec: NodeSpec): void {
    validateNodeSpec('Simulation.addNode', spec);
    if (this.nodes.has(spec.node)) throw invalidArgument('Simulation.addNode', `node ${spec.node} exists already`);
    if (spec.actors.length > simActorsPerNodeMax) throw invalidArgument('Simulation.addNode', `node ${spec.node}: at most ${simActorsPerNodeMax} actors`);
    const n = spec.actors.length;
    const node: SimNode = {
      name: spec.node, netNumber: this.network.nodeNumber(spec.node), spec, cells: new Map(), ledger: new MailboxLedger(n, this.mailboxMessagesMax),
      lastLocalMs: new Float64Array((n + 2) * n), incarnation: 0, up: false, clockOffsetMs: 0, clockRate: 1, paused: false, held: [], journals: new Map(), crashAtSync: false,
    };
    this.nodes.set(spec.node, node);
    this.boot(node);
  }

  /** Sends from a node's application side (from = `{ node: to.node, actor: APP }`). */
  send<T extends Message>(to: Address, message: T): SendResult {
    const node = this.nodes.get(to.node);
    if (node === undefined || !node.up) return new NoRouteError(to);
    return this.route(node, node.ledger.appSlot, { node: to.node, actor: APP }, to, message);
  }

  /** Runs `call` at virtual time now + delayMs, in (time, sequence) order with everything else. */
  at(delayMs: number, call: () => void): void {
    if (!(Number.isFinite(delayMs) && delayMs >= 0)) assert(false, `at: delayMs must be finite and >= 0, got ${delayMs}`);
    this.queue.push(this.clockMs + delayMs, this.seq++, new SimEvent(Kind.Call, undefined, 0, -1, undefined, undefined, call));
  }

  /** Kills the node inside its next journal write, as a power cut mid-write would, or within `withinMs` (SimDisks.armCrash). */
  crashAtNextSync(name: string, withinMs: number): void {
    this.disks.armCrash(this.nodeNamed('crashAtNextSync', name), withinMs);
  }

  /** Kills a node: its actors vanish mid-flight, its timers and the messages in flight to it are lost. */
  crash(name: string): void {
    const node = this.nodeNamed('crash', name);
    if (!node.up) return;
    node.up = false;
    node.incarnation++;
    node.paused = false;
    node.held = [];
    this.disks.crashed(node); // what its journals lose; disarmed
    for (const cell of node.cells.values()) {
      cell.actor = undefined;
      cell.timers.clear();
    }
    node.ledger.clear();
    node.lastLocalMs.fill(0);
    this.emitter.emit('crashed', name);
  }

  /** Builds a crashed node's actors again from its spec. */
  restart(name: string): void {
    const node = this.nodeNamed('restart', name);
    assert(!node.up, `restart: node ${name} is up; crash it first`);
    this.boot(node);
  }

  isUp(name: string): boolean {
    return this.nodeNamed('isUp', name).up;
  }

  /** Shifts a node's clock (what its actors read from now()); virtual time itself is unaffected. */
  setClockOffset(name: string, offsetMs: number): void {
    this.nodeNamed('setClockOffset', name).clockOffsetMs = offsetMs;
  }

  /**
   * Makes a node's clock run fast (rate > 1) or slow (< 1) against virtual time: what its actors read from
   * now(), and the timers they set from then on (a 100 ms timer at rate 1.1 fires after ~91 ms).
   */
  setClockRate(name: string, rate: number): void {
    if (!(rate > 0 && Number.isFinite(rate))) throw invalidArgument('Simulation.setClockRate', `rate must be positive, got ${rate}`);
    this.nodeNamed('setClockRate', name).clockRate = rate;
  }

  /** Freezes a node (a long GC pause, a stopped VM): nothing it should receive or fire runs until resume. */
  pause(name: string): void {
    const node = this.nodeNamed('pause', name);
    if (node.up) node.paused = true;
  }

  /** Unfreezes a node: what came due meanwhile runs now, in the order it came due. */
  resume(name: string): void {
    const node = this.nodeNamed('resume', name);
    if (!node.paused) return;
    node.paused = false;
    for (const event of node.held) {
      const again = new SimEvent(event.kind, event.cell, event.incarnation, event.fromSlot, event.from, event.message, undefined);
      again.cancelled = event.cancelled;
      again.arrived = event.arrived;
      again.sourceNode = event.sourceNode;
      if (event.kind === Kind.Timer && event.cell!.timers.get(event.fromSlot) === event) event.cell!.timers.set(again);
      this.queue.push(this.clockMs, this.seq++, again);
    }
    node.held = [];
  }

  /** Processes the next event; false when nothing is left. */
  step(): boolean {
    while (this.queue.length > 0) if (this.processNext()) return true;
    return false;
  }

  /** Processes every event due within the next `durationMs`, then advances the clock to its end. */
  runFor(durationMs: number): void {
    assert(Number.isFinite(durationMs) && durationMs >= 0, `runFor: durationMs must be >= 0, got ${durationMs}`);
    const endMs = this.clockMs + durationMs;
    const queue = this.queue;
    while (queue.length > 0 && queue.peekTimeMs() <= endMs) this.processNext();
    this.clockMs = endMs;
  }

  /** Steps until `done()` holds (true) or the queue empties or `timeMsMax` passes (false). */
  runUntil(done: () => boolean, timeMsMax = Number.POSITIVE_INFINITY): boolean {
    const endMs = this.clockMs + timeMsMax;
    const queue = this.queue;
    while (!done()) {
      if (queue.length === 0 || queue.peekTimeMs() > endMs) return false;
      this.processNext();
    }
    return true;
  }

  /** Pops the next event (the queue is not empty) and processes it at its time. */
  private processNext(): boolean {
    const event = this.queue.pop()!;
    return this.process(event, this.queue.poppedTimeMs);
  }

  /** Returns whether the event did something (cancelled and stale events do nothing). */
  private process(event: SimEvent, timeMs: number): boolean {
    if (event.cancelled) return false;
    const cell = event.cell;
    if (cell !== undefined) {
      const node = cell.node;
      const crossNode = event.kind === Kind.Deliver && event.fromSlot === node.ledger.remoteSlot;
      if (crossNode && !event.arrived) {
        event.arrived = true; // a packet held by a paused node comes by again: count it off its path once
        if (!this.network.arrivePath(event.sourceNode, node.netNumber)) {
          this.counters.dropped++;
          if (event.incarnation === node.incarnation && node.up) node.ledger.release(event.fromSlot, cell.index);
          return false;
        }
      }
      if (event.incarnation !== node.incarnation || !node.up) {
        if (event.kind === Kind.Deliver) this.counters.dropped++;
        return false;
      }
      if (node.paused) {
        node.held.push(event);
        return false;
      }
    }
    // Hot-path checks build their message only when they fail (a template per event costs, profiled).
    if (++this.counters.events > this.eventsMax) assert(false, `simulation seed ${this.seed}: more than ${this.eventsMax} events (eventsMax); a runaway?`);
    this.clockMs = timeMs;
    switch (event.kind) {
      case Kind.Call:
        event.call!();
        return true;
      case Kind.Timer:
        cell!.timers.delete(event.fromSlot);
        this.counters.timersFired++;
        this.hash?.addEvent('t', timeMs, cell!.address.node, cell!.address.actor, cell!.address.node, cell!.address.actor, event.message);
        this.invoke(cell!, event.message!, cell!.address);
        return true;
      case Kind.Deliver:
        cell!.node.ledger.release(event.fromSlot, cell!.index);
        this.counters.delivered++;
        this.hash?.addEvent('d', timeMs, event.from!.node, event.from!.actor, cell!.address.node, cell!.address.actor, event.message);
        this.invoke(cell!, event.message!, event.from!);
        return true;
    }
  }

  private invoke(cell: SimCell, message: Message, from: Address): void {
    const actor = cell.actor;
    if (actor === undefined) assert(false, `invoke: ${formatAddress(cell.address)} is not running`);
    try {
      actor.receive(message, from);
    } catch (error) {
      this.fail(cell, error);
    }
  }

  /** An actor threw: report it and crash its node (a programmer error must never pass silently). */
  private fail(cell: SimCell, error: unknown): void {
    if (error === simulatedCrash) this.disks.crashedMidWrite(); // a crash mid-write, not an actor failure
    else this.emitter.emit('actorFailed', cell.address, toFailureReason(error));
    this.crash(cell.node.name);
  }

  private boot(node: SimNode): void {
    node.up = true;
    for (const journal of node.journals.values()) journal.reopen();
    node.cells.clear();
    node.spec.actors.forEach((actorSpec, index) => {
      node.cells.set(actorSpec.name, { index, address: { node: node.name, actor: actorSpec.name }, node, actor: undefined, timers: new PendingTimers(), nextTimerId: 1 });
    });
    const incarnation = node.incarnation;
    for (const actorSpec of node.spec.actors) {
      const cell = node.cells.get(actorSpec.name)!;
      try {
        cell.actor = actorSpec.kind.create(this.contextFor(cell), actorSpec.params as never);
      } catch (error) {
        this.fail(cell, error);
      }
      if (node.incarnation !== incarnation) return;
    }
  }

  private contextFor(cell: SimCell): ActorContext {
    const node = cell.node;
    const now = () => simEpochMs + this.clockMs * node.clockRate + node.clockOffsetMs;
    const journals = node.journals;
    const name = cell.address.actor;
    const newJournal = () => this.disks.journalFor(node, this.backgroundSync ? (message) => this.fromJournal(node, node.cells.get(name), message) : undefined);
    return {
      get journal() {
        let journal = journals.get(name);
        if (journal === undefined) journals.set(name, (journal = newJournal()));
        return journal;
      },
      self: cell.address,
      send: (to, message) => this.route(node, cell.index, cell.address, to, message),
      now,
      setTimer: (delayMs, message) => this.setTimer(cell, delayMs, message),
      cancelTimer: (id) => {
        const event = cell.timers.get(id);
        if (event === undefined) return;
        event.cancelled = true;
        cell.timers.delete(id);
      },
      random: () => this.rng.next(),
      log: makeLogger(cell.address, now, (record) => this.keepLog(record)),
    };
  }

  /** A background sync's message reaches its actor (this run of it) as a timer's does: from itself, no mailbox place; timer id 0 is none. */
  private fromJournal(node: SimNode, cell: SimCell | undefined, message: Message): void {
    if (node.up && cell !== undefined) this.queue.push(this.clockMs, this.seq++, new SimEvent(Kind.Timer, cell, node.incarnation, 0, undefined, message, undefined));
  }

  private setTimer(cell: SimCell, delayMs: number, message: Message): TimerId {
    if (!(delayMs >= 0 && delayMs <= timerDelayMsMax)) assert(false, `setTimer: delayMs must be in [0, ${timerDelayMsMax}], got ${delayMs}`);
    if (cell.timers.size >= timersPerActorMax) assert(false, `setTimer: ${cell.address.actor} has ${timersPerActorMax} timers pending (timersPerActorMax); a timer leak?`);
    const id = cell.nextTimerId++;
    // A timer event carries its id in fromSlot, so that firing can forget it.
    // A timer runs on its node's clock: a clock running fast (rate > 1) fires it sooner in virtual time.
    const event = new SimEvent(Kind.Timer, cell, cell.node.incarnation, id, undefined, message, undefined);
    cell.timers.set(event);
    this.queue.push(this.clockMs + delayMs / cell.node.clockRate, this.seq++, event);
    return id;
  }

  private route(source: SimNode, fromSlot: number, from: Address, to: Address, message: Message): SendResult {
    if (to.node === source.name) return this.routeLocal(source, fromSlot, from, to, message);
    const target = this.nodes.get(to.node);
    // Another node's application (APP) is not reachable over the network: no cell, no route.
    const cell = target?.cells.get(to.actor);
    if (target === undefined || cell === undefined) return new NoRouteError(to);
    // Like a network, a down node, a faulty link or a full remote mailbox loses the message, and the
    // sender is not told. The network decides first, so that its random draws do not depend on the target.
    const copies = this.network.planPath(source.netNumber, target.netNumber, this.clockMs);
    for (let i = 0; i < copies; i++) {
      if (!target.up || !target.ledger.take(target.ledger.remoteSlot, cell.index)) {
        this.network.arrivePath(source.netNumber, target.netNumber);
        this.counters.dropped++;
        continue;
      }
      const event = new SimEvent(Kind.Deliver, cell, target.incarnation, target.ledger.remoteSlot, from, this.network.carry(from, to, message), undefined);
      event.sourceNode = source.netNumber;
      this.queue.push(this.network.arrivalsMs[i]!, this.seq++, event);
    }
    if (copies === 0) this.counters.dropped++;
    return undefined;
  }

  private routeLocal(node: SimNode, fromSlot: number, from: Address, to: Address, message: Message): SendResult {
    if (to.actor === APP) {
      const listeners = this.appListeners;
      for (let i = 0, n = listeners.length; i < n; i++) listeners[i]!(message, from, node.name);
      return undefined;
    }
    const cell = node.cells.get(to.actor);
    if (cell === undefined) return new NoRouteError(to);
    if (!node.ledger.take(fromSlot, cell.index)) {
      this.counters.mailboxFull++;
      return new MailboxFullError(from, to, this.mailboxMessagesMax);
    }
    const link = fromSlot * node.spec.actors.length + cell.index;
    const timeMs = Math.max(this.clockMs + this.rng.between(this.localDelayMs[0], this.localDelayMs[1]), node.lastLocalMs[link]!);
    node.lastLocalMs[link] = timeMs;
    this.queue.push(timeMs, this.seq++, new SimEvent(Kind.Deliver, cell, node.incarnation, fromSlot, from, message, undefined));
    return undefined;
  }

  private keepLog(record: LogRecord): void {
    this.options.log?.(record);
    if (this.logRecords.length >= simLogRecordsMax) this.logRecords.shift();
    this.logRecords.push(record);
  }

  private nodeNamed(api: string, name: string): SimNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw invalidArgument(`Simulation.${api}`, `no node named ${JSON.stringify(name)}`);
    return node;
  }
}

function checkRange(name: string, range: readonly [number, number]): readonly [number, number] {
  const [min, max] = range;
  if (!(Number.isFinite(min) && Number.isFinite(max) && min >= 0 && max >= min)) throw invalidArgument('Simulation', `${name} must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
  return range;
}
