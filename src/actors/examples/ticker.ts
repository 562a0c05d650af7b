/**
 * Example actor driven by timers: it ticks `ticks` times, `intervalMs` apart, then reports to the
 * application. Each start also sets a decoy timer and cancels it at once: the report says whether the
 * decoy ever fired (it must not) and whether the clock ever ran backwards (it must not).
 */
import { APP, defineActor } from '../../runtime/actor.js';
import { assertNever } from '../../runtime/assert.js';

export interface Tick {
  readonly type: 'tick';
  readonly n: number;
}
export interface Decoy {
  readonly type: 'decoy';
}
export interface TickerReport {
  readonly type: 'tickerReport';
  readonly ticks: number;
  readonly decoyFired: boolean;
  readonly clockWentBack: boolean;
  /** Whether every tick came at least intervalMs after the one before it. */
  readonly intervalsKept: boolean;
}
export interface TickerStarted {
  readonly type: 'tickerStarted';
}
export interface TickerParams {
  readonly intervalMs: number;
  readonly ticks: number;
  /** Say `tickerStarted` to the application from `create`. */
  readonly announce?: boolean;
}

export const ticker = defineActor<Tick | Decoy, TickerParams>({
  kind: 'examples/ticker',
  module: import.meta.url,
  create(ctx, params) {
    let decoyFired = false;
    let clockWentBack = false;
    let intervalsKept = true;
    let lastMs = ctx.now();
    ctx.setTimer(params.intervalMs, { type: 'tick', n: 1 });
    ctx.cancelTimer(ctx.setTimer(params.intervalMs / 2, { type: 'decoy' }));
    if (params.announce) ctx.send({ node: ctx.self.node, actor: APP }, { type: 'tickerStarted' } satisfies TickerStarted);
    return {
      receive(message) {
        switch (message.type) {
          case 'decoy':
            decoyFired = true;
            break;
          case 'tick': {
            const now = ctx.now();
            if (now < lastMs) clockWentBack = true;
            // 1 ms of slack: real timers round to whole milliseconds.
            if (now - lastMs < params.intervalMs - 1) intervalsKept = false;
            lastMs = now;
            if (message.n < params.ticks) {
              ctx.setTimer(params.intervalMs, { type: 'tick', n: message.n + 1 });
              break;
            }
            ctx.send({ node: ctx.self.node, actor: APP }, { type: 'tickerReport', ticks: message.n, decoyFired, clockWentBack, intervalsKept } satisfies TickerReport);
            break;
          }
          default:
            assertNever(message, 'ticker message');
        }
      },
    };
  },
});
