/**
 * Example actors that move many one-way messages: a streamer and a sink.
 *
 * - `stream` sends `count` items with flow control: at most `windowItems` unacknowledged, the sink
 *   acknowledging every `ackEvery` (so `windowItems` must be at least `ackEvery`); the sink reports to
 *   the application when it has them all. This measures one-way throughput without ever hitting the
 *   mailbox bound.
 * - `burst` sends `count` items in one go, ignoring flow control, and reports how many the runtime
 *   accepted and how many it refused with MAILBOX_FULL: the mailbox bound, seen from the sender.
 */
import type { Address } from '../../runtime/actor.js';
import { APP, defineActor } from '../../runtime/actor.js';
import { assert, assertNever } from '../../runtime/assert.js';

export interface Item {
  readonly type: 'item';
  readonly seq: number;
}
export interface Ack {
  readonly type: 'ack';
  readonly upTo: number;
}
export interface Stream {
  readonly type: 'stream';
  readonly count: number;
  readonly windowItems: number;
}
export interface Burst {
  readonly type: 'burst';
  readonly count: number;
}
export interface BurstReport {
  readonly type: 'burstReport';
  readonly accepted: number;
  readonly refused: number;
  /** The `code` of the first refusal, if any. */
  readonly refusedCode: string | undefined;
}
/** From the application to the sink: report once this many items have arrived in total. */
export interface Expect {
  readonly type: 'expect';
  readonly total: number;
}
export interface SinkReport {
  readonly type: 'sinkReport';
  readonly received: number;
  /** Items that did not carry the next sequence number (per-link FIFO broken). */
  readonly outOfOrder: number;
  readonly elapsedMs: number;
}

export interface StreamerParams {
  readonly sink: string;
}

export const streamer = defineActor<Stream | Burst | Ack, StreamerParams>({
  kind: 'examples/streamer',
  module: import.meta.url,
  create(ctx, params) {
    const sink: Address = { node: ctx.self.node, actor: params.sink };
    let nextSeq = 1;
    let lastSeq = 0;
    let acked = 0;
    let windowItems = 0;
    const pump = () => {
      while (nextSeq <= lastSeq && nextSeq - acked <= windowItems) {
        const error = ctx.send(sink, { type: 'item', seq: nextSeq } satisfies Item);
        if (error !== undefined) return; // full after all: the next ack pumps again
        nextSeq++;
      }
    };
    return {
      receive(message) {
        switch (message.type) {
          case 'stream':
            assert(message.windowItems > 0, 'streamer: windowItems must be positive');
            lastSeq += message.count;
            windowItems = message.windowItems;
            pump();
            break;
          case 'ack':
            acked = message.upTo;
            pump();
            break;
          case 'burst': {
            let accepted = 0;
            let refusedCode: string | undefined;
            for (let i = 0; i < message.count; i++) {
              const error = ctx.send(sink, { type: 'item', seq: nextSeq } satisfies Item);
              if (error === undefined) {
                accepted++;
                nextSeq++;
                lastSeq++;
              } else {
                refusedCode ??= error.code;
              }
            }
            acked = lastSeq; // a burst is not flow-controlled; later streams start after it
            ctx.send({ node: ctx.self.node, actor: APP }, { type: 'burstReport', accepted, refused: message.count - accepted, refusedCode } satisfies BurstReport);
            break;
          }
          default:
            assertNever(message, 'streamer message');
        }
      },
    };
  },
});

export interface SinkParams {
  readonly ackEvery: number;
}

export const sink = defineActor<Item | Expect, SinkParams>({
  kind: 'examples/sink',
  module: import.meta.url,
  create(ctx, params) {
    let received = 0;
    let lastSeq = 0;
    let outOfOrder = 0;
    let firstMs = 0;
    let expected = Number.POSITIVE_INFINITY;
    const reportIfDone = () => {
      if (received < expected) return;
      expected = Number.POSITIVE_INFINITY;
      ctx.send({ node: ctx.self.node, actor: APP }, { type: 'sinkReport', received, outOfOrder, elapsedMs: ctx.now() - firstMs } satisfies SinkReport);
    };
    return {
      receive(message, from) {
        switch (message.type) {
          case 'item':
            if (received === 0) firstMs = ctx.now();
            received++;
            if (message.seq !== lastSeq + 1) outOfOrder++;
            lastSeq = message.seq;
            if (received % params.ackEvery === 0) ctx.send(from, { type: 'ack', upTo: message.seq } satisfies Ack);
            reportIfDone();
            break;
          case 'expect':
            expected = message.total;
            reportIfDone();
            break;
          default:
            assertNever(message, 'sink message');
        }
      },
      stop() {
        ctx.log.info('sink stopped', { received, outOfOrder });
      },
    };
  },
});
