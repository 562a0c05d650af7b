/**
 * What one cluster node is made of, for every host (thread, inline, simulator): the actor spec, and the
 * application-side step that certifies and applies committed change-sets to the node's tables.
 * ClusterNode and the simulator's cluster harness both build nodes from here, so they run the same thing.
 */
import type { NodeSpec } from '../runtime/actor.js';
import { REPLICATOR, replicator } from '../actors/replicator.js';
import type { ImageTaken, ImageWanted } from '../actors/replicator.js';
import { imageDigest } from '../cluster/raft/image-digest.js';
import { windowFlusher } from '../actors/window-flusher.js';
import type { Window } from '../actors/window-flusher.js';
import { committer } from '../actors/committer.js';
import { LISTENER, listener } from '../actors/listener.js';
import { WATCHER, quorumWatcher } from '../actors/quorum-watcher.js';
import type { ApplyEntries } from '../actors/committer.js';
import type { Store, ApplyResult } from '../store/store.js';
import type { ChangeSet } from '../store/changeset.js';
import { decodeChangeSet } from '../store/changeset.js';
import { IncompatibleSchemaError, StoreError } from '../store/errors.js';
import type { SchemaDef } from '../store/schema.js';
import { ChorusError } from '../runtime/errors.js';
import { assert } from '../runtime/assert.js';
import { peerSilenceElectionTimeouts, raftAppendBytesMax, raftAppendEntriesMax, raftInflightAppendsMax, raftMessageOverheadBytes, windowBufferBytesMax } from '../limits.js';

export const COMMITTER = 'committer';
export const FLUSHER = 'flusher';
export { REPLICATOR, LISTENER, WATCHER };

export interface NodeShape {
  readonly self: string;
  readonly voters: readonly { readonly id: string; readonly qrank: number }[];
  readonly window: Window;
  readonly clusterSendBuf: number;
  readonly clusterRecvBuf: number;
  /** How long a write waits for its commit: the committer lets go of one pending longer. */
  readonly writeTimeoutMs: number;
  /** transLogLength, transLogSize, syncMsgObjects, syncMsgSize (see params.ts). */
  readonly transLogLength: number;
  readonly transLogSize: number;
  readonly syncMsgObjects: number;
  readonly syncMsgSize: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** A custom quorum rule, tabled over subsets of `voters` (src/cluster/raft/custom-quorum.ts). */
  readonly quorumTable?: Uint8Array | undefined;
  /** modeMask.startDetached: the replicator stands still until attach. */
  readonly startDetached?: boolean;
  /** The largest message the network carries (TCP's frameBytesMax); undefined when unbounded. */
  readonly messageBytesMax?: number | undefined;
  /** TCP's clusterName, part of the journal's identity (raft-journal.ts, JournalIdentity). */
  readonly clusterName?: string | undefined;
}

export function clusterNodeSpec(p: NodeShape): NodeSpec {
  const peers = p.voters.map((v) => v.id).filter((id) => id !== p.self);
  // What one message may carry beside its envelope: one log entry (a window batch: the window's buffer)
  // and one append's entries must fit it, or they could never reach a peer (syncMsgSize is checked at open).
  const room = p.messageBytesMax === undefined ? Number.POSITIVE_INFINITY : p.messageBytesMax - raftMessageOverheadBytes;
  // Watcher heartbeats twice per election timeout: a peer is called silent after three timeouts, so
  // after about six missed; every 20 ms instead (four per timeout) was a fifth of an idle node's CPU.
  const watcherHeartbeatMs = p.tickMs * Math.max(p.heartbeatTicks, Math.floor(p.electionTicks / 2));
  return {
    node: p.self,
    actors: [
      { name: LISTENER, kind: listener, params: { peers, watcher: WATCHER } },
      {
        name: WATCHER, kind: quorumWatcher,
        params: { voters: p.voters, quorumTable: p.quorumTable, heartbeatMs: watcherHeartbeatMs, silenceMsMax: p.tickMs * p.electionTicks * peerSilenceElectionTimeouts, committer: COMMITTER },
      },
      {
        name: REPLICATOR, kind: replicator,
        params: { voters: p.voters, tickMs: p.tickMs, electionTicks: p.electionTicks, heartbeatTicks: p.heartbeatTicks, preVote: true, checkQuorum: true, appendEntriesMax: raftAppendEntriesMax, appendBytesMax: Math.min(raftAppendBytesMax, room), inflightAppendsMax: raftInflightAppendsMax, applyTo: COMMITTER, watcher: WATCHER, quorumTable: p.quorumTable,
          logTransactionsRetained: p.transLogLength, logBytesRetained: p.transLogSize, forwardedBytesMax: p.clusterRecvBuf, imageFrameRowsMax: p.syncMsgObjects, imageFrameBytesMax: p.syncMsgSize, startDetached: p.startDetached === true,
          identity: { node: p.self, nodes: p.voters.map((v) => v.id), cluster: p.clusterName } },
      },
      { name: FLUSHER, kind: windowFlusher, params: { window: p.window, replicator: REPLICATOR, replyTo: COMMITTER, bufferBytesMax: Math.min(windowBufferBytesMax, room) } },
      { name: COMMITTER, kind: committer, params: { flusher: FLUSHER, pendingBytesMax: p.clusterSendBuf, pendingMsMax: p.writeTimeoutMs } },
    ],
  };
}

/** The replicator asked for an image of the tables as they are now (after every entry it handed on). */
export function takeImage(store: Store, wanted: ImageWanted): ImageTaken {
  const frames = [...store.snapshot({ frameRowsMax: wanted.frameRowsMax, frameBytesMax: wanted.frameBytesMax })];
  return { type: 'imageTaken', index: wanted.index, frames, digest: imageDigest(frames) };
}

/**
 * A committed change-set this node cannot read: written with another schema that it has not learned
 * (modeMask.binaryEvolution off, on either side) or cannot convert. Every node that can read it applies
 * it, so skipping it here would make this node diverge: the node stops instead.
 */
export class CannotFollowError extends ChorusError {
  override readonly name = 'CannotFollowError';
  constructor(self: string, origin: string, index: number, cause: IncompatibleSchemaError) {
    super('INCOMPATIBLE_SCHEMA', `node ${self} stopped: it cannot apply a committed write from ${origin} (log index ${index} or later) (${cause.message}); it would diverge from the nodes that can. Give every node the same schema, or set modeMask.binaryEvolution on every node for compatible schemas`);
  }
}

/** Schemas a store learned from the log (binaryEvolution), by fingerprint: learnSchema once per schema, not per write. */
const learned = new WeakMap<Store, Set<string>>();

/**
 * Certifies and applies committed change-sets in log order, exactly as every other node does, and
 * reports the outcome of this node's own ones. `after` is the log index the tables hold (the last
 * applied, or the image restored): a batch must start right after it, or entries were lost on the way
 * and applying it would leave this node's tables silently different from every other node's (assert). Apply is deterministic and atomic: a store error
 * (CONFLICT, UNIQUE, ...) rejects that change-set on every node alike and stores nothing of it — except
 * INCOMPATIBLE_SCHEMA, which depends on this node's schema: CannotFollowError then. Anything else is a
 * bug and is thrown. A payload carrying its writer's schema (binaryEvolution) teaches it to the store first.
 *
 * Change-sets arrive as bytes; `local` gives this node's own writes, when these are their very bytes, as
 * the objects it made (their certification is prepared already), and any other is decoded here, once (CORRUPT, on every node
 * alike, if its bytes are not a change-set).
 */
export function applyCommitted(
  store: Store,
  self: string,
  entries: ApplyEntries,
  after: number,
  settle: (id: number, encoded: Uint8Array, result: ApplyResult | undefined, error: StoreError | undefined) => void,
  local: (id: number, encoded: Uint8Array) => ChangeSet | undefined,
): { applied: number; rejected: number; remoteApplied: number; remoteRejected: number } {
  assert(entries.from === after + 1, `node ${self} was handed committed entries from log index ${entries.from} with its tables at ${after}: ${entries.from > after + 1 ? `entries ${after + 1} to ${entries.from - 1} were lost on the way` : 'entries handed on twice'}; applying them would leave its tables different from the other nodes'`);
  let applied = 0;
  let rejected = 0;
  let remoteApplied = 0;
  let remoteRejected = 0;
  for (const payload of entries.payloads) {
    let result: ApplyResult | undefined;
    let failure: StoreError | undefined;
    try {
      const changeSet = (payload.origin === self ? local(payload.id, payload.changeSet) : undefined) ?? decodeChangeSet(payload.changeSet, payload.origin);
      if (payload.schema !== undefined && store.evolution && changeSet.schema !== store.schema.fingerprint) {
        const known = learned.get(store) ?? learned.set(store, new Set()).get(store)!;
        if (!known.has(changeSet.schema)) {
          store.learnSchema(payload.schema as SchemaDef); // INCOMPATIBLE_SCHEMA when it cannot be converted
          known.add(changeSet.schema);
        }
      }
      result = store.apply(changeSet);
      applied++;
    } catch (error) {
      if (error instanceof IncompatibleSchemaError) throw new CannotFollowError(self, payload.origin, entries.index, error);
      if (!(error instanceof StoreError)) throw error;
      rejected++;
      failure = error;
    }
    if (payload.origin === self) settle(payload.id, payload.changeSet, result, failure);
    else if (failure === undefined) remoteApplied++;
    else remoteRejected++;
  }
  return { applied, rejected, remoteApplied, remoteRejected };
}
