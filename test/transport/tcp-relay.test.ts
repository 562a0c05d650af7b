/**
 * Someone on the path after the handshake (plain TCP): a relay lets the handshake through, then alters
 * a frame, injects one, replays one or drops one. Each time the receiving end closes that connection
 * with a logged reason (its tag does not check) instead of acting on it, and the node keeps serving:
 * the dialer reconnects and later messages go through. Between nodes (node a dials node b through the
 * relay) and between a client and a node's client port, both ways.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/runtime/actor.js';
import { openNode } from '../../src/node/cluster-node.js';
import type { ClusterNode } from '../../src/node/cluster-node.js';
import { startClientPort } from '../../src/client/server.js';
import type { ClientPort } from '../../src/client/server.js';
import { execute } from '../../src/client/execute.js';
import { connect } from '../../src/client/index.js';
import type { Client } from '../../src/client/index.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import { frameTagBytes } from '../../src/transport/tcp/frame-mac.js';
import type { TestMember } from './tcp-harness.js';
import { SECRET, freePorts, logText, nextMessage, startMember, waitFor } from './tcp-harness.js';
import type { Tamper } from './tamper-relay.js';
import { TamperRelay, once, rewrite } from './tamper-relay.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A run of one forged frame: `frame` with `marker` made `text`, and a tag record the forger had to make up. */
const forgedRun = (run: readonly Buffer[], frame: number, at: number, text: string): Buffer[] => [rewrite(run, frame, at, text)[frame]!, Buffer.alloc(4 + frameTagBytes)];
/** Lets a macrotask pass: what is sent after it goes in another run. */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 20));

const authFailure = /after the handshake failed its authentication \(its tag does not match/;

describe('between nodes: a relay on the path of node a to node b', () => {
  /** Node b, and node a dialing it through a relay; both links up. */
  async function pair(): Promise<{ a: TestMember; b: TestMember; relay: TamperRelay }> {
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const b = await startMember('b', pb, { a: `127.0.0.1:${pa}` });
    cleanups.push(() => b.stop());
    const relay = await TamperRelay.start(pb, { tagBytes: frameTagBytes });
    cleanups.push(() => relay.close());
    const a = await startMember('a', pa, { b: `127.0.0.1:${relay.port}` });
    cleanups.push(() => a.stop());
    await waitFor(() => a.network.stats().peers['b']?.outbound === 'connected' && b.network.stats().peers['a']?.inbound === 'connected', 'a and b linked');
    return { a, b, relay };
  }

  const echo = (a: TestMember, value: string) => a.host.send({ node: 'b', actor: 'echo' }, { type: 'echo', value });
  const echoed = (a: TestMember) => a.inbox.filter((m) => m.type === 'echoed').map((m) => (m as unknown as { value: unknown }).value);

  /** b closed a's connection for a frame that did not check, and serves a again once a has redialed. */
  async function closedAndServing(a: TestMember, b: TestMember): Promise<void> {
    // Whichever comes first: b's closure, or an echo of what the relay did (which must never come).
    await waitFor(() => authFailure.test(logText(b.logs)) || echoed(a).length > 0, 'b logs the failed tag');
    expect(echoed(a)).toEqual([]);
    expect(logText(b.logs)).toMatch(/warn b\/transport: closed the connection from node "a": run \d+ \(\d+ frames?\) after the handshake failed its authentication/);
    expect(b.network.stats().badInputClosures).toBe(1);
    expect(b.host.state).toBe('running');
    await waitFor(() => a.network.stats().peers['b']?.outbound === 'connected' && b.network.stats().peers['a']?.inbound === 'connected', 'a reconnected');
    echo(a, 'after');
    await waitFor(() => echoed(a).includes('after'), 'a message after the closure round-trips');
  }

  it('alters a byte of a frame: b closes the connection instead of delivering the altered message', async () => {
    const { a, b, relay } = await pair();
    relay.tamper = once('toAcceptor', 'ORIGINAL', (run, frame, at) => rewrite(run, frame, at, 'ALTERED!'));
    echo(a, 'ORIGINAL');
    await closedAndServing(a, b);
  });

  it('injects a well-formed frame: b closes the connection at it, delivering neither it nor what follows on that connection', async () => {
    const { a, b, relay } = await pair();
    // A forged frame of the right shape, before the genuine run: what an attacker would write to forge a Raft append.
    relay.tamper = once('toAcceptor', 'ORIGINAL', (run, frame, at) => [...forgedRun(run, frame, at, 'INJECTED'), ...run]);
    echo(a, 'ORIGINAL');
    await closedAndServing(a, b);
  });

  it('replays an earlier frame: b closes the connection instead of delivering it twice', async () => {
    const { a, b, relay } = await pair();
    let recorded: readonly Buffer[] | undefined;
    relay.tamper = (way, run) => {
      if (way !== 'toAcceptor') return undefined;
      if (run.some((f) => f.includes('ORIGINAL'))) recorded = run;
      if (!run.some((f) => f.includes('SECOND')) || recorded === undefined) return undefined;
      const replay = recorded;
      recorded = undefined;
      return [...replay, ...run]; // the earlier run, tag record and all, where the next was due
    };
    echo(a, 'ORIGINAL');
    await nextMessage(a, 'echoed');
    echo(a, 'SECOND');
    await closedAndServing(a, b); // the first echo was taken off the inbox above: a second one is the replay's
  });

  it('drops one run and passes the next: b closes the connection at the next one', async () => {
    const { a, b, relay } = await pair();
    relay.tamper = once('toAcceptor', 'FIRST', () => []);
    echo(a, 'FIRST');
    await nextTurn();
    echo(a, 'SECOND');
    await closedAndServing(a, b); // had b taken SECOND, a would have its echo
  });
});

describe("between a client and a node's client port, through a relay", () => {
  const schema = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' as const }, { name: 'v', type: 'string' as const }], primaryKey: ['k'] }] };

  /** A one-node cluster (its weight is a quorum) with a client port, and a client dialing it through a relay. */
  async function served(): Promise<{ node: ClusterNode; client: Client; relay: TamperRelay; logs: LogRecord[] }> {
    const [p0, p1] = await freePorts(2);
    const logs: LogRecord[] = [];
    const log = (r: LogRecord) => void logs.push(r);
    const tcp = { clusterName: 'relay', secret: SECRET, connectIntervalMs: 50 };
    const node = await openNode({ nodeId: 0, nodes: [{ addr: `127.0.0.1:${p0}`, qrank: 2 }, { addr: `127.0.0.1:${p1}` }], nwType: 'tcp', host: 'inline', tcp, schema, log });
    cleanups.push(() => node.stop({ scope: 'local' }));
    const port: ClientPort = await startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, log, execute: (r) => execute(node, r) });
    cleanups.push(() => port.close());
    await waitFor(() => node.info().role === 'leader', 'node 0 leads');
    const relay = await TamperRelay.start(port.address.port, { tagBytes: frameTagBytes });
    cleanups.push(() => relay.close());
    const client = await connect(`127.0.0.1:${relay.port}`, { clusterName: 'relay', clientKey: clientKeyFor(SECRET), requestTimeoutMs: 10_000 });
    cleanups.push(() => client.close());
    return { node, client, relay, logs };
  }

  const has = (node: ClusterNode, k: string) => node.read((tx) => tx.get('kv', k) !== undefined);
  const closedByNode = /warn 127\.0\.0\.1:\d+\/client-port: client client:[0-9a-f]+ disconnected: run \d+ \(\d+ frames?\) after the handshake failed its authentication/;

  it("alters a byte of the node's answer: the client fails the write with CONNECTION instead of taking a false answer", async () => {
    const { node, client, relay } = await served();
    relay.tamper = once('toDialer', 'ORIGINAL', (run, frame, at) => rewrite(run, frame, at, 'ALTERED!'));
    const write = client.write([{ op: 'insert', table: 'kv', row: { k: 'ORIGINAL', v: '' } }]);
    await expect(write).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(authFailure) });
    expect(client.closed).toBe(true);
    expect(has(node, 'ORIGINAL')).toBe(true); // it did commit: the client says the outcome is unknown, not that it failed
  });

  it('injects a forged answer to a write: the client fails it with CONNECTION instead of believing it', async () => {
    const { client, relay } = await served();
    // The node's answer to the request, with another value (a well-formed response of the right id), before the genuine one.
    relay.tamper = once('toDialer', 'ORIGINAL', (run, frame, at) => [...forgedRun(run, frame, at, 'FORGED!!'), ...run]);
    const write = client.write([{ op: 'insert', table: 'kv', row: { k: 'ORIGINAL', v: '' } }]);
    await expect(write).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(authFailure) });
  });

  it("replays a client's write after a later one: the node closes the connection instead of running it again", async () => {
    const { node, client, relay, logs } = await served();
    let recorded: readonly Buffer[] | undefined;
    relay.tamper = (way, run) => {
      if (way !== 'toAcceptor') return undefined;
      if (run.some((f) => f.includes('insert'))) recorded ??= run;
      if (!run.some((f) => f.includes('delete')) || recorded === undefined) return undefined;
      return [...run, ...recorded]; // the insert's run, tag record and all, after the delete's
    };
    await client.write([{ op: 'insert', table: 'kv', row: { k: 'x', v: '' } }]);
    await client.write([{ op: 'delete', table: 'kv', key: 'x' }]).catch((error: unknown) => error);
    // A write after the replay: a node that closed the connection at the replay never answers it.
    const later = await client.write([{ op: 'insert', table: 'kv', row: { k: 'y', v: '' } }]).catch((error: unknown) => error);
    expect(later).toMatchObject({ code: 'CONNECTION' });
    expect(logText(logs)).toMatch(closedByNode);
    await waitFor(() => !has(node, 'x'), 'the delete applied'); // and the replayed insert never ran after it
    expect(has(node, 'y')).toBe(false);
    expect(node.info().state).toBe('running');
  });

  it("drops a client's request and passes the next: the node closes the connection at the next one", async () => {
    const { node, client, relay, logs } = await served();
    relay.tamper = once('toAcceptor', 'FIRST', () => []);
    const first = client.write([{ op: 'insert', table: 'kv', row: { k: 'FIRST', v: '' } }]);
    await nextTurn();
    const second = client.write([{ op: 'insert', table: 'kv', row: { k: 'SECOND', v: '' } }]);
    await expect(second).rejects.toMatchObject({ code: 'CONNECTION' });
    await expect(first).rejects.toMatchObject({ code: 'CONNECTION' });
    expect(logText(logs)).toMatch(closedByNode);
    expect([has(node, 'FIRST'), has(node, 'SECOND')]).toEqual([false, false]);
    // The node serves a new connection as before.
    const again = await connect(`127.0.0.1:${relay.port}`, { clusterName: 'relay', clientKey: clientKeyFor(SECRET) });
    cleanups.push(() => again.close());
    expect((await again.write([{ op: 'insert', table: 'kv', row: { k: 'after', v: '' } }])).results).toHaveLength(1);
  });
});
