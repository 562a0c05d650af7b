/**
 * The committer actor: the node's gate between the application's transactions and the replicated log.
 * The application runs a transaction body against its local tables (phase 1: validation) and hands the
 * committer the resulting change-set; the committer bounds what is in flight, hands it to the window
 * flusher, fails it fast when the quorum watcher says this node's side holds no quorum or the replicator
 * refuses it (no leader) — both NO_QUORUM, with nothing of it in the log — or the window refuses it
 * (OVERLOADED), and passes committed entries back to the application in log order, where the tables
 * certify and apply them (the store's certification is deterministic, so every node decides alike).
 *
 * Invariants: pending bytes never exceed `pendingBytesMax` (the seeds' `clusterSendBuf`); every commit
 * request gets exactly one answer from here (refused) or from the log (applied) — or the application's
 * own timeout when the log loses it (a leader change can, and so can a network that drops a forwarded
 * proposal). A write pending for `pendingMsMax` (the application's writeTimeoutMs, counted from its
 * arrival here, so never before the application gave up on it) is let go: its bytes would otherwise be
 * held for ever, and an idle node would refuse writes OVERLOADED.
 *
 * What goes to the application goes in order, and none of it is dropped: a committed entry not applied
 * there would leave the node's tables silently behind every other node's. When the application's
 * mailbox is full (its thread busy), messages wait here, in order, and go again every
 * `committerRetryMs`; past `committerHeldMessagesMax` waiting, the node fails (assert) rather than
 * skip an entry.
 */
import { fromAnotherNode } from './peer-guards.js';
import type { Address } from '../runtime/actor.js';
import { APP, defineActor } from '../runtime/actor.js';
import { assert, assertNever } from '../runtime/assert.js';
import type { TimerId } from '../runtime/actor.js';
import { committerHeldMessagesMax, committerRetryMs } from '../limits.js';
import type { Committed, ImageWanted, MembershipDone, ProposeRefused, ReadFailed, ReadReady, Recovered, Restore, Synced } from './replicator.js';
import type { Overloaded, Submit } from './window-flusher.js';
import type { QuorumChanged } from './quorum-watcher.js';
import type { LogPayload } from './log-payload.js';
import { commandPayloads, logItemOverheadBytes, pushPayloads } from './log-payload.js';

export interface CommitRequest {
  readonly type: 'commit';
  readonly id: number;
  /** The change-set's bytes (encodeChangeSet); `bytes` counts them and the schema's. */
  readonly changeSet: Uint8Array;
  readonly bytes: number;
  /** The writer's schema definition, carried in the log entry (modeMask.binaryEvolution). */
  readonly schema?: unknown;
}
/** To the application: these commits were not taken; nothing of them is in the log. */
export interface CommitRefused {
  readonly type: 'commitRefused';
  readonly ids: readonly number[];
  readonly code: 'NO_QUORUM' | 'OVERLOADED';
  readonly reason: string;
  /**
   * The side holds a quorum but no leader is known right now (an election or a transfer is under way):
   * submitting the same change-set again once a leader is known may well succeed.
   */
  readonly retryable: boolean;
}
/** To the application: committed entries, in log order, to certify and apply. */
export interface ApplyEntries {
  readonly type: 'apply';
  /** The log index of the first entry handed on (commands or not): right after the last one applied. */
  readonly from: number;
  /** The log index of the first payload (a window batch's payloads share their entry's index). */
  readonly index: number;
  /**
   * The log index of the last entry handed on, commands or not: a batch may end with (or be only) a new
   * leader's noop or a membership entry, and a cluster-wide stop waits for the tables to hold the index
   * the replicator handed on (`payloads` is then empty).
   */
  readonly last: number;
  readonly payloads: readonly LogPayload[];
}
/** What the committer tells the application, in order. */
type ToApplication = CommitRefused | ApplyEntries | Recovered | ImageWanted | Restore | Synced | ReadReady | ReadFailed | MembershipDone;
/** Timers: pending writes past their deadline are let go; messages held for the application go again. */
interface Expire {
  readonly type: 'expire';
}
interface Retry {
  readonly type: 'retryApp';
}
export type CommitterMessage = CommitRequest | Committed | ProposeRefused | Overloaded | Recovered | ImageWanted | Restore | Synced | QuorumChanged | ReadReady | ReadFailed | MembershipDone | Expire | Retry;

export interface CommitterParams {
  readonly flusher: string;
  readonly pendingBytesMax: number;
  /** How long a write is held pending (the application's writeTimeoutMs). */
  readonly pendingMsMax: number;
}

export const committer = defineActor<CommitterMessage, CommitterParams>({
  kind: 'chorus/committer',
  module: import.meta.url,
  create(ctx, params) {
    const origin = ctx.self.node;
    const app: Address = { node: origin, actor: APP };
    const flusher: Address = { node: origin, actor: params.flusher };
    /** Pending writes by id, in arrival order and so in deadline order. */
    const pending = new Map<number, { readonly bytes: number; readonly deadline: number }>();
    let pendingBytes = 0;
    /** One timer for every pending write, armed for the oldest deadline (as the application's WriteCore does). */
    let expiry: TimerId | undefined;
    /** Messages for the application that wait for room in its mailbox, in order. */
    let held: ToApplication[] = [];
    let retry: TimerId | undefined;
    /** What the quorum watcher last said (it tells at start): a side without quorum refuses writes at once. */
    let quorum: QuorumChanged = { type: 'quorum', hasQuorum: false, reason: 'the quorum watcher has not reported yet' };
    /** Until the first quorum after start, a refusal is worth retrying: the peers are still being heard from. */
    let starting = true;
    const release = (id: number) => {
      const write = pending.get(id);
      if (write === undefined) return false;
      pending.delete(id);
      pendingBytes -= write.bytes;
      return true;
    };
    const expire = () => {
      expiry = undefined;
      const now = ctx.now();
      for (const [id, write] of pending) {
        if (write.deadline > now) {
          expiry = ctx.setTimer(write.deadline - now, { type: 'expire' } satisfies Expire);
          return;
        }
        release(id); // the application has given up on it (TIMEOUT): a commit of it later finds nothing
      }
    };
    /** Sends what waits for the application, in order, as far as its mailbox takes it. */
    const flushHeld = () => {
      let sent = 0;
      for (; sent < held.length; sent++) {
        const error = ctx.send(app, held[sent]!);
        if (error?.code === 'MAILBOX_FULL') break;
        if (error !== undefined) {
          sent = held.length; // the node is stopping: nothing more will be applied there
          break;
        }
      }
      held = sent === held.length ? [] : held.slice(sent);
      if (held.length > 0) retry ??= ctx.setTimer(committerRetryMs, { type: 'retryApp' } satisfies Retry);
    };
    const toApp = (message: ToApplication) => {
      if (held.length === 0 && ctx.send(app, message)?.code !== 'MAILBOX_FULL') return; // STOPPED: the node is stopping
      assert(held.length < committerHeldMessagesMax, `committer: ${committerHeldMessagesMax} messages wait for the application's mailbox (committerHeldMessagesMax); its thread has not taken any for too long, and skipping a committed entry would leave this node's tables behind the others'`);
      held.push(message);
      retry ??= ctx.setTimer(committerRetryMs, { type: 'retryApp' } satisfies Retry);
    };
    const refuse = (ids: number[], code: CommitRefused['code'], reason: string, retryable = false) => {
      const mine = ids.filter(release);
      if (mine.length > 0) toApp({ type: 'commitRefused', ids: mine, code, reason, retryable } satisfies CommitRefused);
    };
    /** This node's transactions among proposals handed back (each a transaction or a window batch). */
    const ownIds = (payloads: readonly unknown[]) => payloads.flatMap(commandPayloads).filter((p) => p.origin === origin).map((p) => p.id);
    /** What a transaction takes in its entry beyond its change-set: the window bounds batches by it. */
    const itemOverhead = logItemOverheadBytes(origin);

    return {
      receive(message, from) {
        if (fromAnotherNode(ctx.log, origin, message, from)) return; // no other node talks to the committer
        switch (message.type) {
          case 'commit':
            if (!quorum.hasQuorum) {
              toApp({ type: 'commitRefused', ids: [message.id], code: 'NO_QUORUM', reason: `this node's side of the cluster has no quorum: ${quorum.reason}`, retryable: starting } satisfies CommitRefused);
              return;
            }
            if (pendingBytes + message.bytes > params.pendingBytesMax) {
              toApp({ type: 'commitRefused', ids: [message.id], code: 'OVERLOADED', reason: `${pendingBytes} bytes are waiting for commit (clusterSendBuf ${params.pendingBytesMax})`, retryable: false } satisfies CommitRefused);
              return;
            }
            if (!pending.has(message.id)) {
              // A write sent again (its leader went away) is counted once, and keeps its first deadline.
              pending.set(message.id, { bytes: message.bytes, deadline: ctx.now() + params.pendingMsMax });
              pendingBytes += message.bytes;
              expiry ??= ctx.setTimer(params.pendingMsMax, { type: 'expire' } satisfies Expire);
            }
            const item: LogPayload = message.schema === undefined ? { origin, id: message.id, changeSet: message.changeSet } : { origin, id: message.id, changeSet: message.changeSet, schema: message.schema };
            const error = ctx.send(flusher, { type: 'submit', item, bytes: message.bytes + itemOverhead } satisfies Submit);
            // Not taken (the flusher's mailbox is full): nothing of this copy went anywhere.
            if (error !== undefined) refuse([message.id], 'OVERLOADED', `write not taken: ${error.message}`);
            return;
          case 'overloaded':
            refuse(ownIds([message.item]), 'OVERLOADED', `a transaction of more than ${message.bufferBytesMax} bytes does not fit one log entry (the window's buffer, at most what one network message carries: tcp.frameBytesMax)`);
            return;
          case 'proposeRefused':
            if (message.reason === 'overloaded') {
              refuse(ownIds(message.payloads), 'OVERLOADED', `write not taken: ${message.detail ?? 'the leader is overloaded'}`);
              return;
            }
            refuse(ownIds(message.payloads), 'NO_QUORUM', message.reason === 'noLeader' ? 'this node knows no leader (an election is under way, or its side has no quorum)' : 'leadership is being transferred', quorum.hasQuorum);
            return;
          case 'committed': {
            let first = -1;
            const payloads: LogPayload[] = [];
            for (const entry of message.entries) {
              if (entry.data.kind !== 'command') continue;
              if (first < 0) first = entry.index;
              const from = payloads.length;
              pushPayloads(entry.data.payload, payloads);
              for (let i = from; i < payloads.length; i++) if (payloads[i]!.origin === origin) release(payloads[i]!.id);
            }
            const last = message.entries.at(-1)?.index;
            if (last !== undefined) toApp({ type: 'apply', from: message.entries[0]!.index, index: first < 0 ? last : first, last, payloads } satisfies ApplyEntries);
            return;
          }
          case 'expire':
            expire();
            return;
          case 'retryApp':
            retry = undefined;
            flushHeld();
            return;
          case 'quorum':
            quorum = message;
            if (quorum.hasQuorum) starting = false;
            return;
          case 'recovered': // after every apply it follows: the application may serve reads now
          case 'imageWanted': // in order with the applies: the image is of the tables after them
          case 'restore':
          case 'synced':
          case 'readReady': // in order with the applies: the tables hold what the read must see
          case 'readFailed':
          case 'membership': // in order with the applies: the node is out (or back in) after them
            toApp(message);
            return;
          default:
            assertNever(message, 'committer message');
        }
      },
    };
  },
});
