/**
 * TcpNetwork's configuration is checked when the network is made: every error is INVALID_ARGUMENT and
 * names the key and the problem, and none repeats the secret.
 */
import { describe, expect, it } from 'vitest';
import type { TcpNetworkConfig } from '../../src/transport/tcp/index.js';
import { TcpNetwork } from '../../src/transport/tcp/index.js';

const base: TcpNetworkConfig = {
  self: 'a', listen: '127.0.0.1:0', peers: { b: '127.0.0.1:4001', c: 'db-3.internal:4001' }, clusterName: 'prod', secret: 'sixteen or more bytes', log: () => undefined,
};

function problem(change: Record<string, unknown>): string {
  try {
    new TcpNetwork({ ...base, ...change } as TcpNetworkConfig);
  } catch (error) {
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(change)}`);
}

describe('TcpNetwork config', () => {
  it('accepts a sound config, IPv6 included', () => {
    expect(new TcpNetwork(base).self).toBe('a');
    expect(new TcpNetwork({ ...base, listen: '[::1]:0', peers: { b: '[::1]:4001' }, socketDomain: 'ipv6' }).self).toBe('a');
  });

  it.each([
    [{ self: '' }, /^TcpNetwork: self must be a string of 1 to 256 characters without '\/'/],
    [{ listen: 'localhost' }, /^TcpNetwork: listen must be "host:port"/],
    [{ listen: '127.0.0.1:70000' }, /listen must be "host:port".*got "127\.0\.0\.1:70000"/],
    [{ listen: '[nope]:1' }, /listen: "nope" in brackets is not an IPv6 address/],
    [{ peers: { b: '127.0.0.1:0' } }, /peers\["b"\] must be "host:port".*port in \[1, 65535\]/],
    [{ peers: { a: '127.0.0.1:4001' } }, /peers must not list this node itself \("a"\)/],
    [{ peers: [] }, /peers must be an object of node id -> "host:port"/],
    [{ clusterName: '' }, /clusterName must be a string of 1 to 256 characters/],
    [{ socketDomain: 'ipv5' }, /socketDomain must be 'ipv4' or 'ipv6', got "ipv5"/],
    [{ socketDomain: 'ipv6' }, /listen: 127\.0\.0\.1 is an IPv4 address but socketDomain is 'ipv6'/],
    [{ connectTimeoutMs: 0 }, /connectTimeoutMs must be an integer in \[1, 600000\], got 0/],
    [{ connectIntervalMs: 1.5 }, /connectIntervalMs must be an integer/],
    [{ keepAliveTimeMs: -1 }, /keepAliveTimeMs must be an integer in \[0, 7200000\]/],
    [{ keepAliveProbes: 0 }, /keepAliveProbes must be an integer in \[1, 127\]/],
    [{ socketSendBuf: 0 }, /socketSendBuf must be an integer in \[1, 67108864\]/],
    [{ frameBytesMax: 10 }, /frameBytesMax must be an integer in \[4096, 268435456\]/],
    [{ outgoingBytesMax: 2 ** 40 }, /outgoingBytesMax must be an integer in \[1, 1073741824\]/],
    [{ sslParams: { certFile: 'a.crt' } }, /sslParams\.keyFile must be a file path/],
    [{ sslParams: { certFile: 'a.crt', keyFile: 'a.key', caFile: 'ca.crt', verifyMode: 'peers' } }, /sslParams\.verifyMode must be 'peer' or 'none', got "peers"/],
    [{ sslParams: { certFile: 'a.crt', keyFile: 'a.key', caFile: 'ca.crt', verifyDepth: 101 } }, /sslParams\.verifyDepth must be an integer in \[0, 100\]/],
  ])('refuses %j naming the key', (change, message) => {
    expect(problem(change)).toMatch(message);
  });

  it('refuses a short or missing secret without repeating it', () => {
    const message = problem({ secret: 'hunter2' });
    expect(message).toBe('TcpNetwork: secret must hold at least 16 bytes (got 7)');
    expect(problem({ secret: 12345 })).toBe('TcpNetwork: secret must be a string or a Uint8Array (got a number)');
  });

  it('outbound and attach belong to this node only', () => {
    const network = new TcpNetwork(base);
    expect(() => network.outbound('b')).toThrow(/TcpNetwork\.outbound: this network is node "a", not "b"/);
  });
});
