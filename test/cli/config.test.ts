/**
 * The node configuration file: what a TOML file and the environment become as openNode parameters.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envName, loadConfig } from '../../src/cli/config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-config-'));
  dirs.push(dir);
  const path = join(dir, 'node.toml');
  writeFileSync(path, text);
  return path;
}

const base = `
nodeId = 1
dataDir = "data"
host = "thread"

[[nodes]]
addr = "127.0.0.1:7001"
qrank = 2
[[nodes]]
addr = "127.0.0.1:7002"
[[nodes]]
addr = "127.0.0.1:7003"
arbiter = true

[window]
length = 64
bsize = 262144
timeoutMs = 1

[tcp]
clusterName = "orders"
secret = "sixteen bytes at the very least"
connectTimeoutMs = 3000

[tcp.sslParams]
certFile = "tls/node.pem"
keyFile = "tls/node.key"
verifyMode = "none"

[admin]
listen = "127.0.0.1:8001"

[[schema.tables]]
name = "kv"
primaryKey = ["k"]
fields = [{ name = "k", type = "string" }]
`;

describe('loadConfig', () => {
  it('names environment variables after the key path in upper snake case', () => {
    expect(envName('nodeId')).toBe('CHORUS_NODE_ID');
    expect(envName('tcp.connectTimeoutMs')).toBe('CHORUS_TCP_CONNECT_TIMEOUT_MS');
    expect(envName('tcp.sslParams.certFile')).toBe('CHORUS_TCP_SSL_PARAMS_CERT_FILE');
    expect(envName('modeMask.debugOutput')).toBe('CHORUS_MODE_MASK_DEBUG_OUTPUT');
  });

  it("turns the file into openNode's parameters, paths relative to the file", () => {
    const path = file(base);
    const dir = join(path, '..');
    const config = loadConfig(path, {});
    expect(config.params).toEqual({
      nodeId: 1, dataDir: join(dir, 'data'), host: 'thread', nwType: 'tcp',
      nodes: [{ addr: '127.0.0.1:7001', qrank: 2 }, { addr: '127.0.0.1:7002' }, { addr: '127.0.0.1:7003', arbiter: true }],
      window: { length: 64, bsize: 262144, timeoutMs: 1 },
      tcp: {
        clusterName: 'orders', secret: 'sixteen bytes at the very least', connectTimeoutMs: 3000,
        sslParams: { certFile: join(dir, 'tls/node.pem'), keyFile: join(dir, 'tls/node.key'), verifyMode: 'none' },
      },
      schema: { tables: [{ name: 'kv', primaryKey: ['k'], fields: [{ name: 'k', type: 'string' }] }] },
    });
    expect(config.adminListen).toBe('127.0.0.1:8001');
    expect(config.clientListen).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.debugOutput).toBe(false);
  });

  it('lets environment variables override scalar keys, typed as the key is', () => {
    const config = loadConfig(file(base), {
      CHORUS_NODE_ID: '2', CHORUS_TCP_CONNECT_TIMEOUT_MS: '9000', CHORUS_TCP_SECRET: 'another secret, long enough',
      CHORUS_MODE_MASK_DEBUG_OUTPUT: 'true', CHORUS_LOG_LEVEL: 'debug', CHORUS_CLIENT_LISTEN: '127.0.0.1:9001', CHORUS_DATA_DIR: '/var/lib/chorus',
    });
    expect(config.params.nodeId).toBe(2);
    expect(config.params.dataDir).toBe('/var/lib/chorus');
    expect(config.params.tcp.connectTimeoutMs).toBe(9000);
    expect(config.params.tcp.secret).toBe('another secret, long enough');
    expect(config.debugOutput).toBe(true);
    expect(config.logLevel).toBe('debug');
    expect(config.clientListen).toBe('127.0.0.1:9001');
    expect(() => loadConfig(file(base), { CHORUS_LOG_LEVEL: 'loud' })).toThrow(/CHORUS_LOG_LEVEL must be one of "debug", "info", "warn", "error", got "loud"/);
    expect(() => loadConfig(file(base), { CHORUS_MODE_MASK_DEBUG_OUTPUT: 'yes' })).toThrow(/CHORUS_MODE_MASK_DEBUG_OUTPUT must be true or false/);
  });

  it('refuses CHORUS_ variables that name no key, naming them with the nearest one', () => {
    expect(() => loadConfig(file(base), { CHORUS_TCP_CONECT_TIMEOUT_MS: '9000', CHORUS_NODEID: '1', OTHER_VAR: 'x' }))
      .toThrow('unknown environment variables CHORUS_NODEID (did you mean CHORUS_NODE_ID?), CHORUS_TCP_CONECT_TIMEOUT_MS (did you mean CHORUS_TCP_CONNECT_TIMEOUT_MS?): every CHORUS_ variable overrides a key of the file (docs/cli.md)');
    expect(() => loadConfig(file(base), { CHORUS_TCP_DIAL: 'x' })).toThrow(/unknown environment variable CHORUS_TCP_DIAL:/);
    expect(loadConfig(file(base), { CHORUS_CLIENT_QUEUED_ANSWER_BYTES_MAX: '33554432' }).clientQueuedAnswerBytesMax).toBe(33554432);
  });

  it('reads client.revoked as a comma-separated list of client names, refusing a bad one by the key', () => {
    expect(loadConfig(file(base), {}).clientRevoked).toEqual([]);
    expect(loadConfig(file(base), { CHORUS_CLIENT_REVOKED: ' app1, batch.v2 ,' }).clientRevoked).toEqual(['app1', 'batch.v2']);
    expect(() => loadConfig(file(base), { CHORUS_CLIENT_REVOKED: 'app1, bad name' })).toThrow(/client\.revoked: a client name is 1 to 64 of A-Z a-z 0-9 \. _ -, got "bad name"/);
  });

  it('CHORUS_TCP_SECRET overrides the file, whether it gives tcp.secret or tcp.secretFile', () => {
    const path = file(base.replace('secret = "sixteen bytes at the very least"', 'secretFile = "secret.txt"'));
    writeFileSync(join(path, '..', 'secret.txt'), 'from a file, long enough\n');
    expect(loadConfig(path, { CHORUS_TCP_SECRET: 'from the environment, long' }).params.tcp.secret).toBe('from the environment, long');
    expect(loadConfig(file(base), { CHORUS_TCP_SECRET_FILE: join(path, '..', 'secret.txt') }).params.tcp.secret).toBe('from a file, long enough');
    expect(() => loadConfig(path, { CHORUS_TCP_SECRET: 'from the environment, long', CHORUS_TCP_SECRET_FILE: 'x' })).toThrow(/give tcp\.secret or tcp\.secretFile, not both/);
  });

  it('reads the secret from tcp.secretFile without its final newline, and never echoes it in errors', () => {
    const path = file(base.replace('secret = "sixteen bytes at the very least"', 'secretFile = "secret.txt"'));
    writeFileSync(join(path, '..', 'secret.txt'), 'from a file, long enough\n');
    expect(loadConfig(path, {}).params.tcp.secret).toBe('from a file, long enough');
    expect(() => loadConfig(file(base.replace('secret = "sixteen bytes at the very least"', 'secret = 42')), {})).toThrow(/tcp\.secret must be a string$/);
  });

  it('reads tcp.dial as a table of node addr to dial address', () => {
    const withDial = base.replace('[tcp.sslParams]', '[tcp.dial]\n"127.0.0.1:7002" = "127.0.0.1:17002"\n\n[tcp.sslParams]');
    expect(loadConfig(file(withDial), {}).params.tcp.dial).toEqual({ '127.0.0.1:7002': '127.0.0.1:17002' });
    expect(() => loadConfig(file(withDial.replace('"127.0.0.1:17002"', '17002')), {})).toThrow(/tcp\.dial must be a table of "key" = "string"/);
  });

  it('refuses what it does not know, naming the key', () => {
    expect(() => loadConfig(file(`${base}\n[admin2]\nlisten = "x"`), {})).toThrow(/unknown key admin2$/);
    expect(() => loadConfig(file(base.replace('qrank = 2', 'qrank = 2\nweight = 3')), {})).toThrow(/unknown key nodes\[0\]\.weight \(a node has addr, qrank, arbiter\)/);
    expect(() => loadConfig(file(base.replace('qrank = 2', 'qrank = "2"')), {})).toThrow(/nodes\[0\]\.qrank must be an integer, got "2"/);
    expect(() => loadConfig(file(base.replace('nodeId = 1', '')), {})).toThrow(/nodeId is required .* or CHORUS_NODE_ID/);
    expect(() => loadConfig(file(base.replace('[window]\nlength = 64\nbsize = 262144\ntimeoutMs = 1\n', '').replace('nodeId = 1', 'nodeId = 1\nwindow = 3')), {})).toThrow(/window must be a table/);
    expect(() => loadConfig(file(base.replace('clusterName = "orders"', '')), {})).toThrow(/tcp\.clusterName is required/);
    expect(() => loadConfig(file(base.replace('electionTicks', 'x').replace('host = "thread"', 'electionTiks = 10')), {})).toThrow(/unknown key electionTiks \(did you mean electionTicks\?\)/);
  });
});
