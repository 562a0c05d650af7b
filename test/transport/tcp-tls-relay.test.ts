/**
 * TLS with verifyMode 'none' against a man in the middle: a relay that terminates TLS towards each end
 * with its own certificate (which 'none' does not check) and passes the plaintext between them. Before
 * protocol version 6 it could relay the HMAC handshake and then read and write every frame; now the
 * proofs cover each TLS session's exported keying material, the relay's two sessions have two, and the
 * handshake fails. Between nodes and between a client and a client port. Throwaway self-signed
 * certificates come from the `openssl` command line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SslParams } from '../../src/transport/tcp/index.js';
import { openNode } from '../../src/node/cluster-node.js';
import { startClientPort } from '../../src/client/server.js';
import { execute } from '../../src/client/execute.js';
import { connect } from '../../src/client/index.js';
import { clientKeyFor } from '../../src/transport/tcp/keys.js';
import { SECRET, freePorts, logText, startMember, waitFor } from './tcp-harness.js';
import { TamperRelay } from './tamper-relay.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chorus-tls-relay-'));
  for (const name of ['node', 'relay']) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sslNone = (): SslParams => ({ certFile: join(dir, 'node.crt'), keyFile: join(dir, 'node.key'), verifyMode: 'none' });
const relayTls = () => ({ cert: readFileSync(join(dir, 'relay.crt')), key: readFileSync(join(dir, 'relay.key')) });
const notSameSession = /bad proof, or not over the same TLS session/;

describe("a relay terminating TLS on both sides (verifyMode 'none')", () => {
  it('cannot join node a to node b: the handshake fails, while b reaches a directly', async () => {
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const b = await startMember('b', pb, { a: `127.0.0.1:${pa}` }, { sslParams: sslNone() });
    cleanups.push(() => b.stop());
    const relay = await TamperRelay.start(pb, { tagBytes: 0, tls: relayTls() });
    cleanups.push(() => relay.close());
    const a = await startMember('a', pa, { b: `127.0.0.1:${relay.port}` }, { sslParams: sslNone() });
    cleanups.push(() => a.stop());
    // The direct link b -> a comes up (TLS 'none' and the handshake work); the relayed one never does.
    await waitFor(() => b.network.stats().peers['a']?.outbound === 'connected', 'b reaches a directly');
    await waitFor(() => notSameSession.test(logText(a.logs)) || a.network.stats().peers['b']?.outbound === 'connected', 'a fails the relayed handshake');
    expect(a.network.stats().peers['b']?.outbound).not.toBe('connected');
    expect(logText(a.logs)).toMatch(/could not connect to node "b": handshake failed: the peer does not know the cluster secret \(bad proof, or not over the same TLS session\)/);
    await waitFor(() => /refused 127\.0\.0\.1:\d+: handshake failed: refused by the peer: authentication failed/.test(logText(b.logs)), 'b logs the refusal');
    expect(b.network.stats().peers['a']?.inbound).toBe('disconnected');
    expect(relay.accepted).toBeGreaterThanOrEqual(1);
  });

  it("cannot join a client to a node's client port: connect fails with CONNECTION", async () => {
    const [p0, p1] = await freePorts(2);
    const logs: LogRecord[] = [];
    const tcp = { clusterName: 'relay', secret: SECRET, connectIntervalMs: 50, sslParams: sslNone() };
    const node = await openNode({
      nodeId: 0, nodes: [{ addr: `127.0.0.1:${p0}`, qrank: 2 }, { addr: `127.0.0.1:${p1}` }], nwType: 'tcp', host: 'inline', tcp, log: (r) => void logs.push(r),
      schema: { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }], primaryKey: ['k'] }] },
    });
    cleanups.push(() => node.stop({ scope: 'local' }));
    const port = await startClientPort({ listen: '127.0.0.1:0', self: node.nodeId, tcp, log: (r) => void logs.push(r), execute: (r) => execute(node, r) });
    cleanups.push(() => port.close());
    const relay = await TamperRelay.start(port.address.port, { tagBytes: 0, tls: relayTls() });
    cleanups.push(() => relay.close());
    const options = { clusterName: 'relay', clientKey: clientKeyFor(SECRET), sslParams: sslNone() };
    await expect(connect(`127.0.0.1:${relay.port}`, options)).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringMatching(notSameSession) });
    // Directly, the same client options connect.
    const direct = await connect(`127.0.0.1:${port.address.port}`, options);
    cleanups.push(() => direct.close());
    expect((await direct.info()).nodeId).toBe(node.nodeId);
  });
});
