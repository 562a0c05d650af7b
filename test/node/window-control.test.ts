/**
 * setWindow, getWindow and transferLeadership at the node's API (src/node/window-control.ts), on both
 * hosts. What they take is checked and copied there: a bad window is INVALID_ARGUMENT naming the field,
 * and the node runs on (it used to reach the flusher, whose assert failed the node at the first write);
 * a window object carrying a function is taken as its three numbers (on the thread host it used to throw
 * DataCloneError in a microtask and end the process). getWindow always settles: with the window, or with
 * STOPPED / the node's failure (it used to wait for ever once the node stopped or failed).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import type { NodeHost } from '../../src/runtime/host.js';
import type { Window } from '../../src/actors/window-flusher.js';
import { timerDelayMsMax } from '../../src/limits.js';
import { until } from './until.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
let open: ClusterNode[] = [];
afterEach(async () => {
  await Promise.allSettled(open.map((n) => n.stop({ scope: 'local' })));
  open = [];
});

async function single(host: 'inline' | 'thread', window?: Window): Promise<ClusterNode> {
  const node = await openNode({ nodeId: 0, nodes: [{ addr: 'n1' }], schema, network: new InProcessNetwork(), host, log: () => {}, ...(window === undefined ? {} : { window }) });
  open.push(node);
  await until('it leads', () => node.info().leader !== undefined);
  return node;
}
const put = (node: ClusterNode, k: string) => node.write((tx) => void tx.upsert('kv', { k, v: 1 }));
/** How a promise settles within `ms` (real time: a hang shows as 'pending', not as a test timeout). */
const settled = <T>(p: Promise<T>, ms = 10_000) =>
  Promise.race([p.then((value) => ({ value }), (error: Error & { code?: string }) => ({ code: error.code, message: error.message })), new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);
const hostOf = (node: ClusterNode) => (node as unknown as { readonly host: NodeHost }).host;

describe.each(['inline', 'thread'] as const)('the window at run time (%s host)', (host) => {
  it('refuses a bad window with INVALID_ARGUMENT naming the field; the node runs on', async () => {
    const node = await single(host);
    let failed: Error | undefined;
    node.on('failed', (error) => (failed = error));
    const bad: [unknown, RegExp][] = [
      [{ length: -1, bsize: 0, timeoutMs: 1 }, /window\.length must be a non-negative integer, got -1/],
      [{ length: '64', bsize: 0, timeoutMs: 1 }, /window\.length must be a non-negative integer, got "64"/],
      [{ length: 8, bsize: 0.5, timeoutMs: 1 }, /window\.bsize/],
      [{ length: 8, bsize: 0, timeoutMs: 0 }, /window\.timeoutMs must be positive/],
      [{ length: 8, bsize: 0, timeoutMs: timerDelayMsMax + 1 }, /window\.timeoutMs must be at most 86400000/],
      [null, /window must be an object/],
    ];
    for (const [window, message] of bad) {
      expect(() => node.setWindow(window as Window)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }));
    }
    await put(node, 'after');
    expect(node.info().state).toBe('running');
    expect(failed).toBeUndefined();
    expect(await node.getWindow()).toEqual({ length: 0, bsize: 0, timeoutMs: 1 });
  });

  it('takes a window object with more than its numbers (a method) as those numbers', async () => {
    const node = await single(host);
    node.setWindow({ length: 8, bsize: 0, timeoutMs: 1, onChange: () => {} } as Window);
    await put(node, 'a');
    expect(await node.getWindow()).toStrictEqual({ length: 8, bsize: 0, timeoutMs: 1 });
    expect(node.info().state).toBe('running');
  });

  it('refuses transferLeadership to anything but a node of the cluster', async () => {
    const node = await single(host);
    expect(() => node.transferLeadership({ addr: 'n1', toString: () => 'n1' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => node.transferLeadership('n9')).toThrow(/nodeAddr must be the addr of one of the nodes \(n1\), got "n9"/);
    await put(node, 'a');
  });

  it('getWindow settles when the node stops or fails instead of waiting for ever', async () => {
    const node = await single(host);
    const [first, second] = [node.getWindow(), node.getWindow()];
    expect(await first).toEqual(await second);
    const inFlight = settled(node.getWindow());
    await node.stop({ scope: 'local' });
    expect(await inFlight).toMatchObject({ code: 'STOPPED' });
    expect(await settled(node.getWindow())).toMatchObject({ code: 'STOPPED' });
    expect(() => node.setWindow({ length: 1, bsize: 0, timeoutMs: 1 })).toThrow(expect.objectContaining({ code: 'STOPPED' }));

    const other = await single(host);
    // The flusher fails (a bug's message, from its own node), so nothing answers the getWindow behind it.
    hostOf(other).send({ node: other.nodeId, actor: 'flusher' }, { type: 'setWindow', window: 'x' });
    expect(await settled(other.getWindow())).toMatchObject({ code: 'ACTOR_FAILED', message: expect.stringMatching(/n1\/flusher failed/) });
  });
});

describe('the window at open', () => {
  it('refuses a timeoutMs no timer takes, instead of failing at the first write', async () => {
    const opened = openNode({ nodeId: 0, nodes: [{ addr: 'n1' }], schema, network: new InProcessNetwork(), log: () => {}, window: { length: 8, bsize: 0, timeoutMs: 1e9 } });
    await expect(opened).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/openNode: window\.timeoutMs must be at most/) });
  });

  it('refuses a writeTimeoutMs no timer takes (the committer lets go of writes pending that long), and a heap bound too small', async () => {
    const base = { nodeId: 0, nodes: [{ addr: 'n1' }], schema, network: new InProcessNetwork(), log: () => {} };
    await expect(openNode({ ...base, writeTimeoutMs: 1e9 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/writeTimeoutMs must be at most 86400000/) });
    await expect(openNode({ ...base, actorHeapMb: 8 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/actorHeapMb must be at least 16/) });
  });

  it('stop() after stop({ scope: "local" }) resolves once the node has stopped (thread host: no thread left)', async () => {
    const node = await single('thread');
    const local = node.stop({ scope: 'local' });
    await node.stop();
    expect(hostOf(node).stats().threads).toBe(0);
    await local;
  });
});
