/**
 * Example actors: a pinger and a ponger. The pinger, told to start by the application, sends `rounds`
 * pings one after another; the ponger answers each with a pong that says how many pings it has served.
 * The pinger checks that every pong comes back in order and reports to the application, with the
 * round-trip times it measured on its context clock. Used by the runtime tests, the demo and the
 * runtime benchmark.
 */
import type { Address } from '../../runtime/actor.js';
import { APP, defineActor } from '../../runtime/actor.js';
import { assert, assertNever } from '../../runtime/assert.js';

export interface Ping {
  readonly type: 'ping';
  readonly seq: number;
}
export interface Pong {
  readonly type: 'pong';
  readonly seq: number;
  readonly served: number;
}
export interface StartPinging {
  readonly type: 'start';
  readonly rounds: number;
}
export interface PingReport {
  readonly type: 'pingReport';
  readonly rounds: number;
  /** Pongs whose seq or served count was not the next expected one. */
  readonly outOfOrder: number;
  readonly elapsedMs: number;
  /** Median and 99th percentile round trip, in microseconds, on the pinger's clock. */
  readonly rttUsP50: number;
  readonly rttUsP99: number;
}

export const ponger = defineActor<Ping, Record<string, never>>({
  kind: 'examples/ponger',
  module: import.meta.url,
  create(ctx) {
    let served = 0;
    return {
      receive(message, from) {
        switch (message.type) {
          case 'ping':
            served++;
            ctx.send(from, { type: 'pong', seq: message.seq, served } satisfies Pong);
            break;
          default:
            assertNever(message.type, 'ponger message');
        }
      },
    };
  },
});

export interface PingerParams {
  /** The ponger's actor name on the same node. */
  readonly peer: string;
}

export const pinger = defineActor<StartPinging | Pong, PingerParams>({
  kind: 'examples/pinger',
  module: import.meta.url,
  create(ctx, params) {
    const peer: Address = { node: ctx.self.node, actor: params.peer };
    let rounds = 0;
    let outOfOrder = 0;
    let startedMs = 0;
    let sentMs = 0;
    let rttUs = new Float64Array(0);
    const ping = (seq: number) => {
      sentMs = ctx.now();
      const error = ctx.send(peer, { type: 'ping', seq } satisfies Ping);
      assert(error === undefined, `pinger: ping ${seq} not sent: ${error?.message}`);
    };
    return {
      receive(message) {
        switch (message.type) {
          case 'start':
            assert(Number.isInteger(message.rounds) && message.rounds > 0, 'pinger: rounds must be a positive integer');
            rounds = message.rounds;
            outOfOrder = 0;
            rttUs = new Float64Array(rounds);
            startedMs = ctx.now();
            ping(1);
            break;
          case 'pong': {
            const now = ctx.now();
            rttUs[message.seq - 1] = (now - sentMs) * 1000;
            if (message.served !== message.seq) outOfOrder++;
            if (message.seq < rounds) {
              ping(message.seq + 1);
              break;
            }
            const sorted = rttUs.slice().sort();
            const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
            ctx.send({ node: ctx.self.node, actor: APP }, {
              type: 'pingReport', rounds, outOfOrder, elapsedMs: now - startedMs, rttUsP50: at(0.5), rttUsP99: at(0.99),
            } satisfies PingReport);
            break;
          }
          default:
            assertNever(message, 'pinger message');
        }
      },
    };
  },
});
