/**
 * Failures only the thread host has, as a user of it sees them: a message that cannot cross threads
 * (structured clone refuses a function) fails the node loudly, naming the actor and why, where it used
 * to throw in a microtask and take the whole process down (main thread) or the worker (actor side), with
 * the other messages of its batch lost. An actor that keeps allocating is stopped at its heap bound
 * (`actorHeapMb`) and fails its node, naming the bound, where it used to take the process to ~4.3 GB.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Address, Message, NodeSpec } from '../../src/runtime/actor.js';
import type { FailureReason } from '../../src/runtime/errors.js';
import type { NodeHost, StopReason } from '../../src/runtime/host.js';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
// @ts-expect-error plain JavaScript test actor (worker threads load it as it is)
import { unclonable } from './fixtures/unclonable.mjs';
// @ts-expect-error plain JavaScript test actor
import { hog } from './fixtures/hog.mjs';

const node = 'n1';
const at = (actor: string): Address => ({ node, actor });
const spec: NodeSpec = { node, actors: [{ name: 'a', kind: unclonable }, { name: 'b', kind: unclonable }] };
let hosts: NodeHost[] = [];

afterEach(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  hosts = [];
});

async function start(): Promise<{ host: NodeHost; failures: [string, FailureReason][]; app: Message[]; stopped: Promise<StopReason> }> {
  const host = await startThreadNode(spec, { log: () => {} });
  hosts.push(host);
  const failures: [string, FailureReason][] = [];
  const app: Message[] = [];
  host.on('actorFailed', (actor, error) => failures.push([actor.actor, error]));
  host.on('appMessage', (message) => app.push(message));
  const stopped = new Promise<StopReason>((resolve) => host.on('stopped', resolve));
  return { host, failures, app, stopped };
}

describe('thread host: a message that cannot cross threads', () => {
  it('from the application: the node fails naming the actor, and the rest of the batch is delivered', async () => {
    const { host, failures, app, stopped } = await start();
    host.send(at('a'), { type: 'ping' });
    host.send(at('a'), { type: 'withFn', fn: () => 2 });
    host.send(at('a'), { type: 'ping' });
    expect(await stopped).toBe('failed');
    expect(failures.map(([actor, error]) => [actor, error.name])).toEqual([['a', 'UnsendableMessage']]);
    expect(failures[0]![1].message).toMatch(/across threads \(deliver withFn\).*could not be cloned; messages must be plain data/);
    // Sent in the same turn as the refused one, both pings still arrived (and were answered before the stop).
    expect(app).toEqual([{ type: 'pong', n: 1 }, { type: 'pong', n: 2 }]);
    expect(host.stats().threads).toBe(0);
  });

  it('from an actor to another: the sender fails with a clear error and the node stops', async () => {
    const { host, failures, stopped } = await start();
    host.send(at('a'), { type: 'sendFn', to: 'b' });
    expect(await stopped).toBe('failed');
    expect(failures.map(([actor]) => actor)).toEqual(['a']);
    expect(failures[0]![1].message).toMatch(/^could not send b a message across threads \(withFn\).*messages must be plain data$/);
    expect(host.stats().threads).toBe(0);
  });
});

describe('thread host: an actor that keeps allocating', () => {
  it('is stopped at its heap bound (actorHeapMb) and fails its node, naming the actor and the bound', async () => {
    const host = await startThreadNode({ node, actors: [{ name: 'leaky', kind: hog }, { name: 'b', kind: unclonable }] }, { log: () => {}, actorHeapMb: 32 });
    hosts.push(host);
    const failures: [string, FailureReason][] = [];
    host.on('actorFailed', (actor, error) => failures.push([actor.actor, error]));
    const stopped = new Promise<StopReason>((resolve) => host.on('stopped', resolve));
    // The process's memory while it runs (the worker's heap is part of it).
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    host.send(at('leaky'), { type: 'hog' });
    const reason = await stopped;
    clearInterval(sampler);
    expect(reason).toBe('failed');
    expect(rssPeak - rssBefore).toBeLessThan(512 * 1024 * 1024); // without the bound: ~4.3 GB, V8's own limit
    expect(failures.map(([actor, error]) => [actor, error.name])).toEqual([['leaky', 'OutOfMemory']]);
    expect(failures[0]![1].message).toMatch(/^its thread used the whole heap it may \(actorHeapMb: 32 MiB\) and was stopped/);
    expect(host.stats().threads).toBe(0);
  });

  it('refuses a heap bound too small to load an actor', async () => {
    await expect(startThreadNode(spec, { actorHeapMb: 8 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/actorHeapMb must be an integer of at least 16/) });
  });
});
