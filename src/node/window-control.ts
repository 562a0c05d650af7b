/**
 * The node's transaction window at run time: `setWindow` and `getWindow` of ClusterNode, between the
 * application and the window flusher actor.
 *
 * Inputs are checked and copied here, at the public boundary: a window the flusher would refuse (its
 * check is an assert, a programmer error that fails the node) is INVALID_ARGUMENT naming the field, and
 * only a fresh `{ length, bsize, timeoutMs }` of numbers leaves, so nothing the caller's object carries
 * (a method, a getter, a class) reaches a thread boundary.
 *
 * Invariants: every getWindow promise settles: with the window, with the error its request was not sent
 * for, or with the node's stop or failure (`failAll`). Answers come back in request order (one link, one
 * FIFO), so the oldest request outstanding is the one answered; a getWindow joins the request in flight
 * unless a setWindow went after it, so at most one request per setWindow is outstanding.
 */
import type { SendResult } from '../runtime/actor.js';
import { APP } from '../runtime/actor.js';
import { invalidArgument } from '../runtime/errors.js';
import type { GetWindow, SetWindow, Window } from '../actors/window-flusher.js';
import { checkWindow } from '../actors/window-flusher.js';

/** A copy of `value` as a Window, or INVALID_ARGUMENT (thrown) naming `api` and the field. */
export function copyWindow(api: string, value: unknown): Window {
  const problem = checkWindow(value as Window);
  if (problem !== undefined) throw invalidArgument(api, problem);
  const { length, bsize, timeoutMs } = value as Window;
  return { length, bsize, timeoutMs };
}

interface Request {
  readonly waiters: { resolve(window: Window): void; reject(error: Error): void }[];
}

export class WindowControl {
  private requests: Request[] = [];
  /** The request a getWindow may join: none after a setWindow (its answer would predate the change). */
  private joinable: Request | undefined;

  constructor(
    private readonly nodeId: string,
    /** To the window flusher; an error when the host did not take the message. */
    private readonly send: (message: GetWindow | SetWindow) => SendResult,
    /** Why the node no longer runs (stopped or failed), if so. */
    private readonly stopped: () => Error | undefined,
  ) {}

  /** The window now in force, once the flusher has answered. */
  get(): Promise<Window> {
    const stopped = this.stopped();
    if (stopped !== undefined) return Promise.reject(stopped);
    return new Promise((resolve, reject) => {
      if (this.joinable !== undefined) {
        this.joinable.waiters.push({ resolve, reject });
        return;
      }
      const error = this.send({ type: 'getWindow', replyTo: { node: this.nodeId, actor: APP } });
      if (error !== undefined) {
        reject(error);
        return;
      }
      const request: Request = { waiters: [{ resolve, reject }] };
      this.requests.push(request);
      this.joinable = request;
    });
  }

  /** Checks and copies `value`, then hands it to the flusher; throws INVALID_ARGUMENT, or why it could not be sent. */
  set(value: unknown): void {
    const window = copyWindow('setWindow', value);
    const stopped = this.stopped();
    if (stopped !== undefined) throw stopped;
    const error = this.send({ type: 'setWindow', window });
    if (error !== undefined) throw error;
    this.joinable = undefined;
  }

  /** The flusher's answer to the oldest request outstanding. */
  answered(window: Window): void {
    const request = this.requests.shift();
    if (request === this.joinable) this.joinable = undefined;
    for (const waiter of request?.waiters ?? []) waiter.resolve(window);
  }

  /** The node stopped or failed: no answer will come. */
  failAll(error: Error): void {
    const requests = this.requests;
    this.requests = [];
    this.joinable = undefined;
    for (const request of requests) for (const waiter of request.waiters) waiter.reject(error);
  }
}
