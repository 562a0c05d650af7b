/**
 * The TCP transport's configuration: the seeds' network parameters (`nwparams`) in camelCase, with the
 * unit added to the name where the seed had none (as `window.timeout` became `timeoutMs`), checked once
 * at the public boundary with errors that name the key and the problem. Everything after this file
 * trusts the resolved config. The secret is never put into an error message.
 */
import { isIP } from 'node:net';
import type { LogRecord, Message } from '../../runtime/actor.js';
import { invalidArgument } from '../../runtime/errors.js';
import {
  tcpConnectIntervalMsDefault, tcpConnectTimeoutMsDefault, tcpFrameBytesMaxCeiling, tcpFrameBytesMaxDefault,
  tcpHandshakeFrameBytesMax, tcpKeepAliveTimeMsDefault, tcpKeepAliveProbesMax, tcpKeepAliveTimeMsMax, tcpNameCharsMax, tcpOutgoingBytesMaxCeiling,
  tcpOutgoingBytesMaxDefault, tcpPeersMax, tcpSecretBytesMin, tcpSocketBufBytesMax, tcpTimeMsMax, tcpVerifyDepthDefault, tcpVerifyDepthMax,
} from '../../limits.js';

/** TLS (`ssl_params`). Files are PEM. Every node both accepts and dials, so each needs a cert and key. */
export interface SslParams {
  /** This node's certificate chain (`cert_file_pem`). */
  readonly certFile: string;
  /** This node's private key (`pkey_file_pem`); unencrypted PEM. */
  readonly keyFile: string;
  /** The CA(s) that sign the cluster's certificates. Required with verifyMode 'peer'. */
  readonly caFile?: string;
  /** OpenSSL cipher list (`cipher_list`); default: Node's. */
  readonly ciphers?: string;
  /**
   * `verify_mode`: 'peer' (default; OpenSSL SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT): both
   * sides present a certificate signed by caFile, the dialer also checks the name in the acceptor's
   * certificate against the peer address it dialed. 'none' (SSL_VERIFY_NONE): encrypted but not
   * certificate-checked; the HMAC handshake is then what authenticates.
   */
  readonly verifyMode?: 'peer' | 'none';
  /** `verify_depth`: intermediate certificates allowed above a peer's own (default 9). */
  readonly verifyDepth?: number;
}

/** A message frame from a peer: its sending actor, the actor here it is for, and its body. */
export interface PeerEnvelope {
  readonly from: string;
  readonly to: string;
  readonly body: Message;
}
/** Why a peer's message must not be delivered (its connection is then closed as bad input), or undefined to deliver it. */
export type PeerMessageGuard = (envelope: PeerEnvelope, peer: string, self: string) => string | undefined;

export interface TcpNetworkConfig {
  /** This node's id: what peers list it as. */
  readonly self: string;
  /** Where to accept peers: `host:port` (`[::1]:port` for IPv6); port 0 picks a free one (see `address()`). */
  readonly listen: string;
  /** Every other node: id -> `host:port`. */
  readonly peers: Readonly<Record<string, string>>;
  /** Nodes with another cluster name are refused. */
  readonly clusterName: string;
  /**
   * Shared by every node of the cluster, at least 16 bytes (use 32 random ones). Peers prove they know
   * it by HMAC challenge-response; it never crosses the wire and never appears in logs or errors.
   * Required with TLS too: TLS proves a machine's certificate, the secret proves membership.
   */
  readonly secret: string | Uint8Array;
  readonly sslParams?: SslParams;
  /** Milliseconds to connect, finish TLS and authenticate, both when dialing and accepting (default 5000). */
  readonly connectTimeoutMs?: number;
  /** Milliseconds between dial attempts to a peer that is down (default 1000). */
  readonly connectIntervalMs?: number;
  /**
   * Bytes: Node cannot set the kernel's SO_SNDBUF / SO_RCVBUF on TCP sockets (only on UDP), so these
   * set the sockets' stream high-water marks (user-space buffering) instead; the kernel's buffers stay
   * at the OS defaults (autotuned on Linux). Default: Node's.
   */
  readonly socketSendBuf?: number;
  readonly socketRecvBuf?: number;
  /** 'ipv4' (default) or 'ipv6': the address family used to listen and to resolve peers' host names. */
  readonly socketDomain?: 'ipv4' | 'ipv6';
  /** Milliseconds of idle before TCP keep-alive probes start (setKeepAlive's initialDelay); 0 turns keep-alive off (default 60000). */
  readonly keepAliveTimeMs?: number;
  /**
   * Unacknowledged probes before the connection is dropped. Node 20, 22 and 24 cannot set this (nor
   * the probe interval): libuv fixes 10 probes 1 s apart. The value is checked and otherwise ignored,
   * with one info line at listen when it differs from 10.
   */
  readonly keepAliveProbes?: number;
  /** Largest frame payload sent or accepted, in bytes (default 16 MiB). */
  readonly frameBytesMax?: number;
  /** Bytes queued for one peer connection before further messages to it drop (default 32 MiB). */
  readonly outgoingBytesMax?: number;
  /** Where log records go (default: warnings and errors as JSON lines on stderr). */
  readonly log?: (record: LogRecord) => void;
  /**
   * `modeMask.debugOutput`: log every message sent to and received from a peer (debug level: its
   * actors, type, bytes and peer; never its body). Costs a log record per message.
   */
  readonly debugOutput?: boolean;
  /**
   * Which messages peers may send, checked on every message frame before it is delivered: a refused one
   * closes its connection as bad input, with the reason logged. A node (openNode) passes its allow-list
   * (src/node/peer-messages.ts). Default: any actor message, for a network of your own actors.
   */
  readonly peerMessages?: PeerMessageGuard;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface ResolvedTcpConfig {
  readonly self: string;
  readonly listen: Endpoint;
  readonly peers: ReadonlyMap<string, Endpoint>;
  readonly clusterName: string;
  readonly secret: Uint8Array;
  readonly ssl: Required<Omit<SslParams, 'caFile' | 'ciphers'>> & Pick<SslParams, 'caFile' | 'ciphers'> | undefined;
  readonly connectTimeoutMs: number;
  readonly connectIntervalMs: number;
  readonly socketSendBuf: number | undefined;
  readonly socketRecvBuf: number | undefined;
  readonly family: 4 | 6;
  readonly keepAliveTimeMs: number;
  readonly keepAliveProbes: number | undefined;
  readonly frameBytesMax: number;
  readonly outgoingBytesMax: number;
  readonly log: ((record: LogRecord) => void) | undefined;
  readonly debugOutput: boolean;
  readonly peerMessages: PeerMessageGuard | undefined;
}

const api = 'TcpNetwork';

function integer(key: string, value: unknown, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(api, `${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return v;
}

function optionalInteger(key: string, value: unknown, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integer(key, value, 0, min, max);
}

function nodeName(key: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > tcpNameCharsMax || value.includes('/')) {
    throw invalidArgument(api, `${key} must be a string of 1 to ${tcpNameCharsMax} characters without '/', got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Parses `host:port`, `[v6]:port`; the port may be 0 only where `allowZero`. */
export function parseEndpoint(key: string, value: unknown, allowZero: boolean): Endpoint {
  if (typeof value !== 'string') throw invalidArgument(api, `${key} must be a "host:port" string, got ${JSON.stringify(value)}`);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (match === null || host === undefined || port > 65535 || (port === 0 && !allowZero)) {
    throw invalidArgument(api, `${key} must be "host:port" (IPv6 as "[addr]:port") with a port in [${allowZero ? 0 : 1}, 65535], got ${JSON.stringify(value)}`);
  }
  if (match[1] !== undefined && isIP(host) !== 6) throw invalidArgument(api, `${key}: ${JSON.stringify(host)} in brackets is not an IPv6 address`);
  return { host, port };
}

function checkFamily(key: string, endpoint: Endpoint, family: 4 | 6): void {
  const literal = isIP(endpoint.host);
  if (literal !== 0 && literal !== family) {
    throw invalidArgument(api, `${key}: ${endpoint.host} is an IPv${literal} address but socketDomain is 'ipv${family}'`);
  }
}

function resolveSecret(value: unknown): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Uint8Array ? Uint8Array.from(value) : undefined;
  // Never echo the value: it is the secret, or something meant to be.
  if (bytes === undefined) throw invalidArgument(api, `secret must be a string or a Uint8Array (got a ${value === null ? 'null' : typeof value})`);
  if (bytes.byteLength < tcpSecretBytesMin) throw invalidArgument(api, `secret must hold at least ${tcpSecretBytesMin} bytes (got ${bytes.byteLength})`);
  return bytes;
}

function resolveSsl(value: SslParams | undefined): ResolvedTcpConfig['ssl'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw invalidArgument(api, 'sslParams must be an object');
  const file = (key: keyof SslParams, required: boolean): string | undefined => {
    const v: unknown = value[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0) throw invalidArgument(api, `sslParams.${key} must be a file path, got ${JSON.stringify(v)}`);
    return v;
  };
  const verifyMode = value.verifyMode ?? 'peer';
  if (verifyMode !== 'peer' && verifyMode !== 'none') throw invalidArgument(api, `sslParams.verifyMode must be 'peer' or 'none', got ${JSON.stringify(verifyMode)}`);
  if (value.ciphers !== undefined && (typeof value.ciphers !== 'string' || value.ciphers.length === 0)) {
    throw invalidArgument(api, `sslParams.ciphers must be a non-empty OpenSSL cipher list, got ${JSON.stringify(value.ciphers)}`);
  }
  const certFile = file('certFile', true)!;
  const keyFile = file('keyFile', true)!;
  const caFile = file('caFile', verifyMode === 'peer');
  return {
    certFile, keyFile, verifyMode,
    verifyDepth: integer('sslParams.verifyDepth', value.verifyDepth, tcpVerifyDepthDefault, 0, tcpVerifyDepthMax),
    ...(caFile !== undefined ? { caFile } : {}), ...(value.ciphers !== undefined ? { ciphers: value.ciphers } : {}),
  };
}

function resolvePeers(value: unknown, self: string, family: 4 | 6): Map<string, Endpoint> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(api, 'peers must be an object of node id -> "host:port"');
  const entries = Object.entries(value);
  if (entries.length > tcpPeersMax) throw invalidArgument(api, `peers lists ${entries.length} nodes; at most ${tcpPeersMax}`);
  const peers = new Map<string, Endpoint>();
  for (const [id, addr] of entries) {
    nodeName(`peers key ${JSON.stringify(id)}`, id);
    if (id === self) throw invalidArgument(api, `peers must not list this node itself (${JSON.stringify(self)})`);
    const endpoint = parseEndpoint(`peers[${JSON.stringify(id)}]`, addr, false);
    checkFamily(`peers[${JSON.stringify(id)}]`, endpoint, family);
    peers.set(id, endpoint);
  }
  return peers;
}

/** Checks a config at the public boundary; throws INVALID_ARGUMENT naming the key and the problem. */
export function resolveTcpConfig(config: TcpNetworkConfig): ResolvedTcpConfig {
  if (typeof config !== 'object' || config === null) throw invalidArgument(api, 'config must be an object');
  const self = nodeName('self', config.self);
  const domain = config.socketDomain ?? 'ipv4';
  if (domain !== 'ipv4' && domain !== 'ipv6') throw invalidArgument(api, `socketDomain must be 'ipv4' or 'ipv6', got ${JSON.stringify(domain)}`);
  const family = domain === 'ipv4' ? 4 : 6;
  const listen = parseEndpoint('listen', config.listen, true);
  checkFamily('listen', listen, family);
  if (typeof config.clusterName !== 'string' || config.clusterName.length === 0 || config.clusterName.length > tcpNameCharsMax) {
    throw invalidArgument(api, `clusterName must be a string of 1 to ${tcpNameCharsMax} characters, got ${JSON.stringify(config.clusterName)}`);
  }
  if (config.log !== undefined && typeof config.log !== 'function') throw invalidArgument(api, 'log must be a function');
  if (config.peerMessages !== undefined && typeof config.peerMessages !== 'function') throw invalidArgument(api, 'peerMessages must be a function');
  if (config.debugOutput !== undefined && typeof config.debugOutput !== 'boolean') throw invalidArgument(api, `debugOutput must be a boolean, got ${JSON.stringify(config.debugOutput)}`);
  return {
    self, listen, family, clusterName: config.clusterName,
    peers: resolvePeers(config.peers, self, family),
    secret: resolveSecret(config.secret),
    ssl: resolveSsl(config.sslParams),
    connectTimeoutMs: integer('connectTimeoutMs', config.connectTimeoutMs, tcpConnectTimeoutMsDefault, 1, tcpTimeMsMax),
    connectIntervalMs: integer('connectIntervalMs', config.connectIntervalMs, tcpConnectIntervalMsDefault, 1, tcpTimeMsMax),
    socketSendBuf: optionalInteger('socketSendBuf', config.socketSendBuf, 1, tcpSocketBufBytesMax),
    socketRecvBuf: optionalInteger('socketRecvBuf', config.socketRecvBuf, 1, tcpSocketBufBytesMax),
    keepAliveTimeMs: integer('keepAliveTimeMs', config.keepAliveTimeMs, tcpKeepAliveTimeMsDefault, 0, tcpKeepAliveTimeMsMax),
    keepAliveProbes: optionalInteger('keepAliveProbes', config.keepAliveProbes, 1, tcpKeepAliveProbesMax),
    frameBytesMax: integer('frameBytesMax', config.frameBytesMax, tcpFrameBytesMaxDefault, tcpHandshakeFrameBytesMax, tcpFrameBytesMaxCeiling),
    outgoingBytesMax: integer('outgoingBytesMax', config.outgoingBytesMax, tcpOutgoingBytesMaxDefault, 1, tcpOutgoingBytesMaxCeiling),
    log: config.log, debugOutput: config.debugOutput ?? false, peerMessages: config.peerMessages,
  };
}
