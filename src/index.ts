/**
 * chorusdb's public entry point. Today: the actor runtime on its three hosts (the simulator host is
 * exported from `chorusdb/simulate`). The database API arrives with the store and cluster work.
 */
export type {
  Actor, ActorContext, ActorKind, ActorSpec, Address, LogLevel, LogRecord, Logger, Message, NodeSpec, SendResult, TimerId,
} from './runtime/actor.js';
export { APP, defineActor, formatAddress, sameAddress } from './runtime/actor.js';
export { AssertionError, assert, assertNever } from './runtime/assert.js';
export type { ChorusErrorCode, FailureReason } from './runtime/errors.js';
export { ActorFailedError, ChorusError, MailboxFullError, NoRouteError, StoppedError } from './runtime/errors.js';
export type { HostEvents, HostOptions, HostState, HostStats, NodeHost, StopReason } from './runtime/host.js';
export { startInlineNode } from './runtime/inline-host.js';
export { startThreadNode } from './runtime/thread/thread-host.js';
export * as limits from './limits.js';
// Store (issue 3): schema'd tables, transactions, change-sets, snapshots, transaction log.
export * from './store/index.js';
export type { NodeAddress, NodeParams } from './node/params.js';
export type { NodeEvents, NodeInfo, WriteOptions } from './node/cluster-node.js';
export { ClusterNode, openNode } from './node/cluster-node.js';
export { InProcessNetwork } from './transport/in-process.js';
export type { TcpNodeParams } from './node/tcp.js';
export type { SslParams } from './transport/tcp/index.js';
/** The client key of a cluster secret: what chorusdb/client's connect takes (docs/client.md). */
export { clientKeyFor } from './transport/tcp/keys.js';
export type { Window } from './actors/window-flusher.js';
