/**
 * Start, stop and failure, as a user of each host sees them: a failing actor is reported by name and
 * its node stops cleanly; stop delivers what was sent before it and leaves no thread or timer behind.
 */
import { describe, expect, it } from 'vitest';
import type { NodeSpec } from '../../src/runtime/actor.js';
import { ActorFailedError, ChorusError } from '../../src/runtime/errors.js';
import { startInlineNode } from '../../src/runtime/inline-host.js';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
import { Simulation } from '../../simulate/simulation.js';
import { faulty } from '../../src/actors/examples/faulty.js';
import { ticker } from '../../src/actors/examples/ticker.js';
import { sink, streamer } from '../../src/actors/examples/stream.js';
import { ofType, startTestNode } from './harness.js';
import type { ActorKind, LogRecord } from '../../src/runtime/actor.js';
// @ts-expect-error a plain JavaScript fixture (worker threads load it without compiling)
import { recorder } from './fixtures/recorder.mjs';

const node = 'n1';
const at = (actor: string) => ({ node, actor });
const realHosts = [
  ['inline', startInlineNode],
  ['thread', startThreadNode],
] as const;

const withFaulty = (params?: { throwInCreate: boolean }): NodeSpec => ({
  node,
  actors: [
    { name: 'tick', kind: ticker, params: { intervalMs: 1, ticks: 1_000_000 } },
    { name: 'boom', kind: faulty, params },
  ],
});

const pendingTimeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe.each(realHosts)('%s host lifecycle', (_name, start) => {
  it('reports an actor that throws by name and error, then stops the node cleanly', async () => {
    const timeoutsBefore = pendingTimeouts();
    const host = await start(withFaulty(), { log: () => {} });
    const failed = new Promise<[string, string]>((resolve) => host.on('actorFailed', (actor, error) => resolve([actor.actor, error.message])));
    const stopped = new Promise<string>((resolve) => host.on('stopped', resolve));
    expect(host.send(at('boom'), { type: 'boom', reason: 'disk on fire' })).toBeUndefined();
    expect(await failed).toEqual(['boom', 'faulty: disk on fire']);
    expect(await stopped).toBe('failed');
    await host.stop(); // idempotent, resolves at once
    expect(host.state).toBe('stopped');
    expect(host.stats().threads).toBe(0);
    expect(pendingTimeouts()).toBeLessThanOrEqual(timeoutsBefore); // the ticker's timer is gone too
    expect(host.send(at('tick'), { type: 'tick', n: 1 })?.code).toBe('STOPPED');
  });

  it('hands a failed actor nothing more, nor runs its stop hook, when a listener stops the node on the failure', async () => {
    const records: LogRecord[] = [];
    const host = await start({ node, actors: [{ name: 'a', kind: recorder as ActorKind }] }, { log: (record) => records.push(record) });
    host.on('actorFailed', () => void host.stop()); // as ClusterNode does
    const stopped = new Promise<string>((resolve) => host.on('stopped', resolve));
    host.send(at('a'), { type: 'boom' });
    for (let i = 0; i < 3; i++) host.send(at('a'), { type: `after${i}` });
    expect(await stopped).toBe('failed');
    expect(records.filter((r) => r.actor === 'a' && r.level === 'info').map((r) => r.msg)).toEqual(['got boom']);
  });

  it('refuses to start when an actor throws in create, leaving nothing running', async () => {
    const timeoutsBefore = pendingTimeouts();
    const error = await start(withFaulty({ throwInCreate: true }), { log: () => {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ActorFailedError);
    expect((error as ActorFailedError).code).toBe('ACTOR_FAILED');
    expect((error as ActorFailedError).actor).toEqual(at('boom'));
    expect((error as Error).message).toContain('faulty: refused to be created');
    expect(pendingTimeouts()).toBeLessThanOrEqual(timeoutsBefore);
  });

  it('delivers every message sent before stop, then refuses sends with STOPPED', async () => {
    const logs: { msg: string; fields: unknown }[] = [];
    const host = await start(
      { node, actors: [{ name: 'stream', kind: streamer, params: { sink: 'sink' } }, { name: 'sink', kind: sink, params: { ackEvery: 1_000_000 } }] },
      { log: (record) => logs.push(record) },
    );
    for (let seq = 1; seq <= 50; seq++) expect(host.send(at('sink'), { type: 'item', seq })).toBeUndefined();
    const stopped = host.stop();
    expect(host.send(at('sink'), { type: 'item', seq: 51 })?.code).toBe('STOPPED');
    await stopped;
    expect(logs.filter((r) => r.msg === 'sink stopped').map((r) => r.fields)).toEqual([{ received: 50, outOfOrder: 0 }]);
    expect(host.stats().threads).toBe(0);
  });

  it('drains messages in flight between actors before their stop hooks run', async () => {
    const logs: { msg: string; fields: unknown }[] = [];
    const run = await startTestNode(
      _name,
      { node, actors: [{ name: 'stream', kind: streamer, params: { sink: 'sink' } }, { name: 'sink', kind: sink, params: { ackEvery: 1_000_000 } }] },
      { log: (record) => logs.push(record) },
    );
    run.send(at('stream'), { type: 'burst', count: 3_000 });
    expect((await run.next(ofType('burstReport'))).message).toMatchObject({ accepted: 3_000 });
    await run.stop();
    expect(run.logs.filter((r) => r.msg === 'sink stopped').map((r) => r.fields)).toEqual([{ received: 3_000, outOfOrder: 0 }]);
  });

  it('answers NO_ROUTE for an actor the node does not have, and for other nodes without a transport', async () => {
    const host = await start({ node, actors: [{ name: 'sink', kind: sink, params: { ackEvery: 10 } }] }, { log: () => {} });
    expect(host.send(at('nobody'), { type: 'item', seq: 1 })?.code).toBe('NO_ROUTE');
    expect(host.send({ node: 'n2', actor: 'sink' }, { type: 'item', seq: 1 })?.code).toBe('NO_ROUTE');
    await host.stop();
  });
});

describe('simulator host lifecycle', () => {
  it('reports an actor that throws and crashes its node; restart builds it again', () => {
    const sim = new Simulation({ seed: 7 });
    const failures: string[] = [];
    sim.on('actorFailed', (actor, error) => failures.push(`${actor.actor}: ${error.message}`));
    sim.addNode(withFaulty());
    expect(sim.send(at('boom'), { type: 'boom', reason: 'bad luck' })).toBeUndefined();
    sim.runFor(10);
    expect(failures).toEqual(['boom: faulty: bad luck']);
    expect(sim.isUp(node)).toBe(false);
    expect(sim.send(at('tick'), { type: 'tick', n: 1 })?.code).toBe('NO_ROUTE');
    const firedBefore = sim.stats().timersFired;
    sim.runFor(100);
    expect(sim.stats().timersFired).toBe(firedBefore); // a crashed node's timers are gone
    sim.restart(node);
    sim.runFor(10);
    expect(sim.stats().timersFired).toBeGreaterThanOrEqual(firedBefore + 9);
  });
});

describe('node spec checks', () => {
  const bad: [string, NodeSpec, RegExp][] = [
    ['empty node name', { node: '', actors: [{ name: 'a', kind: sink }] }, /node name/],
    ['no actors', { node, actors: [] }, /actors must be a non-empty array/],
    ['duplicate names', { node, actors: [{ name: 'a', kind: sink }, { name: 'a', kind: sink }] }, /actor "a".*unique/],
    ['reserved name', { node, actors: [{ name: 'app', kind: sink }] }, /reserved/],
    ['not a kind', { node, actors: [{ name: 'a', kind: {} as never }] }, /defineActor/],
  ];
  it.each(bad)('refuses %s with INVALID_ARGUMENT naming the problem', async (_what, spec, message) => {
    for (const [, start] of realHosts) {
      const error = await start(spec).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChorusError);
      expect((error as ChorusError).code).toBe('INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(message);
    }
    expect(() => new Simulation({ seed: 1 }).addNode(spec)).toThrow(message);
  });

  it('refuses a mailbox bound that is not a positive integer', async () => {
    await expect(startInlineNode(withFaulty(), { mailboxMessagesMax: 0 })).rejects.toThrow(/mailboxMessagesMax/);
    expect(() => new Simulation({ seed: 1, mailboxMessagesMax: 1.5 })).toThrow(/mailboxMessagesMax/);
  });
});
