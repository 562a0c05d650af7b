import type { Message } from './actor.js';

/**
 * Stable storage for one actor: an append-only journal of records, durable once `sync` has returned.
 * Synchronous on purpose: the actor that needs it (the replicator) must persist before it sends, and a
 * synchronous journal lets it do so inside one `receive` without leaving the mailbox discipline. It runs
 * in the actor's own worker under the thread host, so blocking there blocks nothing else.
 *
 * Hosts provide it: files under `journalDir` (file-journal.ts) on the thread and inline hosts, memory that
 * survives simulated crashes (and loses what was not synced) under the simulator.
 */
export interface Journal {
  /** The records that were durable when the actor started, in append order (until releaseRecovered). */
  readonly recovered: readonly Uint8Array[];
  /** Where it lives, for messages (a file journal: its path). */
  readonly path?: string | undefined;
  /** What the recovery cut off the end (a torn or unsynced tail), to be logged; undefined when nothing was. */
  readonly tailCut?: { readonly offset: number; readonly bytes: number; readonly reason: string } | undefined;
  /** The actor has replayed `recovered`: the journal lets go of it (it held the whole journal as it was at start). */
  releaseRecovered?(): void;
  /** Copies `record` before it returns (the caller may reuse its buffer: raft-journal.ts does). */
  append(record: Uint8Array): void;
  /** Returns once every record appended so far is durable. */
  sync(): void;
  /**
   * Optional (journals on a real disk): makes every record appended so far durable in the background and
   * then delivers `message` to the journal's actor as from itself (like a timer's message; with a
   * `failed` reason added if the disk refused). Requests made while a sync is under way share the next
   * one (group commit). A rewrite carries the requests made before it over to the next request after it
   * (the records they were waiting for are then in the rewritten journal or appended again after it).
   * Without it, callers use sync().
   */
  readonly syncThen?: ((message: Message) => void) | undefined;
  /**
   * Replaces the whole journal with `records`, atomically: after a crash it holds either the old records
   * or exactly these, never a mix. Durable on return. (Compaction: a state image and the log after it.)
   */
  rewrite(records: readonly Uint8Array[]): void;
}
