/**
 * The worker side of the thread host: a piscina task that runs one actor for the life of its node.
 *
 * The task holds its transferred MessagePorts: one control port to the main thread and one port per
 * peer actor of the node, so that actors talk to each other directly, never relayed through the main
 * thread. The task's promise settles when the actor has stopped (or failed), and piscina then gets
 * the worker back; the host destroys the pool right after.
 *
 * Invariants: `receive` never runs after `stopping` was acted on for messages sent after it (they are
 * refused at the sender), never after a failure, and never re-entrantly.
 */
import type { Actor, ActorContext, ActorKind, Address, LogRecord, Message, SendResult, TimerId } from '../actor.js';
import { APP, formatAddress } from '../actor.js';
import { assert } from '../assert.js';
import { MailboxFullError, NoRouteError, StoppedError, toFailureReason } from '../errors.js';
import { makeLogger } from '../host.js';
import { PortLink } from '../../transport/port-link.js';
import { FileJournal } from '../file-journal.js';
import { threadSpinTurnMsMax, timerDelayMsMax, timersPerActorMax, workerLogRecordsMax } from '../../limits.js';
import type { ActorTask, ActorTaskResult, FromWorker, ToWorker } from './protocol.js';
import { unsendableText } from './protocol.js';

type Phase = 'running' | 'stopping' | 'failed' | 'stopped';

const wallNow = (): number => performance.timeOrigin + performance.now();

export default async function runActor(task: ActorTask): Promise<ActorTaskResult> {
  const kind = await loadKind(task.module, task.kind);
  return new Promise<ActorTaskResult>((resolve) => new WorkerActor(task, kind, resolve));
}

async function loadKind(moduleUrl: string, kindName: string): Promise<ActorKind> {
  const module = (await import(moduleUrl)) as Record<string, unknown>;
  for (const value of Object.values(module)) {
    const candidate = value as Partial<ActorKind> | null;
    if (typeof candidate === 'object' && candidate !== null && candidate.kind === kindName && typeof candidate.create === 'function') {
      return candidate as ActorKind;
    }
  }
  throw new Error(`module ${moduleUrl} exports no actor kind ${JSON.stringify(kindName)} (export the defineActor result)`);
}

class WorkerActor {
  private phase: Phase = 'running';
  private actor: Actor | undefined;
  private readonly self: Address;
  private readonly control: PortLink;
  private readonly peers = new Map<string, PortLink>();
  /** Direct links to this actor's namesakes on other nodes of the process (DirectLinks), and those cut. */
  private readonly remotes = new Map<string, PortLink>();
  /** Per peer: the pair's shared cut flag (1: cut), set by the network on the main thread. */
  private readonly cutFlags = new Map<string, Int32Array>();
  /**
   * Links to peers that left (or were replaced): nothing is sent on them, but what the peer sent before
   * it went (its last heartbeat, say) is still read, until its side closes the port.
   */
  private readonly draining = new Set<PortLink>();
  private readonly timers = new Map<TimerId, ReturnType<typeof setTimeout>>();
  private nextTimerId = 1;
  private expected: { readonly perPeer: Readonly<Record<string, number>>; readonly fromHost: number } | undefined;
  private logsThisTurn = 0;
  private logsDropped = 0;
  private readonly result = { delivered: 0, timersFired: 0, mailboxFull: 0 };
  private journal: FileJournal | undefined;
  private spinQueued = false;
  private batchEndQueued = false;
  private spinning = false;

  constructor(
    private readonly task: ActorTask,
    kind: ActorKind,
    private readonly resolve: (result: ActorTaskResult) => void,
  ) {
    this.self = { node: task.node, actor: task.actor };
    this.control = new PortLink(task.control, task.mailboxMessagesMax, (items) => this.onControl(items as readonly ToWorker[]), (error, items) => this.unsendable('the application', error, items));
    for (const { actor, port } of task.peers) {
      const from: Address = { node: task.node, actor };
      this.peers.set(actor, new PortLink(port, task.mailboxMessagesMax, (items) => this.onPeer(from, items as readonly Message[]), (error, items) => this.unsendable(actor, error, items)));
    }
    try {
      this.actor = kind.create(this.context(), task.params as never);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.toHost({ type: 'ready' });
  }

  private context(): ActorContext {
    const worker = this;
    return {
      get journal() {
        const dir = worker.task.journalDir;
        if (dir !== undefined) worker.journal ??= new FileJournal(dir, `${worker.task.node}.${worker.task.actor}`, (message) => worker.fromJournal(message));
        return worker.journal;
      },
      self: this.self,
      batchEnds: true,
      send: (to, message) => this.send(to, message),
      now: wallNow,
      setTimer: (delayMs, message) => this.setTimer(delayMs, message),
      cancelTimer: (id) => {
        clearTimeout(this.timers.get(id));
        this.timers.delete(id);
      },
      random: Math.random,
      log: makeLogger(this.self, wallNow, (record) => this.log(record)),
    };
  }

  private send(to: Address, message: Message): SendResult {
    if (this.phase !== 'running') return new StoppedError(`node ${this.task.node}`);
    if (to.node === this.task.node && to.actor !== APP) {
      const link = this.peers.get(to.actor);
      if (link === undefined) return new NoRouteError(to);
      return this.counted(link.trySend(message), to);
    }
    const remote = to.actor === this.task.actor ? this.remotes.get(to.node) : undefined;
    if (remote !== undefined) {
      // As on a network: lost, without telling the sender, when cut. Past the receiver's bound the sender
      // hears MAILBOX_FULL (the message is lost all the same): a replicator refuses a forwarded proposal
      // to its writers then, instead of leaving them to time out.
      if (this.isCut(to.node)) return undefined;
      return this.counted(remote.trySend(message), to);
    }
    if (to.node !== this.task.node && !this.task.hasOutbound) return new NoRouteError(to);
    return this.counted(this.control.trySend({ type: 'out', to, message } satisfies FromWorker), to);
  }

  private counted(sent: boolean, to: Address): SendResult {
    if (sent) return undefined;
    this.result.mailboxFull++;
    return new MailboxFullError(this.self, to, this.task.mailboxMessagesMax);
  }

  private setTimer(delayMs: number, message: Message): TimerId {
    assert(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= timerDelayMsMax, `setTimer: delayMs must be in [0, ${timerDelayMsMax}], got ${delayMs}`);
    assert(this.timers.size < timersPerActorMax, `setTimer: ${this.task.actor} has ${timersPerActorMax} timers pending (timersPerActorMax); a timer leak?`);
    const id = this.nextTimerId++;
    this.timers.set(id, setTimeout(() => {
      this.timers.delete(id);
      if (this.phase !== 'running') return;
      this.result.timersFired++;
      this.invoke(message, this.self);
      this.afterActivity();
    }, delayMs));
    return id;
  }

  /** A background sync's message, delivered like a timer's. */
  private fromJournal(message: Message): void {
    if (this.phase !== 'running') return;
    this.invoke(message, this.self);
    this.afterActivity();
  }

  /** Stops sending to `peer` on its link; the link is read until the peer's side closes it. */
  private retire(peer: string): void {
    const link = this.remotes.get(peer);
    if (link === undefined) return;
    this.remotes.delete(peer);
    this.draining.add(link);
  }

  private isCut(peer: string): boolean {
    const flag = this.cutFlags.get(peer);
    return flag !== undefined && Atomics.load(flag, 0) !== 0;
  }

  /** `cut` is the flag of the link these came on (a replaced link's stays its own). */
  private onRemote(from: Address, cut: Int32Array, messages: readonly Message[]): number {
    if (Atomics.load(cut, 0) === 0) for (const message of messages) this.take(message, from);
    this.afterBatch();
    return messages.length;
  }

  private onPeer(from: Address, messages: readonly Message[]): number {
    for (const message of messages) this.take(message, from);
    this.afterBatch();
    return messages.length;
  }

  private onControl(items: readonly ToWorker[]): number {
    let counted = 0;
    for (const item of items) {
      switch (item.type) {
        case 'deliver':
          counted++;
          this.take(item.message, item.from);
          break;
        case 'stopping':
          this.quiesce();
          break;
        case 'finish':
          this.expected = { perPeer: item.expected, fromHost: item.expectedFromHost };
          break;
        case 'remote': {
          this.retire(item.peer);
          const from: Address = { node: item.peer, actor: this.task.actor };
          const cut = item.cut;
          const link = new PortLink(item.port, this.task.mailboxMessagesMax, (messages) => this.onRemote(from, cut, messages as readonly Message[]), (error, items) => this.unsendable(formatAddress(from), error, items));
          this.cutFlags.set(item.peer, cut);
          item.port.once('close', () => {
            link.close();
            this.draining.delete(link);
          });
          this.remotes.set(item.peer, link);
          break;
        }
        case 'remoteGone':
          this.retire(item.peer);
          break;

      }
    }
    this.afterBatch();
    return counted;
  }

  /** The link counts a batch as received only after this handler returns: check for finish after. */
  private afterBatch(): void {
    if (this.expected !== undefined) queueMicrotask(() => this.maybeFinish());
    this.afterActivity();
  }

  /**
   * While traffic is hot, poll the ports instead of sleeping: waking a sleeping thread costs ~50 µs on
   * these machines, a poll ~3 µs. Runs from a microtask, after the batch's credits are counted, and
   * flushes everything pending first; yields to the event loop after threadSpinTurnMsMax at most.
   */
  private afterActivity(): void {
    if (this.task.spinUs <= 0 || this.spinQueued || this.spinning) return;
    this.spinQueued = true;
    queueMicrotask(() => {
      this.spinQueued = false;
      this.spin();
    });
  }

  private spin(): void {
    this.spinning = true;
    const links = [this.control, ...this.peers.values(), ...this.remotes.values()];
    const idleMs = this.task.spinUs / 1000;
    const turnEndMs = performance.now() + threadSpinTurnMsMax;
    for (const link of links) link.flush();
    let idleEndMs = performance.now() + idleMs;
    while (this.phase !== 'stopped') {
      let got = false;
      for (const link of links) if (link.pollSync()) got = true;
      const nowMs = performance.now();
      if (got) {
        for (const link of links) link.flush();
        idleEndMs = nowMs + idleMs;
      }
      if (nowMs >= idleEndMs || nowMs >= turnEndMs) break;
    }
    this.spinning = false;
  }

  /** Every message that arrived is counted; only a running or stopping actor processes it. */
  private take(message: Message, from: Address): void {
    if (this.phase === 'failed' || this.phase === 'stopped') return;
    this.result.delivered++;
    this.invoke(message, from);
  }

  private invoke(message: Message, from: Address): void {
    try {
      this.actor!.receive(message, from);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.actor!.afterBatch !== undefined && !this.batchEndQueued) {
      // Everything that arrived in this turn (every port's batch, timers) first, then one afterBatch.
      this.batchEndQueued = true;
      queueMicrotask(() => {
        this.batchEndQueued = false;
        if (this.phase !== 'running' && this.phase !== 'stopping') return;
        try {
          this.actor!.afterBatch!();
        } catch (error) {
          this.fail(error);
        }
      });
    }
  }

  private quiesce(): void {
    if (this.phase === 'running') this.phase = 'stopping';
    this.cancelTimers();
    const sent: Record<string, number> = {};
    for (const [actor, link] of this.peers) sent[actor] = link.sent;
    this.toHost({ type: 'quiesced', sent });
  }

  /** After `finish`: once every expected message arrived, run the stop hook and release the ports. */
  private maybeFinish(): void {
    const expected = this.expected;
    if (expected === undefined || this.phase === 'stopped') return;
    if (this.control.received < expected.fromHost) return;
    for (const [actor, count] of Object.entries(expected.perPeer)) {
      if ((this.peers.get(actor)?.received ?? 0) < count) return;
    }
    if (this.phase !== 'failed') {
      try {
        this.actor?.stop?.();
      } catch (error) {
        this.toHost({ type: 'failed', error: toFailureReason(error) });
      }
    }
    this.phase = 'stopped';
    this.journal?.close();
    this.toHost({ type: 'stopped', result: { ...this.result } });
    for (const link of this.peers.values()) link.close();
    for (const link of [...this.remotes.values(), ...this.draining]) link.close();
    this.control.close();
    this.resolve({ ...this.result });
  }

  /** What this actor sent could not cross threads (a function in a message, say): its bug, so it fails. */
  private unsendable(to: string, error: Error, items: readonly unknown[]): void {
    this.fail(Object.assign(new Error(`could not send ${to} ${unsendableText(error, items)}`), { name: 'UnsendableMessage', stack: error.stack }));
  }

  private fail(error: unknown): void {
    if (this.phase === 'failed' || this.phase === 'stopped') return;
    this.phase = 'failed';
    this.cancelTimers();
    this.toHost({ type: 'failed', error: toFailureReason(error) });
  }

  private cancelTimers(): void {
    for (const handle of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
  }

  /** Log records go to the host's sink; a burst past workerLogRecordsMax per turn is counted, not kept. */
  private log(record: LogRecord): void {
    if (this.logsThisTurn === 0) {
      queueMicrotask(() => {
        if (this.logsDropped > 0) {
          this.toHost({ type: 'log', record: { ...record, level: 'warn', msg: `dropped ${this.logsDropped} log records (workerLogRecordsMax)`, fields: undefined } });
        }
        this.logsThisTurn = 0;
        this.logsDropped = 0;
      });
    }
    if (++this.logsThisTurn > workerLogRecordsMax) this.logsDropped++;
    else this.toHost({ type: 'log', record });
  }

  private toHost(item: FromWorker): void {
    this.control.post(item);
  }
}
