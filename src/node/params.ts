/**
 * `openNode` parameters: the seeds' vocabulary in camelCase, checked once at the public boundary with
 * errors that name the parameter. Everything after this file trusts them.
 */
import type { SchemaDef } from '../store/schema.js';
import type { LogRecord } from '../runtime/actor.js';
import type { Window } from '../actors/window-flusher.js';
import { noWindow } from '../actors/window-flusher.js';
import { copyWindow } from './window-control.js';
import { invalidArgument } from '../runtime/errors.js';
import { quorumTable, quorumTableProblem } from '../cluster/raft/custom-quorum.js';
import type { InProcessNetwork } from '../transport/in-process.js';
import type { ClusterNetwork } from '../transport/network.js';
import type { ResolvedTcp, TcpNodeParams } from './tcp.js';
import { resolveTcp } from './tcp.js';
import { customQuorumVotersMax, clusterRecvBufDefault, clusterSendBufDefault, syncMsgObjectsDefault, syncMsgSizeDefault, syncMsgSizeMax, raftMessageOverheadBytes, transLogLengthDefault, transLogSizeDefault, stopTimeoutMsDefault, writeTimeoutMsDefault, timerDelayMsMax, actorHeapMbDefault, actorHeapMbMin } from '../limits.js';

export interface NodeAddress {
  /** The node's address; with `nwType: 'local'` any unique name. */
  readonly addr: string;
  /** The node's weight in quorums (default 1). */
  readonly qrank?: number;
  /**
   * An arbiter (db-minder's arbitrator, Galera's garbd): it votes and keeps the log, but holds no tables;
   * reads and writes on it fail with ARBITER. Two data nodes and an arbiter keep a quorum with either
   * data node down.
   */
  readonly arbiter?: boolean;
}

/** The seeds' `mode_mask`, as named flags (all off by default). */
export interface ModeMask {
  /** Log every cluster message this node sends and receives, at debug level (MCO_CLUSTER_MODE_DEBUG_OUTPUT). */
  readonly debugOutput?: boolean;
  /**
   * Send a write to the cluster before this node checks its unique constraints (phase 1) against its own
   * snapshot: less latency, and a unique violation then fails the write at apply time, on every node
   * alike, instead of here (MCO_CLUSTER_MODE_EARLY_DATA_SEND). Types are checked here either way.
   */
  readonly earlyDataSend?: boolean;
  /**
   * Nodes whose schemas differ in compatible ways may form one cluster: each write carries its schema,
   * and rows convert by field name on apply; schema changes at run time are refused
   * (MCO_CLUSTER_MODE_BINARY_EVOLUTION). Without it, a write of another schema stops the node that
   * cannot read it (it would otherwise diverge).
   */
  readonly binaryEvolution?: boolean;
  /** Open the tables (journal replay) but stay off the network until `attach()` (MCO_CLUSTER_MODE_START_DETACHED). */
  readonly startDetached?: boolean;
}

export interface NodeParams {
  /** Index of this node in `nodes`. */
  readonly nodeId: number;
  readonly nodes: readonly NodeAddress[];
  /** The tables (not needed on an arbiter, which holds none). */
  readonly schema?: SchemaDef;
  /** The transaction window; `length: 0` (default) sends every transaction at once. */
  readonly window?: Window;
  /** Bytes of transactions waiting for commit before writers get OVERLOADED (default 64 MiB). */
  readonly clusterSendBuf?: number;
  /**
   * Bytes of other nodes' writes the leader holds in its log uncommitted (default 128 MiB): a write
   * forwarded past it is refused, and its writer gets OVERLOADED. One write is always taken when none is held.
   */
  readonly clusterRecvBuf?: number;
  /**
   * Transactions kept in the log behind the latest state image (default 100,000; a window batch counts
   * as the transactions it holds): a node that lags by fewer catches up from the log, one that lags by
   * more gets a state transfer. Also how often an image is taken.
   */
  readonly transLogLength?: number;
  /**
   * The same in bytes of log entries (default 64 MiB): the log keeps whichever of the two is reached
   * first, so that large rows do not make `transLogLength` transactions a memory problem.
   */
  readonly transLogSize?: number;
  /** Rows in one state-transfer message (default 100, as in the seeds). */
  readonly syncMsgObjects?: number;
  /** Bytes of rows in one state-transfer message (default 1 MiB, at most 64 MiB). */
  readonly syncMsgSize?: number;
  /**
   * Replaces the qrank rule: is this set of nodes (by addr) a quorum? Asked once per subset at open (at
   * most 16 nodes); refused when the whole cluster is not a quorum, when adding a node to a quorum can
   * make it none, or when two disjoint sets are both quorums (two leaders could be elected at once).
   */
  readonly checkQuorum?: (nodeIds: readonly string[]) => boolean;
  /** Where the actors run: one worker thread each, or on the caller's event loop (default). */
  readonly host?: 'thread' | 'inline';
  /**
   * 'local' (default): nodes of one process, joined by the `network` they share. 'tcp': this node talks
   * to its peers over TCP (or TLS) as set by `tcp`; `nodes[].addr` are then `host:port`.
   */
  readonly nwType?: 'local' | 'tcp';
  /** With nwType 'local': the InProcessNetwork the nodes of this process share. */
  readonly network?: InProcessNetwork;
  /** With nwType 'tcp': where to listen, the cluster's name and secret, TLS and socket settings. */
  readonly tcp?: TcpNodeParams;
  /** A write not committed within this long rejects with TIMEOUT (default 10 s, at most 24 h). */
  readonly writeTimeoutMs?: number;
  /**
   * host 'thread': the heap (MiB, V8 old generation) each actor's worker thread may use (default 1024).
   * A worker past it is stopped and the node fails (ACTOR_FAILED, naming the actor and this bound).
   */
  readonly actorHeapMb?: number;
  /** How long a cluster-wide `stop()` waits for every attached node to call stop too (default 30 s). */
  readonly stopTimeoutMs?: number;
  /**
   * Directory for this node's durable state (the Raft journal). With it a node can stop and come back
   * under the same address with everything it had; without it the log lives in memory only, and a node
   * must not be reopened under an address its cluster still knows.
   */
  readonly dataDir?: string;
  /** Where the node's actors' log records go (default: warnings and errors as JSON lines on stderr). */
  readonly log?: (record: LogRecord) => void;
  readonly modeMask?: ModeMask;
  /** Raft timing: milliseconds per tick, election timeout and heartbeat in ticks (defaults 10, 10, a third of the election timeout: 3). */
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
}

export interface ResolvedParams {
  readonly self: string;
  readonly voters: readonly { readonly id: string; readonly qrank: number; readonly arbiter?: boolean }[];
  /** This node is an arbiter: no tables, no schema. */
  readonly arbiter: boolean;
  /** Undefined on an arbiter. */
  readonly schema: SchemaDef | undefined;
  readonly window: Window;
  readonly clusterSendBuf: number;
  readonly clusterRecvBuf: number;
  readonly quorumTable: Uint8Array | undefined;
  readonly transLogLength: number;
  readonly transLogSize: number;
  readonly syncMsgObjects: number;
  readonly syncMsgSize: number;
  readonly host: 'thread' | 'inline';
  /** The shared network (nwType 'local'), or how to open this node's own (nwType 'tcp'). */
  readonly network: ClusterNetwork | ResolvedTcp;
  /** The largest message the network carries (TCP: frameBytesMax); undefined when unbounded (in-process). */
  readonly messageBytesMax: number | undefined;
  readonly dataDir: string | undefined;
  readonly log: ((record: LogRecord) => void) | undefined;
  readonly writeTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly actorHeapMb: number;
  readonly modeMask: Required<ModeMask>;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

const api = 'openNode';

function atMost(name: string, value: number, max: number, why: string): number {
  if (value > max) throw invalidArgument(api, `${name} must be at most ${max} (${why}), got ${value}`);
  return value;
}

function atLeast(name: string, value: number, min: number): number {
  if (value < min) throw invalidArgument(api, `${name} must be at least ${min}, got ${value}`);
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw invalidArgument(api, `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return v;
}

export function resolveParams(params: NodeParams): ResolvedParams {
  if (typeof params !== 'object' || params === null) throw invalidArgument(api, 'parameters must be an object');
  if (!Array.isArray(params.nodes) || params.nodes.length === 0) throw invalidArgument(api, 'nodes must be a non-empty array of { addr, qrank }');
  const seen = new Set<string>();
  const voters = params.nodes.map((n, i) => {
    if (typeof n?.addr !== 'string' || n.addr.length === 0 || n.addr.includes('/')) throw invalidArgument(api, `nodes[${i}].addr must be a non-empty string without '/'`);
    if (seen.has(n.addr)) throw invalidArgument(api, `nodes[${i}].addr ${JSON.stringify(n.addr)} appears twice`);
    seen.add(n.addr);
    if (n.arbiter !== undefined && typeof n.arbiter !== 'boolean') throw invalidArgument(api, `nodes[${i}].arbiter must be a boolean`);
    return { id: n.addr, qrank: positiveInteger(`nodes[${i}].qrank`, n.qrank, 1), ...(n.arbiter === true ? { arbiter: true } : {}) };
  });
  if (voters.every((v) => v.arbiter === true)) throw invalidArgument(api, 'nodes must hold at least one data node (not every node can be an arbiter)');
  if (!Number.isInteger(params.nodeId) || params.nodeId < 0 || params.nodeId >= voters.length) {
    throw invalidArgument(api, `nodeId must be an index into nodes (0 to ${voters.length - 1}), got ${JSON.stringify(params.nodeId)}`);
  }
  const arbiter = voters[params.nodeId]!.arbiter === true;
  if (!arbiter && (typeof params.schema !== 'object' || params.schema === null)) throw invalidArgument(api, 'schema is required on a data node (only an arbiter has none)');
  const window = params.window === undefined ? noWindow : copyWindow(api, params.window);
  if (params.host !== undefined && params.host !== 'thread' && params.host !== 'inline') throw invalidArgument(api, `host must be 'thread' or 'inline', got ${JSON.stringify(params.host)}`);
  if (params.nwType !== undefined && params.nwType !== 'local' && params.nwType !== 'tcp') throw invalidArgument(api, `nwType must be 'local' or 'tcp', got ${JSON.stringify(params.nwType)}`);
  if (params.dataDir !== undefined && (typeof params.dataDir !== 'string' || params.dataDir.length === 0)) throw invalidArgument(api, 'dataDir must be a non-empty path');
  if (params.log !== undefined && typeof params.log !== 'function') throw invalidArgument(api, 'log must be a function (record) => void');
  const network = resolveNetwork(params, voters);
  const electionTicks = positiveInteger('electionTicks', params.electionTicks, 10);
  // A third of the shortest election timeout: a follower misses three in a row before it stands. Each
  // heartbeat is a message each way per follower, and every tick was a third of an idle node's CPU. The
  // elections that load causes more often at this rate no longer fail writes: a write refused for want of
  // a leader waits for the next one (write-core.ts).
  const heartbeatTicks = positiveInteger('heartbeatTicks', params.heartbeatTicks, heartbeatTicksDefault(electionTicks));
  if (heartbeatTicks >= electionTicks) throw invalidArgument(api, `heartbeatTicks (${heartbeatTicks}) must be less than electionTicks (${electionTicks})`);
  const table = customQuorum(params.checkQuorum, voters.map((v) => v.id));
  const messageBytesMax = isSharedNetwork(network) ? undefined : network.config.frameBytesMax;
  // Left out, syncMsgSize is its default or what one message can carry, whichever is smaller.
  const syncMsgSize = positiveInteger('syncMsgSize', params.syncMsgSize, Math.min(syncMsgSizeDefault, (messageBytesMax ?? Infinity) - raftMessageOverheadBytes));
  if (syncMsgSize > syncMsgSizeMax) throw invalidArgument(api, `syncMsgSize must be at most ${syncMsgSizeMax} bytes, got ${syncMsgSize}`);
  if (messageBytesMax !== undefined && syncMsgSize > messageBytesMax - raftMessageOverheadBytes) {
    // A state-transfer frame that no message can carry would leave a lagging node unable ever to catch up.
    throw invalidArgument(api, `syncMsgSize (${syncMsgSize}) must leave room for a message's envelope in tcp.frameBytesMax (${messageBytesMax}): at most ${messageBytesMax - raftMessageOverheadBytes}`);
  }
  return {
    self: voters[params.nodeId]!.id, voters, arbiter, schema: arbiter ? undefined : params.schema, window,
    clusterSendBuf: positiveInteger('clusterSendBuf', params.clusterSendBuf, clusterSendBufDefault), quorumTable: table,
    clusterRecvBuf: positiveInteger('clusterRecvBuf', params.clusterRecvBuf, clusterRecvBufDefault),
    transLogLength: positiveInteger('transLogLength', params.transLogLength, transLogLengthDefault),
    transLogSize: positiveInteger('transLogSize', params.transLogSize, transLogSizeDefault),
    syncMsgObjects: positiveInteger('syncMsgObjects', params.syncMsgObjects, syncMsgObjectsDefault), syncMsgSize,
    host: params.host ?? 'inline', network, messageBytesMax, dataDir: params.dataDir, log: params.log,
    // The committer lets go of a write pending this long by an actor timer: no longer than any timer takes.
    writeTimeoutMs: atMost('writeTimeoutMs', positiveInteger('writeTimeoutMs', params.writeTimeoutMs, writeTimeoutMsDefault), timerDelayMsMax, 'timerDelayMsMax, 24 h'),
    stopTimeoutMs: positiveInteger('stopTimeoutMs', params.stopTimeoutMs, stopTimeoutMsDefault),
    actorHeapMb: atLeast('actorHeapMb', positiveInteger('actorHeapMb', params.actorHeapMb, actorHeapMbDefault), actorHeapMbMin),
    modeMask: resolveModeMask(params.modeMask),
    tickMs: positiveInteger('tickMs', params.tickMs, 10), electionTicks, heartbeatTicks,
  };
}

const modeFlags = ['debugOutput', 'earlyDataSend', 'binaryEvolution', 'startDetached'] as const;

function resolveModeMask(mask: unknown): Required<ModeMask> {
  if (mask === undefined) return { debugOutput: false, earlyDataSend: false, binaryEvolution: false, startDetached: false };
  if (typeof mask !== 'object' || mask === null) throw invalidArgument(api, `modeMask must be an object of flags (${modeFlags.join(', ')})`);
  for (const [key, value] of Object.entries(mask)) {
    if (!(modeFlags as readonly string[]).includes(key)) throw invalidArgument(api, `modeMask.${key} is not a mode; the modes are ${modeFlags.join(', ')}`);
    if (typeof value !== 'boolean') throw invalidArgument(api, `modeMask.${key} must be a boolean`);
  }
  const m = mask as ModeMask;
  return { debugOutput: m.debugOutput === true, earlyDataSend: m.earlyDataSend === true, binaryEvolution: m.binaryEvolution === true, startDetached: m.startDetached === true };
}

function resolveNetwork(params: NodeParams, voters: readonly { readonly id: string }[]): ClusterNetwork | ResolvedTcp {
  if (params.nwType === 'tcp') {
    if (params.network !== undefined) throw invalidArgument(api, "network is for nwType 'local'; with nwType 'tcp' give tcp");
    return resolveTcp(params.tcp, voters[params.nodeId]!.id, voters, params.log);
  }
  if (params.tcp !== undefined) throw invalidArgument(api, "tcp is for nwType 'tcp'");
  if (typeof params.network?.outbound !== 'function') throw invalidArgument(api, "network must be an InProcessNetwork shared by the nodes (nwType 'local')");
  return params.network;
}

/** True when `network` is one the node shares with others in this process, false when it opens its own. */
export function isSharedNetwork(network: ClusterNetwork | ResolvedTcp): network is ClusterNetwork {
  return typeof (network as ClusterNetwork).outbound === 'function';
}

function customQuorum(rule: unknown, ids: readonly string[]): Uint8Array | undefined {
  if (rule === undefined) return undefined;
  if (typeof rule !== 'function') throw invalidArgument(api, 'checkQuorum must be a function (nodeIds) => boolean');
  if (ids.length > customQuorumVotersMax) throw invalidArgument(api, `checkQuorum works with at most ${customQuorumVotersMax} nodes (it is checked over every subset at open); this cluster has ${ids.length}`);
  const table = quorumTable(ids, rule as (nodeIds: readonly string[]) => boolean);
  const problem = quorumTableProblem(ids, table);
  if (problem !== undefined) throw invalidArgument(api, `checkQuorum is not a safe quorum rule: ${problem}`);
  return table;
}

/** The leader's heartbeat interval in ticks when not given: a third of the election timeout, at least one. */
export function heartbeatTicksDefault(electionTicks: number): number {
  return Math.max(1, Math.floor(electionTicks / 3));
}
