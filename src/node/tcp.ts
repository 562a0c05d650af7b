/**
 * `nwType: 'tcp'`: the node's side of a cluster over TCP (or TLS) between processes. Checks the `tcp`
 * parameters at open (errors name the key, as `tcp.connectTimeoutMs` or `nodes[2].addr`) and opens the
 * TcpNetwork that stands where the shared InProcessNetwork stands with `nwType: 'local'`.
 *
 * A node's id is its `nodes[].addr`, `host:port`: the address its peers dial. It listens there unless
 * `tcp.listen` says otherwise (say `0.0.0.0:7001` behind NAT, or port 0 in tests: see `listening`).
 */
import type { LogRecord } from '../runtime/actor.js';
import { ChorusError, invalidArgument } from '../runtime/errors.js';
import type { ClusterNetwork } from '../transport/network.js';
import type { SslParams, TcpNetworkConfig } from '../transport/tcp/config.js';
import { parseEndpoint, resolveTcpConfig } from '../transport/tcp/config.js';
import { TcpNetwork } from '../transport/tcp/network.js';
import { peerMessageProblem } from './peer-messages.js';

/** The TCP parameters of `openNode`: the seeds' network parameters (`nwparams`), see docs/transport.md. */
export interface TcpNodeParams {
  /** Nodes with another cluster name are refused. */
  readonly clusterName: string;
  /** Shared by every node, at least 16 bytes; proven by HMAC challenge-response, never sent or logged. */
  readonly secret: string | Uint8Array;
  /** Where to accept peers (default: this node's `addr`); port 0 picks a free one. */
  readonly listen?: string;
  /**
   * Where to dial a node when not at its `addr` (node addr -> `host:port`): a NAT's or a proxy's
   * address. The node's id stays its addr; only the dialed address changes.
   */
  readonly dial?: Readonly<Record<string, string>>;
  readonly sslParams?: SslParams;
  readonly connectTimeoutMs?: number;
  readonly connectIntervalMs?: number;
  readonly socketSendBuf?: number;
  readonly socketRecvBuf?: number;
  readonly socketDomain?: 'ipv4' | 'ipv6';
  readonly keepAliveTimeMs?: number;
  readonly keepAliveProbes?: number;
  readonly frameBytesMax?: number;
  readonly outgoingBytesMax?: number;
  /** Where the transport's log records go (default: the node's `log`, else warnings and errors as JSON lines on stderr). */
  readonly log?: (record: LogRecord) => void;
  /** Told the bound address once the node listens (useful with port 0). */
  readonly listening?: (address: { readonly host: string; readonly port: number }) => void;
}

export interface ResolvedTcp {
  readonly config: TcpNetworkConfig;
  readonly listening: ((address: { readonly host: string; readonly port: number }) => void) | undefined;
}

/** A network this node opened itself, and must close when it stops. */
export interface OwnedNetwork {
  readonly network: ClusterNetwork;
  close(): Promise<void>;
}

const api = 'openNode';
const keys: ReadonlySet<string> = new Set([
  'clusterName', 'secret', 'listen', 'dial', 'sslParams', 'connectTimeoutMs', 'connectIntervalMs', 'socketSendBuf', 'socketRecvBuf',
  'socketDomain', 'keepAliveTimeMs', 'keepAliveProbes', 'frameBytesMax', 'outgoingBytesMax', 'log', 'listening',
]);

/**
 * Checks `tcp` and every node's addr; throws INVALID_ARGUMENT naming the key. Opens nothing. The
 * transport logs to `tcp.log`, else to the node's `log`. (modeMask.debugOutput is the node's: it logs
 * every cluster message whatever the network, so the transport's own per-message log stays off here.)
 */
export function resolveTcp(tcp: unknown, self: string, voters: readonly { readonly id: string }[], nodeLog?: (record: LogRecord) => void): ResolvedTcp {
  if (typeof tcp !== 'object' || tcp === null) throw invalidArgument(api, "nwType 'tcp' needs tcp: { clusterName, secret, ... }");
  const params = tcp as TcpNodeParams;
  for (const key of Object.keys(params)) if (!keys.has(key)) throw invalidArgument(api, `tcp.${key} is not a TCP parameter (see docs/transport.md)`);
  voters.forEach((voter, i) => {
    try {
      parseEndpoint(`nodes[${i}].addr`, voter.id, false);
    } catch (error) {
      throw renamed(error, '');
    }
  });
  if (params.listening !== undefined && typeof params.listening !== 'function') throw invalidArgument(api, 'tcp.listening must be a function');
  const dial = checkDial(params.dial, voters);
  const { listening, dial: _, ...rest } = params;
  const log = params.log ?? nodeLog;
  const peers = Object.fromEntries(voters.filter((v) => v.id !== self).map((v) => [v.id, dial[v.id] ?? v.id]));
  // Peers reach only the replicator and the watcher, with their own messages (peer-messages.ts).
  const config: TcpNetworkConfig = { ...rest, ...(log !== undefined ? { log } : {}), self, listen: params.listen ?? self, peers, peerMessages: peerMessageProblem };
  try {
    resolveTcpConfig(config);
  } catch (error) {
    throw renamed(error, 'tcp.');
  }
  return { config, listening };
}

function checkDial(dial: unknown, voters: readonly { readonly id: string }[]): Readonly<Record<string, string>> {
  if (dial === undefined) return {};
  if (typeof dial !== 'object' || dial === null || Array.isArray(dial)) throw invalidArgument(api, 'tcp.dial must be an object: node addr -> "host:port"');
  for (const [node, addr] of Object.entries(dial)) {
    if (!voters.some((v) => v.id === node)) throw invalidArgument(api, `tcp.dial names ${JSON.stringify(node)}, which is not in nodes`);
    try {
      parseEndpoint(`tcp.dial[${JSON.stringify(node)}]`, addr, false);
    } catch (error) {
      throw renamed(error, '');
    }
  }
  return dial as Readonly<Record<string, string>>;
}

/** Opens and starts this node's TcpNetwork: listening, and dialing every peer. */
export async function openTcpNetwork(tcp: ResolvedTcp): Promise<OwnedNetwork> {
  const network = new TcpNetwork(tcp.config);
  const bound = await network.listen();
  tcp.listening?.(bound);
  return { network, close: () => network.close() };
}

/** TcpNetwork's errors name its own keys ("TcpNetwork: connectTimeoutMs ..."); openNode's name them as `prefix` + key. */
function renamed(error: unknown, prefix: string): unknown {
  if (!(error instanceof ChorusError) || error.code !== 'INVALID_ARGUMENT') return error;
  return invalidArgument(api, `${prefix}${error.message.replace(/^TcpNetwork: /, '')}`);
}
