/**
 * The thread host: every actor of one node in its own worker thread.
 *
 * Why piscina: it owns the worker lifecycle (spawn, resource limits, termination, reporting a worker
 * that died) so that this file does not. Each actor runs as one long-running piscina task that holds
 * its transferred MessagePorts until the node stops: a pool of exactly one thread per actor,
 * `concurrentTasksPerWorker: 1` so no two actors share a thread, `atomics: 'disabled'` so the worker's
 * event loop stays free to receive port messages while the task runs, `idleTimeout: Infinity` so
 * piscina never reaps a thread under a live actor.
 *
 * Actors of the node talk over one MessageChannel per pair, directly; the main thread only sees
 * messages to and from the application and other nodes, on each actor's control port.
 * Owns: the pool, the control links, the two-phase stop (see protocol.ts).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, isMainThread } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { createNanoEvents } from 'nanoevents';
import { Piscina } from 'piscina';
import type { Address, LogRecord, Message, NodeSpec, SendResult } from '../actor.js';
import { APP, formatAddress } from '../actor.js';
import { assertNever } from '../assert.js';
import { ActorFailedError, MailboxFullError, NoRouteError, StoppedError, invalidArgument, toFailureReason } from '../errors.js';
import type { FailureReason } from '../errors.js';
import type { DirectLinks, HostEvents, HostOptions, HostState, HostStats, NodeHost, StopReason } from '../host.js';
import { AppBacklog, defaultLogSink, resolveMailboxMessagesMax, validateNodeSpec } from '../host.js';
import { PortLink } from '../../transport/port-link.js';
import { EchoRegistry } from '../../transport/port-codec.js';
import { actorHeapMbDefault, actorHeapMbMin, stopDrainMsMax, threadSpinTurnMsMax, threadSpinUsDefault, threadStartMsMax } from '../../limits.js';
import { workerLoadableUrl } from './module-url.js';
import type { ActorTask, ActorTaskResult, FromWorker, ToWorker } from './protocol.js';
import { unsendableText } from './protocol.js';

/**
 * Byte arrays this thread sent to any actor of any thread host, kept to be handed back as themselves
 * (port-codec.ts); on the main thread only, where every node's application lives.
 */
const echoes = isMainThread ? new EchoRegistry() : undefined;

/** Worker threads started by thread hosts in this process and not yet stopped. */
let liveThreads = 0;

/**
 * Hot polling pays only while every polling thread can have a core: with more actor threads than cores
 * (say three nodes of three actors on two cores), spinning threads steal the cores the busy ones need.
 * Measured with 3 nodes on 2 cores: one writer's commit p50 1.15 ms with polling, 0.38 ms without.
 */
function resolveSpinUs(options: HostOptions, actors: number): number {
  const spinUs = options.spinUs ?? (liveThreads + actors <= availableParallelism() ? threadSpinUsDefault : 0);
  if (!Number.isFinite(spinUs) || spinUs < 0 || spinUs > 1000 * threadSpinTurnMsMax) {
    throw invalidArgument('startThreadNode', `spinUs must be in [0, ${1000 * threadSpinTurnMsMax}], got ${spinUs}`);
  }
  return spinUs;
}

interface WorkerHandle {
  readonly name: string;
  readonly address: Address;
  readonly link: PortLink;
  ready: boolean;
  /** Messages this actor sent per peer, once it quiesced. */
  sent: Readonly<Record<string, number>> | undefined;
  result: ActorTaskResult | undefined;
  dead: boolean;
}

/**
 * Starts a node with one worker thread per actor. Resolves once every actor is created; rejects with
 * ActorFailedError (leaving no worker behind) when an actor's module or `create` fails.
 */
export async function startThreadNode(spec: NodeSpec, options: HostOptions = {}): Promise<NodeHost> {
  validateNodeSpec('startThreadNode', spec);
  const host = new ThreadHost(spec, options);
  await host.start(spec);
  return host;
}

class ThreadHost implements NodeHost {
  readonly node: string;
  private hostState: HostState = 'starting';
  private readonly emitter = createNanoEvents<HostEvents>();
  private readonly workers = new Map<string, WorkerHandle>();
  private readonly limit: number;
  private readonly spinUs: number;
  /** Each worker's heap bound (MiB, old generation). */
  private readonly heapMb: number;
  private readonly sink: (record: LogRecord) => void;
  private readonly appAddress: Address;
  private readonly appBacklog = new AppBacklog(
    (message, from) => this.emitter.emit('appMessage', message, from),
    (msg) => this.logHost('warn', msg),
  );
  private pool: Piscina<ActorTask, ActorTaskResult> | undefined;
  private waiter: (() => void) | undefined;
  private firstFailure: { readonly actor: Address; readonly error: FailureReason } | undefined;
  private stopPromise: Promise<void> | undefined;
  private hostMailboxFull = 0;
  private readonly actorNames: string[] = [];

  constructor(
    spec: NodeSpec,
    private readonly options: HostOptions,
  ) {
    this.node = spec.node;
    this.appAddress = { node: spec.node, actor: APP };
    this.limit = resolveMailboxMessagesMax('startThreadNode', options);
    this.spinUs = resolveSpinUs(options, spec.actors.length);
    this.heapMb = options.actorHeapMb ?? actorHeapMbDefault;
    if (!Number.isInteger(this.heapMb) || this.heapMb < actorHeapMbMin) throw invalidArgument('startThreadNode', `actorHeapMb must be an integer of at least ${actorHeapMbMin} (MiB), got ${String(this.heapMb)}`);
    this.sink = options.log ?? defaultLogSink;
    this.actorNames.push(...spec.actors.map((actor) => actor.name));
  }

  get state(): HostState {
    return this.hostState;
  }

  on<E extends keyof HostEvents>(event: E, listener: HostEvents[E]) {
    return this.emitter.on(event, listener);
  }

  async start(spec: NodeSpec): Promise<void> {
    const workerFile = workerLoadableUrl('startThreadNode', new URL('./worker.js', import.meta.url).href);
    const modules = spec.actors.map((actor) => workerLoadableUrl('startThreadNode', actor.kind.module));
    const n = spec.actors.length;
    liveThreads += n;
    this.pool = new Piscina<ActorTask, ActorTaskResult>({
      filename: workerFile, name: 'default', minThreads: n, maxThreads: n, maxQueue: n,
      concurrentTasksPerWorker: 1, atomics: 'disabled', idleTimeout: Number.POSITIVE_INFINITY, recordTiming: false,
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb },
    });
    const peers = spec.actors.map(() => [] as { actor: string; port: MessagePort }[]);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const channel = new MessageChannel();
        peers[i]!.push({ actor: spec.actors[j]!.name, port: channel.port1 });
        peers[j]!.push({ actor: spec.actors[i]!.name, port: channel.port2 });
      }
    }
    spec.actors.forEach((actor, i) => {
      const control = new MessageChannel();
      const handle: WorkerHandle = {
        name: actor.name, address: { node: this.node, actor: actor.name }, ready: false, sent: undefined, result: undefined, dead: false,
        link: new PortLink(control.port1, this.limit, (items) => this.onWorker(handle, items as readonly FromWorker[]), (error, items) => this.onUnsendable(handle, error, items), echoes),
      };
      this.workers.set(actor.name, handle);
      const task: ActorTask = {
        node: this.node, actor: actor.name, kind: actor.kind.kind, module: modules[i]!, params: actor.params,
        mailboxMessagesMax: this.limit, hasOutbound: this.options.outbound !== undefined, spinUs: this.spinUs, journalDir: this.options.journalDir, control: control.port2, peers: peers[i]!,
      };
      // Completion is taken from the worker's `stopped` message on the control port, never from the task's
      // result: piscina's channel and the control port are not ordered with each other, and records the
      // worker sent just before `stopped` (its stop hook's log, say) must be read before the port closes.
      this.pool!.run(task, { transferList: [control.port2, ...peers[i]!.map((peer) => peer.port)] }).catch((error: unknown) => this.onWorkerDied(handle, error));
    });
    const started = await this.until(() => this.firstFailure !== undefined || [...this.workers.values()].every((w) => w.ready), threadStartMsMax);
    if (!started) {
      const slow = [...this.workers.values()].find((w) => !w.ready)!;
      this.firstFailure = { actor: slow.address, error: { name: 'StartTimeout', message: `not created within ${threadStartMsMax} ms (threadStartMsMax)`, stack: undefined } };
    }
    if (this.firstFailure !== undefined) {
      await this.stop();
      throw new ActorFailedError(this.firstFailure.actor, this.firstFailure.error);
    }
    this.hostState = 'running';
    this.appBacklog.release();
  }

  send<T extends Message>(to: Address, message: T): SendResult {
    return this.route(this.appAddress, to, message);
  }

  readonly direct: DirectLinks = {
    actors: this.actorNames,
    connect: (peer, actor, port, cut) => {
      const handle = this.workers.get(actor);
      if (this.hostState !== 'running' || handle === undefined || handle.dead) port.close();
      else handle.link.postTransfer({ type: 'remote', peer, port, cut } satisfies ToWorker, [port]);
    },
    disconnect: (peer) => this.tellWorkers({ type: 'remoteGone', peer }),
  };

  private tellWorkers(item: ToWorker): void {
    if (this.hostState !== 'running') return;
    for (const worker of this.workers.values()) if (!worker.dead) worker.link.post(item);
  }

  deliver<T extends Message>(from: Address, to: Address, message: T): SendResult {
    return this.route(from, to, message);
  }

  stats(): HostStats {
    let delivered = 0;
    let timersFired = 0;
    let mailboxFull = this.hostMailboxFull;
    for (const { result } of this.workers.values()) {
      delivered += result?.delivered ?? 0;
      timersFired += result?.timersFired ?? 0;
      mailboxFull += result?.mailboxFull ?? 0;
    }
    return { delivered, timersFired, mailboxFull, threads: this.pool?.threads.length ?? 0 };
  }

  stop(): Promise<void> {
    this.stopPromise ??= this.finish(this.firstFailure ? 'failed' : 'requested');
    return this.stopPromise;
  }

  private route(from: Address, to: Address, message: Message): SendResult {
    if (this.hostState !== 'running') return new StoppedError(`node ${this.node}`);
    if (to.node !== this.node) return this.options.outbound ? this.options.outbound(from, to, message) : new NoRouteError(to);
    if (to.actor === APP) {
      this.appBacklog.push(message, from);
      return undefined;
    }
    const handle = this.workers.get(to.actor);
    if (handle === undefined || handle.dead) return new NoRouteError(to);
    if (handle.link.trySend({ type: 'deliver', from, to: to.actor, message } satisfies ToWorker)) return undefined;
    this.hostMailboxFull++;
    return new MailboxFullError(from, to, this.limit);
  }

  /** Handles one batch from a worker; returns how many items were counted messages (their credits). */
  private onWorker(handle: WorkerHandle, items: readonly FromWorker[]): number {
    let counted = 0;
    for (const item of items) {
      switch (item.type) {
        case 'out':
          counted++;
          this.onOut(handle, item.to, item.message);
          break;
        case 'ready':
          handle.ready = true;
          break;
        case 'failed':
          this.onFailure(handle, item.error);
          break;
        case 'quiesced':
          handle.sent = item.sent;
          break;
        case 'stopped':
          handle.result = item.result;
          break;
        case 'log':
          this.sink(item.record);
          break;
        default:
          assertNever(item, 'message from worker');
      }
    }
    this.waiter?.();
    return counted;
  }

  private onOut(handle: WorkerHandle, to: Address, message: Message): void {
    if (to.node === this.node) {
      // Workers route to their peers directly; only the application is reached through here.
      this.appBacklog.push(message, handle.address);
      return;
    }
    const error = this.options.outbound?.(handle.address, to, message) ?? undefined;
    // A peer's full mailbox loses the message as a network would (the worker's send has returned already).
    if (error !== undefined && error.code !== 'MAILBOX_FULL') this.logHost('warn', `message from ${handle.name} to ${formatAddress(to)} not sent: ${error.message}`);
  }

  /**
   * Messages to `handle`'s actor that could not cross to its thread (structured clone refused them: a
   * function, say). The public API sends plain data only, so this is a bug of whoever sent them; lost
   * messages would leave the node silently out of step, so it fails, naming what was refused.
   */
  private onUnsendable(handle: WorkerHandle, error: Error, items: readonly unknown[]): void {
    this.onFailure(handle, { name: 'UnsendableMessage', message: `could not send it ${unsendableText(error, items)}`, stack: error.stack });
  }

  private onWorkerDied(handle: WorkerHandle, error: unknown): void {
    handle.dead = true;
    let reason = toFailureReason(error);
    if ((error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      reason = { name: 'OutOfMemory', message: `its thread used the whole heap it may (actorHeapMb: ${this.heapMb} MiB) and was stopped (${reason.message})`, stack: reason.stack };
    }
    if (this.hostState !== 'stopped') this.onFailure(handle, reason);
    this.waiter?.();
  }

  private onFailure(handle: WorkerHandle, error: FailureReason): void {
    this.logHost('error', new ActorFailedError(handle.address, error).message, { stack: error.stack });
    // Before anyone hears of it: a listener that stops the host joins a stop reported as 'failed'.
    if (this.firstFailure === undefined) this.firstFailure = { actor: handle.address, error };
    if (this.hostState === 'running') void this.stop();
    this.emitter.emit('actorFailed', handle.address, error);
  }

  private async finish(reason: StopReason): Promise<void> {
    this.hostState = 'stopping';
    const live = () => [...this.workers.values()].filter((w) => !w.dead);
    for (const worker of live()) worker.link.post({ type: 'stopping' } satisfies ToWorker);
    let drained = await this.until(() => live().every((w) => w.sent !== undefined), stopDrainMsMax);
    if (drained) {
      const quiet = live();
      for (const worker of quiet) {
        const expected: Record<string, number> = {};
        for (const peer of quiet) if (peer !== worker) expected[peer.name] = peer.sent?.[worker.name] ?? 0;
        worker.link.post({ type: 'finish', expected, expectedFromHost: worker.link.sent } satisfies ToWorker);
      }
      drained = await this.until(() => live().every((w) => w.result !== undefined), stopDrainMsMax);
    }
    if (!drained) this.logHost('warn', `actors did not drain within ${stopDrainMsMax} ms (stopDrainMsMax); terminating their workers`);
    for (const worker of this.workers.values()) worker.link.close();
    this.hostState = 'stopped';
    await this.pool?.destroy();
    if (this.pool !== undefined) liveThreads -= this.workers.size;
    this.emitter.emit('stopped', this.firstFailure ? 'failed' : reason);
  }

  /** Resolves true once `done()` holds (checked after every worker batch), false after `timeoutMs`. */
  private until(done: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => settle(false), timeoutMs) : undefined;
      const settle = (result: boolean) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(result);
      };
      this.waiter = () => {
        if (done()) settle(true);
      };
    });
  }

  private logHost(level: 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
    this.sink({ level, timeMs: performance.timeOrigin + performance.now(), node: this.node, actor: 'host', msg, fields });
  }
}

