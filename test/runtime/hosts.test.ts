/**
 * The same example actors give the same observable results on the thread host (real worker threads),
 * the inline host and the simulator host.
 */
import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/runtime/actor.js';
import { pinger, ponger } from '../../src/actors/examples/ping-pong.js';
import type { PingReport } from '../../src/actors/examples/ping-pong.js';
import { ticker } from '../../src/actors/examples/ticker.js';
import type { TickerReport } from '../../src/actors/examples/ticker.js';
import { sink, streamer } from '../../src/actors/examples/stream.js';
import type { BurstReport, SinkReport } from '../../src/actors/examples/stream.js';
import { hostKinds, ofType, startTestNode } from './harness.js';

const node = 'n1';
const at = (actor: string) => ({ node, actor });

const spec: NodeSpec = {
  node,
  actors: [
    { name: 'ping', kind: pinger, params: { peer: 'pong' } },
    { name: 'pong', kind: ponger },
    { name: 'tick', kind: ticker, params: { intervalMs: 5, ticks: 6, announce: true } },
    { name: 'stream', kind: streamer, params: { sink: 'sink' } },
    { name: 'sink', kind: sink, params: { ackEvery: 64 } },
  ],
};

/** What a user sees of one run, with host-dependent timings left out. */
async function observe(kind: (typeof hostKinds)[number]) {
  const run = await startTestNode(kind, spec);
  const threads = run.host?.stats().threads ?? 0;
  expect(run.send(at('ping'), { type: 'start', rounds: 500 })).toBeUndefined();
  expect(run.send(at('stream'), { type: 'stream', count: 20_000, windowItems: 1024 })).toBeUndefined();
  expect(run.send(at('sink'), { type: 'expect', total: 20_000 })).toBeUndefined();
  // Sent from `create`, before start returned: held for the application, not lost.
  const started = (await run.next(ofType('tickerStarted'))).message;
  const ping = (await run.next(ofType('pingReport'))).message as PingReport;
  const tick = (await run.next(ofType('tickerReport'))).message as TickerReport;
  const sunk = (await run.next(ofType('sinkReport'))).message as SinkReport;
  await run.stop();
  return {
    threads,
    failures: run.failures.length,
    ping: { rounds: ping.rounds, outOfOrder: ping.outOfOrder },
    started,
    tick,
    sink: { received: sunk.received, outOfOrder: sunk.outOfOrder },
  };
}

describe('example actors on every host', () => {
  it('agree on ping-pong, timers and a flow-controlled stream', async () => {
    const results = Object.fromEntries(await Promise.all(hostKinds.map(async (kind) => [kind, await observe(kind)] as const)));
    const expected = {
      failures: 0,
      started: { type: 'tickerStarted' },
      ping: { rounds: 500, outOfOrder: 0 },
      tick: { type: 'tickerReport', ticks: 6, decoyFired: false, clockWentBack: false, intervalsKept: true },
      sink: { received: 20_000, outOfOrder: 0 },
    };
    expect(results['inline']).toEqual({ ...expected, threads: 0 });
    expect(results['sim']).toEqual({ ...expected, threads: 0 });
    // One worker thread per actor, really started.
    expect(results['thread']).toEqual({ ...expected, threads: spec.actors.length });
  });

  it.each(hostKinds)('%s: a burst past the mailbox bound is refused with MAILBOX_FULL, and what was accepted arrives in order', async (kind) => {
    const actors = [
      { name: 'stream', kind: streamer, params: { sink: 'sink' } },
      { name: 'sink', kind: sink, params: { ackEvery: 16 } },
    ];
    const run = await startTestNode(kind, { node, actors }, { mailboxMessagesMax: 64 });
    run.send(at('stream'), { type: 'burst', count: 164 });
    const burst = (await run.next(ofType('burstReport'))).message as BurstReport;
    expect(burst).toEqual({ type: 'burstReport', accepted: 64, refused: 100, refusedCode: 'MAILBOX_FULL' });
    run.send(at('sink'), { type: 'expect', total: 64 });
    const sunk = (await run.next(ofType('sinkReport'))).message as SinkReport;
    expect({ received: sunk.received, outOfOrder: sunk.outOfOrder }).toEqual({ received: 64, outOfOrder: 0 });
    // Flow-controlled streaming (window 48 within the bound of 64) loses nothing and is never refused.
    run.send(at('stream'), { type: 'stream', count: 5_000, windowItems: 48 });
    run.send(at('sink'), { type: 'expect', total: 5_064 });
    const after = (await run.next(ofType('sinkReport'))).message as SinkReport;
    expect({ received: after.received, outOfOrder: after.outOfOrder }).toEqual({ received: 5_064, outOfOrder: 0 });
    await run.stop();
  });
});
