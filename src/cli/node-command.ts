/**
 * `chorus node --config FILE.toml` and `chorus arbiter --config FILE.toml`: one cluster node as a
 * process. It opens the node over TCP with the file's parameters (environment variables override, see
 * config.ts), logs as JSON lines through pino naming the node, serves the admin port (`/status`,
 * `/metrics`) and the client port (chorusdb/client) when the file asks for them, and stops cleanly on SIGINT or SIGTERM
 * (a second signal exits at once).
 *
 * Exit status: 0 after a clean stop; 2 for a configuration error (the message names the file or
 * variable and the key); 1 when the node could not open or stop, or failed while running (an actor
 * failed, say its disk, or it cannot apply a committed write): it is logged (fatal), the process stops
 * the node's ports and exits, so that a service manager sees it and restarts it, instead of a process
 * that stays up with a node that no longer serves.
 */
import { openNode } from '../node/cluster-node.js';
import type { ClusterNode } from '../node/cluster-node.js';
import { checkDataDir } from '../node/data-dir.js';
import { ChorusError } from '../runtime/errors.js';
import type { AdminServer } from '../admin/server.js';
import { startAdminServer } from '../admin/server.js';
import type { Logger } from '../log/logger.js';
import { nodeLogger, recordSink } from '../log/logger.js';
import type { ClientPort } from '../client/server.js';
import { startClientPort } from '../client/server.js';
import { execute } from '../client/execute.js';
import { nodeStopMsMax } from '../limits.js';
import type { NodeConfig } from './config.js';
import { ConfigError, loadConfig } from './config.js';
import { packageVersion } from './version.js';

export type Role = 'node' | 'arbiter';

export interface NodeCommandIo {
  readonly stderr: (line: string) => void;
  /** Resolves when the process is asked to stop (SIGINT, SIGTERM); a second request forces an exit. */
  readonly stopRequested: Promise<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const nodeUsage = `Usage: chorus node --config FILE.toml
       chorus arbiter --config FILE.toml

Runs one node of a cluster (an arbiter: a voting member with no tables) until SIGINT or SIGTERM.
FILE holds openNode's parameters in TOML; environment variables override scalar keys, named CHORUS_
and the key in upper snake case (CHORUS_NODE_ID, CHORUS_DATA_DIR, CHORUS_TCP_SECRET,
CHORUS_TCP_CONNECT_TIMEOUT_MS, CHORUS_ADMIN_LISTEN, ...). See docs/cli.md.`;

export function configArg(args: readonly string[]): string | undefined {
  const at = args.indexOf('--config');
  return at >= 0 ? args[at + 1] : args.find((a) => a.startsWith('--config='))?.slice('--config='.length);
}

export async function runNodeCommand(role: Role, args: readonly string[], io: NodeCommandIo): Promise<number> {
  const file = configArg(args);
  if (file === undefined) {
    io.stderr(`chorus ${role}: --config FILE.toml is required\n\n${nodeUsage}`);
    return 2;
  }
  let config: NodeConfig;
  try {
    config = loadConfig(file, io.env);
    checkRole(config, role, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`chorus ${role}: ${error.message}`);
    return 2;
  }
  const self = config.params.nodes[config.params.nodeId]?.addr ?? `nodes[${config.params.nodeId}]`;
  const logger = nodeLogger(self, config.debugOutput ? 'debug' : config.logLevel);
  const opened = await open(config, logger, role, file, io);
  if (typeof opened === 'number') return opened;
  const { node, admin, clients, counters, failed } = opened;
  const where = (server: { readonly address: { readonly host: string; readonly port: number } } | undefined) => (server === undefined ? undefined : endpointText(server.address));
  logger.info({ role, addr: self, admin: where(admin), client: where(clients), version: packageVersion() }, `${role} ready`);
  const outcome = await Promise.race([io.stopRequested.then((signal) => ({ signal })), failed.then((error) => ({ error }))]);
  if ('error' in outcome) {
    logger.fatal({ err: outcome.error, code: outcome.error.code }, `${role} failed: ${outcome.error.message}; stopping, exit status 1`);
    await stop(node, [admin, clients], logger, counters);
    return 1;
  }
  logger.info({ signal: outcome.signal }, 'stopping');
  return stop(node, [admin, clients], logger, counters);
}

/** An arbiter is marked so in `nodes` (every node's file must agree); `chorus arbiter` runs only such a node, `chorus node` only others. */
function checkRole(config: NodeConfig, role: Role, file: string): void {
  const { nodeId, nodes } = config.params;
  const entry = nodes[nodeId];
  if (entry === undefined) return; // openNode names the bad nodeId
  const isArbiter = entry.arbiter === true;
  if (role === 'arbiter' && !isArbiter) throw new ConfigError(`${file}: nodes[${nodeId}] (this node) is not an arbiter: set arbiter = true on it, in every node's file`);
  if (role === 'node' && isArbiter) throw new ConfigError(`${file}: nodes[${nodeId}] (this node) is an arbiter: run it with chorus arbiter`);
}

interface Running {
  readonly node: ClusterNode;
  readonly admin: AdminServer | undefined;
  readonly clients: ClientPort | undefined;
  readonly counters: { leaderChanges: number; clientWrites: Record<string, number> };
  /** Resolves if the node fails (it has begun to stop itself). */
  readonly failed: Promise<Error & { readonly code: string }>;
}

async function open(config: NodeConfig, logger: Logger, role: Role, file: string, io: NodeCommandIo): Promise<Running | number> {
  const counters = { leaderChanges: 0, clientWrites: {} as Record<string, number> };
  let node: ClusterNode;
  try {
    const { dataDir, nodes, nodeId } = config.params;
    const self = nodes[nodeId]?.addr; // openNode names a bad nodeId
    if (dataDir !== undefined && self !== undefined) checkDataDir(dataDir, self, nodes.map((n) => n.addr), true); // one node per dataDir
    node = await openNode({ ...config.params, log: recordSink(logger) });
  } catch (error) {
    if (error instanceof ChorusError && error.code === 'INVALID_ARGUMENT') {
      io.stderr(`chorus ${role}: ${file}: ${error.message.replace(/^openNode: /, '')}`);
      return 2;
    }
    logger.fatal({ err: error }, `could not open the ${role}`);
    return 1;
  }
  const failed = watch(node, logger, counters);
  let admin: AdminServer | undefined;
  if (config.adminListen !== undefined) {
    try {
      admin = await startAdminServer(config.adminListen, {
        info: () => node.info(),
        counters: () => {
          const cpu = process.cpuUsage();
          return { ...counters, cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss() };
        },
        about: () => ({ addr: node.nodeId, qrank: config.params.nodes[config.params.nodeId]?.qrank ?? 1, process: role, version: packageVersion(), uptimeS: Math.round(process.uptime()) }),
      });
    } catch (error) {
      logger.fatal({ err: error }, `could not serve the admin port on ${config.adminListen}`);
      await node.stop({ scope: 'local' });
      return 1;
    }
  }
  let clients: ClientPort | undefined;
  if (config.clientListen !== undefined) {
    try {
      clients = await startClientPort({
        listen: config.clientListen, self: node.nodeId, tcp: config.params.tcp, log: recordSink(logger),
        ...(config.clientQueuedAnswerBytesMax !== undefined ? { queuedAnswerBytesMax: config.clientQueuedAnswerBytesMax } : {}),
        revoked: config.clientRevoked,
        execute: (request) => execute(node, request),
        outcome: (request, outcome) => {
          if (request.type === 'write') counters.clientWrites[outcome] = (counters.clientWrites[outcome] ?? 0) + 1;
        },
      });
    } catch (error) {
      await Promise.all([admin?.close(), node.stop({ scope: 'local' })]);
      if (error instanceof ChorusError && error.code === 'INVALID_ARGUMENT') {
        io.stderr(`chorus ${role}: ${file}: client.${error.message.replace(/^startClientPort: /, '')}`);
        return 2;
      }
      logger.fatal({ err: error }, `could not serve the client port on ${config.clientListen}`);
      return 1;
    }
  }
  return { node, admin, clients, counters, failed };
}

/** Logs the node's events; resolves if it fails. */
function watch(node: ClusterNode, logger: Logger, counters: { leaderChanges: number }): Promise<Error & { readonly code: string }> {
  node.on('leaderChanged', (leader, term) => {
    counters.leaderChanges++;
    logger.info({ leader, term }, leader === undefined ? 'no leader' : `leader is ${leader}`);
  });
  node.on('connect', (peer) => logger.info({ peer: peer.nodeId, qrank: peer.qrank, reason: peer.reason }, `connected to ${peer.nodeId}`));
  node.on('disconnect', (peer) => logger.warn({ peer: peer.nodeId, qrank: peer.qrank, reason: peer.reason }, `disconnected from ${peer.nodeId}`));
  node.on('quorumLost', (reason) => logger.warn({ reason }, 'quorum lost: writes fail with NO_QUORUM'));
  node.on('quorumRegained', (reason) => logger.info({ reason }, 'quorum regained'));
  node.on('synced', ({ index, via }) => logger.info({ index, via }, `synced (caught up ${via === 'log' ? 'from the log' : 'by a state transfer'})`));
  return new Promise((resolve) => node.on('failed', resolve));
}

async function stop(node: ClusterNode, servers: readonly ({ close(): Promise<void> } | undefined)[], logger: Logger, counters: { leaderChanges: number }): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), nodeStopMsMax)));
  const closing = Promise.all(servers.map((server) => server?.close())).then(() => node.stop({ scope: 'local' }));
  const outcome = await Promise.race([closing.then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    logger.error(`did not stop within ${nodeStopMsMax} ms (nodeStopMsMax); exiting anyway`);
    return 1;
  }
  logger.info({ leaderChanges: counters.leaderChanges }, 'stopped');
  return 0;
}

function endpointText(endpoint: { readonly host: string; readonly port: number }): string {
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
