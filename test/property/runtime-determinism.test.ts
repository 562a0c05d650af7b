/**
 * Properties of the simulator host over generated runs: a seed replays exactly (same trace hash, same
 * observations), and per-link order and exactly-once delivery hold for any seed and delay range.
 * A failure prints the fast-check seed and path that replay it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../simulate/simulation.js';
import { pinger, ponger } from '../../src/actors/examples/ping-pong.js';
import { sink, streamer } from '../../src/actors/examples/stream.js';
import { ticker } from '../../src/actors/examples/ticker.js';
import type { Message } from '../../src/runtime/actor.js';
import { relay } from '../simulate/relay.js';

const scenario = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  nodes: fc.integer({ min: 1, max: 4 }),
  hops: fc.integer({ min: 0, max: 20 }),
  rounds: fc.integer({ min: 1, max: 200 }),
  items: fc.integer({ min: 1, max: 3_000 }),
  windowItems: fc.integer({ min: 16, max: 512 }),
  maxDelayMs: fc.double({ min: 0.001, max: 5, noNaN: true }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function run(s: Scenario) {
  const names = Array.from({ length: s.nodes }, (_, i) => `n${i}`);
  const sim = new Simulation({ seed: s.seed, trace: true, localDelayMs: [0, s.maxDelayMs], networkDelayMs: [0, s.maxDelayMs * 4] });
  const seen: [string, Message][] = [];
  sim.on('appMessage', (message, _from, node) => seen.push([node, message]));
  for (const node of names) {
    sim.addNode({
      node,
      actors: [
        { name: 'relay', kind: relay, params: { nodes: names } },
        { name: 'ping', kind: pinger, params: { peer: 'pong' } },
        { name: 'pong', kind: ponger },
        { name: 'tick', kind: ticker, params: { intervalMs: 2, ticks: 5 } },
        { name: 'stream', kind: streamer, params: { sink: 'sink' } },
        { name: 'sink', kind: sink, params: { ackEvery: 16 } },
      ],
    });
    sim.send({ node, actor: 'relay' }, { type: 'hop', id: 0, left: s.hops, path: [] });
    sim.send({ node, actor: 'ping' }, { type: 'start', rounds: s.rounds });
    sim.send({ node, actor: 'sink' }, { type: 'expect', total: s.items });
    sim.send({ node, actor: 'stream' }, { type: 'stream', count: s.items, windowItems: s.windowItems });
  }
  sim.runFor(60_000);
  return { hash: sim.traceHash, seen, stats: sim.stats() };
}

describe('simulator determinism', () => {
  it('replays a seed exactly', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(run(s)).toEqual(run(s));
      }),
      { numRuns: 25 },
    );
  });

  it('delivers every message once and in per-link order, for any seed and delays', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { seen, stats } = run(s);
        const reports = (type: string) => seen.filter(([, m]) => m.type === type).map(([, m]) => m);
        expect(reports('hopDone')).toHaveLength(s.nodes);
        expect(reports('pingReport')).toEqual(Array(s.nodes).fill(expect.objectContaining({ rounds: s.rounds, outOfOrder: 0 })));
        expect(reports('sinkReport')).toEqual(Array(s.nodes).fill(expect.objectContaining({ received: s.items, outOfOrder: 0 })));
        expect(reports('tickerReport')).toEqual(Array(s.nodes).fill({ type: 'tickerReport', ticks: 5, decoyFired: false, clockWentBack: false, intervalsKept: true }));
        expect(stats.dropped).toBe(0);
        expect(stats.mailboxFull).toBe(0);
      }),
      { numRuns: 25 },
    );
  });
});
