/**
 * The window flusher actor: owns the outgoing transaction window (the seeds' `window { bsize, length,
 * timeout }`). It gathers the change-sets that committing callers hand it and sends them to the
 * replicator as one proposal, and so one log entry, when any threshold is reached: `length` items,
 * `bsize` bytes, or `timeoutMs` since the first item of the batch. `length: 0` (the default) means no
 * window: every item is proposed on its own at once. The window can be read and changed at run time.
 *
 * Invariants: items leave in the order they arrived; a batch is never empty; at most one flush timer is
 * pending; the bytes buffered never exceed `bufferBytesMax`: an item that would pass it flushes the
 * batch first, and an item larger than the whole buffer is refused with `overloaded` (the node sets
 * the buffer so that a whole batch, one log entry, fits one message on its network). (Bounding what
 * is proposed but not yet committed, the seeds' `clusterSendBuf`, is the committer's job.) A batch the
 * replicator's mailbox does not take is handed back to the committer as refused (`overloaded`), so
 * that its writers hear OVERLOADED instead of timing out.
 */
import { fromAnotherNode } from './peer-guards.js';
import type { Address } from '../runtime/actor.js';
import { defineActor } from '../runtime/actor.js';
import { assert, assertNever } from '../runtime/assert.js';
import type { TimerId } from '../runtime/actor.js';
import type { ProposeRefused, ProposeRequest } from './replicator.js';
import { timerDelayMsMax } from '../limits.js';

export interface Window {
  /** Items per batch; 0 disables the window. */
  readonly length: number;
  /** Bytes per batch; 0: no byte threshold. */
  readonly bsize: number;
  /** Milliseconds an item may wait for its batch to fill. */
  readonly timeoutMs: number;
}

export const noWindow: Window = { length: 0, bsize: 0, timeoutMs: 1 };

export interface Submit {
  readonly type: 'submit';
  readonly item: unknown;
  /** The item's encoded size, as the submitter measured it. */
  readonly bytes: number;
}
export interface SetWindow {
  readonly type: 'setWindow';
  readonly window: Window;
}
export interface GetWindow {
  readonly type: 'getWindow';
  readonly replyTo: Address;
}
interface FlushTimer {
  readonly type: 'flushTimer';
  readonly generation: number;
}
export type FlusherMessage = Submit | SetWindow | GetWindow | FlushTimer;

export interface Overloaded {
  readonly type: 'overloaded';
  readonly item: unknown;
  readonly bufferedBytes: number;
  readonly bufferBytesMax: number;
}
export interface WindowIs {
  readonly type: 'windowIs';
  readonly window: Window;
}

export interface FlusherParams {
  readonly window: Window;
  /** The replicator's actor name on this node. */
  readonly replicator: string;
  /** The actor on this node that hears the replicator's refusals (the committer). */
  readonly replyTo: string;
  readonly bufferBytesMax: number;
}

/** What is wrong with `window` (naming the field), or undefined. The node checks it at its API; the flusher asserts it. */
export function checkWindow(window: Window): string | undefined {
  if (typeof window !== 'object' || window === null) return `window must be an object { length, bsize, timeoutMs }, got ${String(window)}`;
  for (const key of ['length', 'bsize', 'timeoutMs'] as const) {
    const value: unknown = window[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (key !== 'timeoutMs' && !Number.isInteger(value))) {
      return `window.${key} must be a non-negative ${key === 'timeoutMs' ? 'number' : 'integer'}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
    }
  }
  if (window.length > 0 && window.timeoutMs <= 0) return 'window.timeoutMs must be positive when the window is on';
  // The flush timer is an actor timer: a longer delay than any timer takes would fail the node at its first write.
  if (window.timeoutMs > timerDelayMsMax) return `window.timeoutMs must be at most ${timerDelayMsMax} (timerDelayMsMax, 24 h), got ${window.timeoutMs}`;
  return undefined;
}

export const windowFlusher = defineActor<FlusherMessage, FlusherParams>({
  kind: 'chorus/windowFlusher',
  module: import.meta.url,
  create(ctx, params) {
    let window = params.window;
    assert(checkWindow(window) === undefined, `windowFlusher: ${checkWindow(window)}`);
    const replicator: Address = { node: ctx.self.node, actor: params.replicator };
    const replyTo: Address = { node: ctx.self.node, actor: params.replyTo };
    let items: unknown[] = [];
    let bytes = 0;
    let timer: TimerId | undefined;
    let generation = 0; // a timer from an earlier batch must not flush a later one

    const flush = () => {
      if (timer !== undefined) ctx.cancelTimer(timer);
      timer = undefined;
      generation++;
      if (items.length === 0) return;
      // One log entry per batch: a lone item as itself, several as one array (log-payload.ts).
      const payloads = [items.length === 1 ? items[0] : items];
      const error = ctx.send(replicator, { type: 'propose', payloads, bytes, replyTo } satisfies ProposeRequest);
      // Not taken (the replicator's mailbox is full): the batch is in no log, and its writers hear so.
      if (error?.code === 'MAILBOX_FULL') ctx.send(replyTo, { type: 'proposeRefused', payloads, reason: 'overloaded', detail: `not proposed: ${error.message}` } satisfies ProposeRefused);
      items = [];
      bytes = 0;
    };
    const full = () => (window.length > 0 && items.length >= window.length) || (window.bsize > 0 && bytes >= window.bsize);

    return {
      receive(message, from) {
        if (fromAnotherNode(ctx.log, ctx.self.node, message, from)) return; // no other node talks to the flusher
        switch (message.type) {
          case 'submit':
            if (message.bytes > params.bufferBytesMax) {
              ctx.send(from, { type: 'overloaded', item: message.item, bufferedBytes: bytes, bufferBytesMax: params.bufferBytesMax } satisfies Overloaded);
              return;
            }
            if (bytes + message.bytes > params.bufferBytesMax) flush();
            items.push(message.item);
            bytes += message.bytes;
            if (window.length === 0 || full()) flush();
            else if (timer === undefined) timer = ctx.setTimer(window.timeoutMs, { type: 'flushTimer', generation });
            return;
          case 'flushTimer':
            if (message.generation === generation) flush();
            return;
          case 'setWindow':
            assert(checkWindow(message.window) === undefined, `setWindow: ${checkWindow(message.window)}`);
            window = message.window;
            flush(); // what waited under the old window leaves now
            return;
          case 'getWindow':
            ctx.send(message.replyTo, { type: 'windowIs', window } satisfies WindowIs);
            return;
          default:
            assertNever(message, 'window flusher message');
        }
      },
    };
  },
});
