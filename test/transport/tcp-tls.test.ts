/**
 * TLS between nodes with mutual authentication: nodes with certificates from the cluster's CA talk;
 * a certificate from another CA, a chain deeper than verifyDepth or a plain-TCP node is refused with
 * a logged reason; bad sslParams files are named at listen. Throwaway certificates come from the
 * `openssl` command line, which these tests need.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/runtime/actor.js';
import type { SinkReport } from '../../src/actors/examples/stream.js';
import type { SslParams, TcpNetworkConfig } from '../../src/transport/tcp/index.js';
import { TcpNetwork } from '../../src/transport/tcp/index.js';
import type { RemoteStream, TestMember } from './tcp-harness.js';
import { SECRET, logText, nextMessage, startCluster, startMember, waitFor } from './tcp-harness.js';

let dir = '';

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA. */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '1', '-subj', `/CN=${name}`);
}

/** A certificate for `name` signed by `ca`: a node's (loopback names) or, with `isCa`, an intermediate CA. */
function makeCert(name: string, ca: string, isCa = false): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), isCa
    ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
    : 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
}

beforeAll(() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the TLS tests need the openssl command line to make throwaway certificates; install openssl');
  }
  dir = mkdtempSync(join(tmpdir(), 'chorus-tls-'));
  makeCa('ca');
  makeCa('rogue');
  for (const node of ['a', 'b']) makeCert(node, 'ca');
  makeCert('x', 'rogue');
  makeCert('inter', 'ca', true);
  makeCert('c', 'inter');
  // c presents its chain: its own certificate, then the intermediate.
  writeFileSync(join(dir, 'c-chain.crt'), readFileSync(join(dir, 'c.crt'), 'utf8') + readFileSync(join(dir, 'inter.crt'), 'utf8'));
});
afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const ssl = (node: string, more: Partial<SslParams> = {}): SslParams => ({
  certFile: join(dir, node === 'c' ? 'c-chain.crt' : `${node}.crt`), keyFile: join(dir, `${node}.key`), caFile: join(dir, 'ca.crt'), ...more,
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stream(from: TestMember, to: TestMember, count: number): Promise<SinkReport> {
  to.host.send({ node: to.id, actor: `from-${from.id}` }, { type: 'expect', total: count });
  from.host.send({ node: from.id, actor: `to-${to.id}` }, { type: 'remoteStream', to: { node: to.id, actor: `from-${from.id}` }, count, windowItems: 200 } satisfies RemoteStream);
  return nextMessage<SinkReport>(to, 'sinkReport');
}

describe('TcpNetwork over TLS', () => {
  it('nodes with certificates from the cluster CA exchange messages both ways, in order', async () => {
    const cluster = await startCluster(['a', 'b'], (id) => ({ sslParams: ssl(id) }));
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    expect(await stream(a, b, 2000)).toMatchObject({ received: 2000, outOfOrder: 0 });
    expect(await stream(b, a, 2000)).toMatchObject({ received: 2000, outOfOrder: 0 });
    expect(a.network.stats().handshakeFailures + b.network.stats().handshakeFailures).toBe(0);
  });

  it('refuses a node whose certificate another CA signed, even though it knows the secret', async () => {
    const cluster = await startCluster(['a', 'b'], (id) => ({ sslParams: ssl(id) }), ['x']);
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    const xLogs: LogRecord[] = [];
    const x = await startMember('x', cluster.ports['x']!, { a: `127.0.0.1:${cluster.ports['a']}` }, { sslParams: ssl('x') }, xLogs);
    cleanups.push(() => x.stop());
    await waitFor(() => /refused .*TLS: the peer's certificate was not accepted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/.test(logText(a.logs)), 'a refuses x for its certificate');
    // And x, which trusts the cluster CA, refuses nothing of a's, but is never admitted.
    expect(a.network.stats().peers['x']?.inbound).toBe('disconnected');
    expect(a.network.stats().handshakeFailures).toBeGreaterThanOrEqual(1);
    expect(await stream(a, b, 200)).toMatchObject({ received: 200, outOfOrder: 0 });
  });

  it('refuses a chain deeper than verifyDepth, and accepts it within', async () => {
    const cluster = await startCluster(['a', 'b'], (id) => ({ sslParams: ssl(id, id === 'a' ? { verifyDepth: 0 } : {}) }), ['c']);
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    const c = await startMember('c', cluster.ports['c']!, { a: `127.0.0.1:${cluster.ports['a']}`, b: `127.0.0.1:${cluster.ports['b']}` }, { sslParams: ssl('c') });
    cleanups.push(() => c.stop());
    await waitFor(() => /the peer's chain has 1 intermediate certificates, more than verifyDepth 0/.test(logText(a.logs)), 'a refuses c for its chain');
    await waitFor(() => b.network.stats().peers['c']?.inbound === 'connected' && c.network.stats().peers['b']?.outbound === 'connected', 'b admits c');
  });

  it('refuses a node that speaks plain TCP to a TLS node', async () => {
    const cluster = await startCluster(['a', 'b'], (id) => ({ sslParams: ssl(id) }), ['x']);
    cleanups.push(cluster.stop);
    const [a] = cluster.members as [TestMember, TestMember];
    const x = await startMember('x', cluster.ports['x']!, { a: `127.0.0.1:${cluster.ports['a']}` });
    cleanups.push(() => x.stop());
    await waitFor(() => /TLS handshake failed/.test(logText(a.logs)), 'a refuses the plain connection');
    expect(a.network.stats().peers['x']?.inbound).toBe('disconnected');
  });

  it('verifyMode none: encrypted, with the secret as the only proof', async () => {
    const cluster = await startCluster(['a', 'b'], (id) => ({ sslParams: { certFile: join(dir, `${id}.crt`), keyFile: join(dir, `${id}.key`), verifyMode: 'none' } }));
    cleanups.push(cluster.stop);
    const [a, b] = cluster.members as [TestMember, TestMember];
    expect(await stream(a, b, 200)).toMatchObject({ received: 200, outOfOrder: 0 });
  });

  it('names the sslParams key whose file cannot be used, at listen', async () => {
    const base: TcpNetworkConfig = { self: 'a', listen: '127.0.0.1:0', peers: {}, clusterName: 'c', secret: SECRET, log: () => undefined };
    await expect(new TcpNetwork({ ...base, sslParams: { ...ssl('a'), certFile: join(dir, 'missing.crt') } }).listen())
      .rejects.toThrow(/sslParams\.certFile: cannot read .*missing\.crt.*ENOENT/);
    await expect(new TcpNetwork({ ...base, sslParams: { ...ssl('a'), keyFile: join(dir, 'b.key') } }).listen())
      .rejects.toThrow(/TcpNetwork\.listen: sslParams: .*key values mismatch/);
    expect(() => new TcpNetwork({ ...base, sslParams: { certFile: 'a.crt', keyFile: 'a.key' } })).toThrow(/sslParams\.caFile must be a file path/);
  });
});
