/**
 * requestTimeoutMs as a client user sees it: a request the node never answers fails TIMEOUT, no sooner
 * than requestTimeoutMs after it was sent, each request on its own deadline (a request sent later fails
 * later), while a request that is answered resolves. The node here is a bare client port that answers
 * one write and never the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientPort } from '../../src/client/server.js';
import type { ClientPort } from '../../src/client/server.js';
import { connect } from '../../src/client/index.js';
import type { Client, ClientError } from '../../src/client/index.js';
import type { Request } from '../../src/client/protocol.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import { SECRET } from '../transport/tcp-harness.js';

const requestTimeoutMs = 400;
/** The port answers the write whose row has this key at once, and no other. */
const answeredKey = 3;
let port: ClientPort;
let client: Client;

beforeAll(async () => {
  const tcp = { clusterName: 'timeout-test', secret: SECRET };
  port = await startClientPort({
    listen: '127.0.0.1:0', self: 'a', tcp,
    execute: (request: Request) => new Promise((resolve) => {
      const k = request.type === 'write' && request.ops[0]?.op === 'upsert' ? Number((request.ops[0].row as { k: number }).k) : 0;
      if (k === answeredKey) resolve({ version: 1, results: [null] }); // others are never answered
    }),
  });
  client = await connect(`127.0.0.1:${port.address.port}`, { clusterName: 'timeout-test', clientKey: clientKeyFor(SECRET), requestTimeoutMs });
});

afterAll(async () => {
  await client.close();
  await port.close();
});

/** Sends a write keyed `k`; resolves with when it settled and how. */
function timed(k: number): { readonly sentAt: number; readonly settled: Promise<{ readonly at: number; readonly outcome: string }> } {
  const sentAt = performance.now();
  const settled = client.write([{ op: 'upsert', table: 't', row: { k } }]).then(
    () => ({ at: performance.now(), outcome: 'ok' }),
    (error: ClientError) => ({ at: performance.now(), outcome: error.code }),
  );
  return { sentAt, settled };
}

describe('client requestTimeoutMs', () => {
  it('fails each unanswered request TIMEOUT on its own deadline, and resolves one answered in time', async () => {
    const first = timed(1);
    await new Promise((resolve) => setTimeout(resolve, requestTimeoutMs / 2));
    const second = timed(2);
    const answered = timed(answeredKey);
    const [a, b, c] = await Promise.all([first.settled, second.settled, answered.settled]);
    expect([a.outcome, b.outcome, c.outcome]).toEqual(['TIMEOUT', 'TIMEOUT', 'ok']);
    // Timers fire no earlier than asked (less 1 ms of timer rounding); a late one is only the machine's load.
    expect(a.at - first.sentAt).toBeGreaterThanOrEqual(requestTimeoutMs - 1);
    expect(b.at - second.sentAt).toBeGreaterThanOrEqual(requestTimeoutMs - 1);
  });

  it('times out a request sent after every earlier one was answered (nothing waited in between)', async () => {
    expect((await timed(answeredKey).settled).outcome).toBe('ok');
    const lone = timed(4);
    const { at, outcome } = await lone.settled;
    expect(outcome).toBe('TIMEOUT');
    expect(at - lone.sentAt).toBeGreaterThanOrEqual(requestTimeoutMs - 1);
  });
});
