/**
 * `npm run bench -- runtime`: the actor runtime on its three hosts.
 *
 * - one-way messages per second between two actors (streamer -> sink, flow-controlled so the mailbox
 *   bound is never hit) on the inline host and on the thread host (messages batched per turn);
 * - the median round trip between two worker actors (pinger <-> ponger), with the default hot polling
 *   and with polling off (every message then wakes a sleeping thread);
 * - simulator events per second (the same streamer and sink, on virtual time);
 * - the cost of carrying one small message across a thread boundary: structured clone against msgpack
 *   encode plus decode (PortLink now uses neither for plain batches, but its own codec: port-codec.ts).
 */
import { decode, encode } from '@msgpack/msgpack';
import type { Message, NodeSpec } from '../src/runtime/actor.js';
import type { HostOptions, NodeHost } from '../src/runtime/host.js';
import { startInlineNode } from '../src/runtime/inline-host.js';
import { startThreadNode } from '../src/runtime/thread/thread-host.js';
import { Simulation } from '../simulate/simulation.js';
import { pinger, ponger } from '../src/actors/examples/ping-pong.js';
import type { PingReport } from '../src/actors/examples/ping-pong.js';
import { sink, streamer } from '../src/actors/examples/stream.js';
import type { BenchResult } from './report.js';
import { median } from './report.js';

const node = 'bench';
const at = (actor: string) => ({ node, actor });
const streamSpec: NodeSpec = {
  node,
  actors: [
    { name: 'stream', kind: streamer, params: { sink: 'sink' } },
    { name: 'sink', kind: sink, params: { ackEvery: 512 } },
  ],
};
const pingSpec: NodeSpec = { node, actors: [{ name: 'ping', kind: pinger, params: { peer: 'pong' } }, { name: 'pong', kind: ponger }] };

function nextAppMessage(host: NodeHost, type: string): Promise<Message> {
  return new Promise((resolve) => {
    const off = host.on('appMessage', (message) => {
      if (message.type !== type) return;
      off();
      resolve(message);
    });
  });
}

/** One-way messages per second from streamer to sink on a real host; best of `runs`. */
async function streamRate(start: typeof startInlineNode, count: number, runs: number): Promise<number> {
  const host = await start(streamSpec);
  let best = 0;
  for (let run = 1; run <= runs; run++) {
    const done = nextAppMessage(host, 'sinkReport');
    const began = performance.now();
    host.send(at('sink'), { type: 'expect', total: count * run });
    host.send(at('stream'), { type: 'stream', count, windowItems: 4096 });
    await done;
    best = Math.max(best, count / ((performance.now() - began) / 1000));
  }
  await host.stop();
  return best;
}

async function roundTripUsP50(options: HostOptions, rounds: number): Promise<number> {
  const host = await startThreadNode(pingSpec, options);
  const samples: number[] = [];
  for (let run = 0; run < 3; run++) {
    const done = nextAppMessage(host, 'pingReport');
    host.send(at('ping'), { type: 'start', rounds });
    samples.push((await done as PingReport).rttUsP50);
  }
  await host.stop();
  return median(samples);
}

function simEventsPerSec(count: number): number {
  const sim = new Simulation({ seed: 42 });
  let done = false;
  sim.on('appMessage', (message) => (done ||= message.type === 'sinkReport'));
  sim.addNode(streamSpec);
  sim.send(at('sink'), { type: 'expect', total: count });
  sim.send(at('stream'), { type: 'stream', count, windowItems: 4096 });
  const began = performance.now();
  sim.runUntil(() => done);
  return sim.stats().events / ((performance.now() - began) / 1000);
}

/** Nanoseconds to copy one small message: structuredClone, and msgpack encode + decode. */
function copyCostNs(iterations: number): { cloneNs: number; msgpackNs: number } {
  const message = { type: 'append', term: 7, index: 123_456, from: { node: 'n1', actor: 'replicator' }, ok: true };
  const time = (copy: () => unknown) => {
    for (let i = 0; i < iterations / 10; i++) copy(); // warm up
    const began = performance.now();
    for (let i = 0; i < iterations; i++) copy();
    return ((performance.now() - began) * 1e6) / iterations;
  };
  return { cloneNs: time(() => structuredClone(message)), msgpackNs: time(() => decode(encode(message))) };
}

export async function runRuntimeBench(): Promise<BenchResult> {
  const inlineMsgsPerSec = await streamRate(startInlineNode, 2_000_000, 3);
  const threadMsgsPerSec = await streamRate(startThreadNode, 2_000_000, 3);
  const threadRoundTripUsP50 = await roundTripUsP50({}, 20_000);
  const threadRoundTripUsP50NoSpin = await roundTripUsP50({ spinUs: 0 }, 5_000);
  const simEvents = Math.max(simEventsPerSec(1_000_000), simEventsPerSec(1_000_000));
  const { cloneNs, msgpackNs } = copyCostNs(200_000);
  const round = (x: number) => Math.round(x);
  const one = (x: number) => Math.round(x * 10) / 10;
  return {
    rows: [
      { name: 'inline one-way', value: round(inlineMsgsPerSec), unit: 'msgs/s' },
      { name: 'thread one-way (batched)', value: round(threadMsgsPerSec), unit: 'msgs/s', target: '>= 200000' },
      { name: 'thread round trip p50', value: one(threadRoundTripUsP50), unit: 'µs', target: '<= 40' },
      { name: 'thread round trip p50, no polling', value: one(threadRoundTripUsP50NoSpin), unit: 'µs' },
      { name: 'simulator', value: round(simEvents), unit: 'events/s', target: '>= 1000000' },
      { name: 'small message: structuredClone', value: one(cloneNs), unit: 'ns' },
      { name: 'small message: msgpack enc+dec', value: one(msgpackNs), unit: 'ns' },
    ],
    summary: {
      suite: 'runtime',
      inlineMsgsPerSec: round(inlineMsgsPerSec),
      threadMsgsPerSec: round(threadMsgsPerSec),
      threadRoundTripUsP50: one(threadRoundTripUsP50),
      threadRoundTripUsP50NoSpin: one(threadRoundTripUsP50NoSpin),
      simEventsPerSec: round(simEvents),
      structuredCloneNs: one(cloneNs),
      msgpackEncodeDecodeNs: one(msgpackNs),
    },
  };
}
