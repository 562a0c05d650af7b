/**
 * The simulator host: one seed decides everything, equal deadlines fire in scheduling order, crashes
 * lose what was in flight, and per-link order holds whatever the drawn delays.
 */
import { describe, expect, it } from 'vitest';
import type { Message, NodeSpec } from '../../src/runtime/actor.js';
import { defineActor } from '../../src/runtime/actor.js';
import { Simulation } from '../../simulate/simulation.js';
import { Rng } from '../../simulate/rng.js';
import { sink, streamer } from '../../src/actors/examples/stream.js';
import type { SinkReport } from '../../src/actors/examples/stream.js';
import { relay } from './relay.js';
import type { HopDone } from './relay.js';

const nodes = ['a', 'b', 'c'];

/** Runs 20 hops of 12 relays each across three nodes; returns the trace hash and what the apps saw. */
function hopRun(seed: number) {
  const sim = new Simulation({ seed, trace: true });
  const seen: HopDone[] = [];
  sim.on('appMessage', (message) => seen.push(message as HopDone));
  for (const node of nodes) sim.addNode({ node, actors: [{ name: 'relay', kind: relay, params: { nodes } }] });
  for (let id = 0; id < 20; id++) sim.send({ node: nodes[id % 3]!, actor: 'relay' }, { type: 'hop', id, left: 12, path: [] });
  sim.runUntil(() => seen.length === 20, 10_000);
  return { hash: sim.traceHash, seen, events: sim.stats().events, nowMs: sim.nowMs };
}

describe('Simulation', () => {
  it('gives the same trace for the same seed, and different interleavings for different seeds', () => {
    const first = hopRun(12345);
    expect(first.seen).toHaveLength(20);
    expect(hopRun(12345)).toEqual(first);
    const hashes = new Set([12345, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((seed) => hopRun(seed).hash));
    expect(hashes.size).toBe(10);
    // Different seeds also change what the actors observably did (paths drawn from ctx.random()).
    expect(hopRun(2).seen.map((s) => s.path.join(''))).not.toEqual(hopRun(3).seen.map((s) => s.path.join('')));
  });

  it('fires timers with equal deadlines in the order they were set', () => {
    const fired: number[] = [];
    const timers = defineActor<{ type: 'go' } | { type: 'fire'; n: number }, undefined>({
      kind: 'test/timers',
      module: import.meta.url,
      create(ctx) {
        return {
          receive(message) {
            if (message.type === 'go') for (let n = 0; n < 50; n++) ctx.setTimer(10, { type: 'fire', n });
            else fired.push(message.n);
          },
        };
      },
    });
    const sim = new Simulation({ seed: 99 });
    sim.addNode({ node: 'a', actors: [{ name: 't', kind: timers }] });
    sim.send({ node: 'a', actor: 't' }, { type: 'go' });
    sim.runFor(100);
    expect(fired).toEqual([...Array(50).keys()]);
  });

  it('keeps per-link order whatever delays the seed draws', () => {
    const spec: NodeSpec = {
      node: 'a',
      actors: [
        { name: 'stream', kind: streamer, params: { sink: 'sink' } },
        { name: 'sink', kind: sink, params: { ackEvery: 32 } },
      ],
    };
    for (const seed of [1, 2, 3]) {
      // Delays vary 1000-fold, so without FIFO per link messages would overtake each other.
      const sim = new Simulation({ seed, localDelayMs: [0.001, 1] });
      const reports: SinkReport[] = [];
      sim.on('appMessage', (message) => reports.push(message as SinkReport));
      sim.addNode(spec);
      sim.send({ node: 'a', actor: 'sink' }, { type: 'expect', total: 5_000 });
      sim.send({ node: 'a', actor: 'stream' }, { type: 'stream', count: 5_000, windowItems: 256 });
      sim.runUntil(() => reports.length > 0, 60_000);
      expect(reports.map((r) => [r.received, r.outOfOrder])).toEqual([[5_000, 0]]);
    }
  });

  it('loses the messages in flight to a node that crashes, and its timers', () => {
    const got: Message[] = [];
    const sim = new Simulation({ seed: 5, networkDelayMs: [5, 5] });
    sim.on('appMessage', (message) => got.push(message));
    for (const node of ['a', 'b']) sim.addNode({ node, actors: [{ name: 'relay', kind: relay, params: { nodes: ['b'] } }] });
    sim.send({ node: 'a', actor: 'relay' }, { type: 'hop', id: 1, left: 2, path: [] }); // a -> (timer) -> b
    sim.runFor(4); // the hop is now on the wire to b
    sim.crash('b');
    sim.runFor(100);
    expect(got).toEqual([]);
    expect(sim.stats().dropped).toBeGreaterThan(0);
    sim.restart('b');
    sim.send({ node: 'a', actor: 'relay' }, { type: 'hop', id: 2, left: 2, path: [] });
    sim.runFor(100);
    expect(got).toEqual([{ type: 'hopDone', id: 2, path: ['a', 'b', 'b'] }]);
  });

  it('tells every appMessage listener, in the order they subscribed, until each unsubscribes', () => {
    const heard: string[] = [];
    const sim = new Simulation({ seed: 6 });
    sim.addNode({ node: 'a', actors: [{ name: 'relay', kind: relay, params: { nodes: ['a'] } }] });
    const offFirst = sim.on('appMessage', (message, from, node) => heard.push(`first ${(message as HopDone).id} ${from.actor}@${node}`));
    sim.on('appMessage', (message) => {
      heard.push(`second ${(message as HopDone).id}`);
      offFirst(); // during an emit: the first listener has been told already, and is not told again
    });
    sim.send({ node: 'a', actor: 'relay' }, { type: 'hop', id: 1, left: 0, path: [] });
    sim.runFor(10);
    sim.send({ node: 'a', actor: 'relay' }, { type: 'hop', id: 2, left: 0, path: [] });
    sim.runFor(10);
    expect(heard).toEqual(['first 1 relay@a', 'second 1', 'second 2']);
  });

  it('stops a runaway simulation at eventsMax, naming the seed', () => {
    const sim = new Simulation({ seed: 77, eventsMax: 1_000 });
    sim.addNode({ node: 'a', actors: [{ name: 'stream', kind: streamer, params: { sink: 'sink' } }, { name: 'sink', kind: sink, params: { ackEvery: 1 } }] });
    sim.send({ node: 'a', actor: 'stream' }, { type: 'stream', count: 1_000_000, windowItems: 8 });
    expect(() => sim.runFor(1e6)).toThrow(/seed 77: more than 1000 events/);
  });
});

describe('Rng', () => {
  it('replays from a saved state', () => {
    const rng = new Rng(2026);
    for (let i = 0; i < 100; i++) rng.next();
    const saved = rng.save();
    const ahead = Array.from({ length: 50 }, () => rng.nextUint32());
    expect(Array.from({ length: 50 }, () => Rng.fromState(saved).nextUint32())[0]).toBe(ahead[0]);
    const replay = Rng.fromState(saved);
    expect(Array.from({ length: 50 }, () => replay.nextUint32())).toEqual(ahead);
  });

  it('draws uniformly enough for fault schedules', () => {
    const rng = new Rng(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[rng.int(10)]!++;
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500);
  });

  it('refuses seeds and states it cannot use', () => {
    expect(() => new Rng(1.5)).toThrow(/safe integer/);
    expect(() => Rng.fromState([0, 0, 0, 0])).toThrow(/not all zero/);
  });
});
