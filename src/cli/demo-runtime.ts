/**
 * `chorus demo --runtime`: a tour of the actor runtime, printing what it does. It runs the
 * example actors on worker threads, shows the mailbox bound and failure handling, and replays a
 * simulation from its seed.
 */
import type { Message, NodeSpec } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';
import { startThreadNode } from '../runtime/thread/thread-host.js';
import { startInlineNode } from '../runtime/inline-host.js';
import { Simulation } from '../../simulate/simulation.js';
import { pinger, ponger } from '../actors/examples/ping-pong.js';
import type { PingReport } from '../actors/examples/ping-pong.js';
import { ticker } from '../actors/examples/ticker.js';
import type { TickerReport } from '../actors/examples/ticker.js';
import { sink, streamer } from '../actors/examples/stream.js';
import type { BurstReport, SinkReport } from '../actors/examples/stream.js';
import { faulty } from '../actors/examples/faulty.js';

const node = 'demo';
const at = (actor: string) => ({ node, actor });
const spec: NodeSpec = {
  node,
  actors: [
    { name: 'ping', kind: pinger, params: { peer: 'pong' } },
    { name: 'pong', kind: ponger },
    { name: 'tick', kind: ticker, params: { intervalMs: 20, ticks: 5 } },
    { name: 'stream', kind: streamer, params: { sink: 'sink' } },
    { name: 'sink', kind: sink, params: { ackEvery: 512 } },
  ],
};

function next<T extends Message>(host: NodeHost, type: T['type']): Promise<T> {
  return new Promise((resolve) => {
    const off = host.on('appMessage', (message) => {
      if (message.type !== type) return;
      off();
      resolve(message as T);
    });
  });
}

export async function runRuntimeDemo(print: (line: string) => void): Promise<number> {
  print('chorusdb runtime demo: the same actors on worker threads, inline, and in the simulator\n');
  const host = await startThreadNode(spec, { log: () => {} });
  print(`1. started node "${node}" on the thread host: ${host.stats().threads} actors, one worker thread each`);
  const tick = next<TickerReport>(host, 'tickerReport');
  const ping = next<PingReport>(host, 'pingReport');
  host.send(at('ping'), { type: 'start', rounds: 20_000 });
  const pong = await ping;
  print(`   ping-pong between two workers: ${pong.rounds} rounds, ${pong.outOfOrder} out of order, round trip p50 ${pong.rttUsP50.toFixed(1)} µs, p99 ${pong.rttUsP99.toFixed(1)} µs`);
  const sunk = next<SinkReport>(host, 'sinkReport');
  const began = performance.now();
  host.send(at('sink'), { type: 'expect', total: 1_000_000 });
  host.send(at('stream'), { type: 'stream', count: 1_000_000, windowItems: 4096 });
  const stream = await sunk;
  const rate = stream.received / ((performance.now() - began) / 1000);
  print(`   streamed ${stream.received.toLocaleString('en-US')} one-way messages (flow-controlled, batched per turn): ${Math.round(rate).toLocaleString('en-US')} msgs/s, ${stream.outOfOrder} out of order`);
  const ticks = await tick;
  print(`   timer actor: ${ticks.ticks} ticks, cancelled timer fired: ${ticks.decoyFired}, clock went back: ${ticks.clockWentBack}`);
  await host.stop();
  print(`   stopped: ${host.stats().threads} worker threads left\n`);

  const bounded = await startThreadNode({ node, actors: spec.actors.slice(3) }, { mailboxMessagesMax: 1024, log: () => {} });
  const burstDone = next<BurstReport>(bounded, 'burstReport');
  bounded.send(at('stream'), { type: 'burst', count: 10_000 });
  const burst = await burstDone;
  print(`2. mailboxes are bounded (mailboxMessagesMax 1024): a burst of 10,000 sends -> ${burst.accepted} accepted, ${burst.refused} refused with ${burst.refusedCode}`);
  await bounded.stop();

  const failing = await startInlineNode({ node, actors: [{ name: 'boom', kind: faulty }, spec.actors[2]!] }, { log: () => {} });
  const failure = new Promise<string>((resolve) => failing.on('actorFailed', (actor, error) => resolve(`${actor.actor}: ${error.message}`)));
  const stopped = new Promise<string>((resolve) => failing.on('stopped', resolve));
  failing.send(at('boom'), { type: 'boom', reason: 'demonstration' });
  print(`3. an actor that throws is reported ("${await failure}") and its node stops cleanly (reason: ${await stopped})\n`);

  const seed = 20261121;
  const replay = () => {
    const sim = new Simulation({ seed, trace: true });
    let done = 0;
    sim.on('appMessage', (message) => (done += message.type === 'pingReport' || message.type === 'sinkReport' ? 1 : 0));
    sim.addNode(spec);
    sim.send(at('ping'), { type: 'start', rounds: 5_000 });
    sim.send(at('sink'), { type: 'expect', total: 100_000 });
    sim.send(at('stream'), { type: 'stream', count: 100_000, windowItems: 1024 });
    const wallBegan = performance.now();
    sim.runUntil(() => done === 2);
    return { hash: sim.traceHash, events: sim.stats().events, simMs: sim.nowMs, wallMs: performance.now() - wallBegan };
  };
  const first = replay();
  const second = replay();
  print(`4. simulator, seed ${seed}: ${first.events.toLocaleString('en-US')} events, ${first.simMs.toFixed(1)} virtual ms in ${first.wallMs.toFixed(0)} wall ms`);
  print(`   trace ${first.hash}, replayed: ${second.hash} (${first.hash === second.hash ? 'identical' : 'DIFFERENT'})`);
  return first.hash === second.hash ? 0 : 1;
}
