/**
 * A Journal in memory for the simulator. It survives a simulated crash of its node; the crash keeps the
 * synced records and, of those appended since the last sync, a random prefix (some writes reach the
 * disk without fsync, the rest are lost; none, when a power loss drops unsynced tails: sim-journals.ts); the first record after that prefix may be torn: written in
 * part, or whole in length with its last bytes never written. Reopening recovers a torn tail as
 * FileJournal does — the same FrameReader over the framed bytes (`[u32 length][u32 crc32][payload]`):
 * whole checksummed frames are records, a torn frame at the end is cut off.
 *
 * With `sync` alone, the replicator syncs at the end of every Ready, so unsynced records exist only inside
 * a receive: the simulator makes them matter by crashing a node inside a sync (`crashArmed`, SimulatedCrash).
 *
 * Background sync (syncThen, offered when the host gives `deliver`): FileJournal's contract on virtual time.
 * A sync takes a delay drawn from the run's rng; a request made while one runs waits for the next, which
 * covers every record appended by then (group commit); `synced` advances only when a sync completes, so a
 * crash before then may lose or tear what it covers; a rewrite carries the waiting requests over to the
 * next request after it. An armed crash that meets a request strikes at a random moment before the sync
 * under way completes; one that meets a rewrite leaves the old records or the new ones, whole (atomic).
 *
 * Records are copied on append, as a file keeps what was written whatever the caller does with its
 * buffer afterwards. The copies go into slabs (one allocation per slab, not one ArrayBuffer per record,
 * which was 2% of a 5-node run); a slab is never written twice, so a record, or a view a decoder kept of
 * it, stays valid however the journal changes afterwards. A record is kept as where it lies (its slab,
 * offset and length), not as a view: views are made only for what a reopen recovers. A view per record
 * lived until the next image, long enough to be copied by the young-generation collector and promoted:
 * a tenth of what a 5-node run promoted (sampled), for records hardly ever read.
 */
import type { Journal } from '../src/runtime/journal.js';
import type { Message } from '../src/runtime/actor.js';
import type { Rng } from './rng.js';

import { simBackgroundSlowSyncChance, simBackgroundSlowSyncMs, simBackgroundSyncMs, simJournalSlabBytes, simJournalTornChance, simRewriteCrashKeepsOldChance } from './limits.js';
import { frame } from '../src/store/codec.js';
import { FrameReader } from '../src/store/frames.js';

export { simJournalSlabBytes };

/** Thrown by `sync` when the node is to crash mid-write; the simulator crashes the node (not an actor failure). */
export const simulatedCrash: Error = Object.freeze(Object.assign(Object.create(Error.prototype) as Error, { name: 'SimulatedCrash', message: 'the node crashed during a journal sync' }));

/** What a SimJournal needs of the simulator beyond its records (absent in unit tests of the records alone). */
export interface SimJournalHost {
  /** The run's rng: how long each background sync takes, where an armed crash strikes. */
  readonly rng: Rng;
  /** Virtual milliseconds now. */
  nowMs(): number;
  /** Runs `call` `delayMs` virtual milliseconds from now (a background sync completing). */
  after(delayMs: number, call: () => void): void;
  /** The node crashes `delayMs` from now, if it is still up and armed (a crash inside a background sync). */
  crashIn(delayMs: number): void;
  /** While the node's disk stalls (a power loss is coming): the range every background sync it starts takes. */
  stalledSyncMs?(): readonly [number, number] | undefined;
  /** Present when the journal offers syncThen: hands a message to the journal's actor, as a host's `deliver` does. */
  readonly deliver?: ((message: Message) => void) | undefined;
}

/** A background sync under way: the appends and records it covers, and when it completes. */
interface BackgroundSync {
  readonly upTo: number;
  readonly records: number;
  readonly doneAtMs: number;
  /** The journal was rewritten meanwhile: it completes having made nothing durable that counts. */
  stale: boolean;
}

export class SimJournal implements Journal {
  /** Record i is slabOf[i].subarray(offsetOf[i], offsetOf[i] + lengthOf[i]). */
  private slabOf: Uint8Array[] = [];
  private offsetOf: number[] = [];
  private lengthOf: number[] = [];
  private synced = 0;
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  /** A torn last record (framed bytes, in part), cut off when the journal reopens. */
  private tail: Uint8Array | undefined;
  recovered: readonly Uint8Array[] = [];
  /** Crashes that tore a record, and torn frames the recovery cut off (for tests and reports). */
  readonly torn = { made: 0, cut: 0 };
  /** Armed crashes that struck inside a background sync, and inside a rewrite (for tests and reports). */
  readonly crashes = { inBackgroundSync: 0, inRewrite: 0 };
  /** Records appended since the journal was made (syncThen's sequence numbers; a crash does not rewind it). */
  private appended = 0;
  /** syncThen requests: the appends each waits for, in order. */
  private waiting: { readonly upTo: number; readonly message: Message }[] = [];
  /** Requests from before a rewrite, released with the next request after it. */
  private carried: Message[] = [];
  private syncing: BackgroundSync | undefined;
  /** An armed crash is on its way (crashIn): counted once. */
  private crashComing = false;

  /**
   * `crashArmed(write)` true makes this sync throw `simulatedCrash` before anything it covers is durable,
   * this rewrite throw it before or after its records replace the old ones, and this syncThen request
   * crash the node (through `host`) before the sync it waits on completes.
   */
  constructor(
    private readonly crashArmed: (write: 'sync' | 'rewrite') => boolean = () => false,
    private readonly host?: SimJournalHost,
  ) {}

  append(record: Uint8Array): void {
    this.copy(record);
    this.appended++;
  }

  sync(): void {
    if (this.crashArmed('sync')) throw simulatedCrash;
    this.synced = this.slabOf.length;
  }

  get syncThen(): ((message: Message) => void) | undefined {
    return this.host?.deliver === undefined ? undefined : this.requestSync;
  }

  private readonly requestSync = (message: Message): void => {
    for (const carried of this.carried) this.waiting.push({ upTo: this.appended, message: carried });
    this.carried = [];
    this.waiting.push({ upTo: this.appended, message });
    const sync = this.syncing ?? this.startSync();
    if (!this.crashArmed('sync') || this.crashComing) return;
    // Power fails while the disk is at it: before the sync under way (and so the one this waits on) completes.
    this.crashComing = true;
    this.crashes.inBackgroundSync++;
    this.host!.crashIn(this.host!.rng.next() * (sync.doneAtMs - this.host!.nowMs()));
  };

  private startSync(): BackgroundSync {
    const host = this.host!;
    const durationMs = backgroundSyncMs(host.rng, host.stalledSyncMs?.());
    const sync: BackgroundSync = { upTo: this.appended, records: this.slabOf.length, doneAtMs: host.nowMs() + durationMs, stale: false };
    this.syncing = sync;
    host.after(durationMs, () => this.syncDone(sync));
    return sync;
  }

  private syncDone(sync: BackgroundSync): void {
    if (this.syncing !== sync) return; // the node crashed meanwhile: this sync never completed
    this.syncing = undefined;
    if (!sync.stale) {
      this.synced = Math.max(this.synced, sync.records);
      while (this.waiting.length > 0 && this.waiting[0]!.upTo <= sync.upTo) this.host!.deliver!(this.waiting.shift()!.message);
    }
    if (this.waiting.length > 0) this.startSync();
  }

  rewrite(records: readonly Uint8Array[]): void {
    const crashing = this.crashArmed('rewrite');
    if (crashing) this.crashes.inRewrite++;
    // A crash before the rename: the old journal, as any crash leaves it.
    if (crashing && this.host?.rng.chance(simRewriteCrashKeepsOldChance) === true) throw simulatedCrash;
    this.truncate(0);
    for (const record of records) this.copy(record);
    this.synced = this.slabOf.length;
    if (this.syncing !== undefined) this.syncing.stale = true;
    for (const waiting of this.waiting) this.carried.push(waiting.message);
    this.waiting = [];
    if (crashing) throw simulatedCrash; // after the rename: the new records, whole
  }

  /** Whether a background sync is under way (a crash now means it never completes). */
  get syncUnderWay(): boolean {
    return this.syncing !== undefined;
  }

  /**
   * The node crashed: unsynced records may be lost (all of them with `dropUnsynced`, else a random
   * prefix survives), and the first one lost may be torn instead.
   */
  crash(rng: Rng, dropUnsynced = false): void {
    const count = this.slabOf.length;
    const kept = dropUnsynced ? this.synced : this.synced + rng.int(count - this.synced + 1);
    const tear = rng.chance(simJournalTornChance);
    const cut = rng.next();
    this.tail = tear && kept < count ? tornFrame(frame(this.record(kept)), cut) : undefined;
    if (this.tail !== undefined) this.torn.made++;
    this.truncate(kept);
    this.synced = kept;
    // The process is gone: its requests with it, and a sync under way never completes.
    this.syncing = undefined;
    this.waiting = [];
    this.carried = [];
    this.crashComing = false;
  }

  /** The node restarts: what survived is what the actor recovers (a torn tail read, and cut off, as FileJournal does). */
  reopen(): void {
    const tail = this.tail === undefined ? [] : recoverTail(this.tail);
    if (this.tail !== undefined && tail.length === 0) this.torn.cut++;
    this.tail = undefined; // FileJournal truncates the file to its whole frames
    for (const record of tail) this.copy(record);
    this.synced = this.slabOf.length;
    this.recovered = this.slabOf.map((_, i) => this.record(i));
  }

  releaseRecovered(): void {
    this.recovered = [];
  }

  get bytes(): number {
    return this.lengthOf.reduce((sum, length) => sum + length, 0);
  }

  /** A view of record `i` (the bytes stay where they are: a slab is never written twice). */
  private record(i: number): Uint8Array {
    const offset = this.offsetOf[i]!;
    return this.slabOf[i]!.subarray(offset, offset + this.lengthOf[i]!);
  }

  private truncate(count: number): void {
    this.slabOf.length = count;
    this.offsetOf.length = count;
    this.lengthOf.length = count;
  }

  private copy(record: Uint8Array): void {
    if (this.slabUsed + record.length > this.slab.length) {
      this.slab = new Uint8Array(Math.max(simJournalSlabBytes, record.length));
      this.slabUsed = 0;
    }
    this.slab.set(record, this.slabUsed);
    this.slabOf.push(this.slab);
    this.offsetOf.push(this.slabUsed);
    this.lengthOf.push(record.length);
    this.slabUsed += record.length;
  }
}

/** A background sync's duration: mostly short, now and then slow (a busy disk); on a stalled disk, from the stall's range. */
function backgroundSyncMs(rng: Rng, stalled: readonly [number, number] | undefined): number {
  const [min, max] = stalled ?? (rng.chance(simBackgroundSlowSyncChance) ? simBackgroundSlowSyncMs : simBackgroundSyncMs);
  return rng.between(min, max);
}

/**
 * A frame as a crash mid-write leaves it: `cut` in [0, 1) picks how. Below one half, only a prefix reached
 * the disk (at least a byte, never all of it); otherwise all of its length did, but its last bytes (a
 * sector the disk never wrote) are zeros.
 */
function tornFrame(framed: Uint8Array, cut: number): Uint8Array {
  if (cut < 0.5) return framed.slice(0, 1 + Math.floor(2 * cut * (framed.length - 1)));
  const torn = framed.slice();
  const unwritten = 1 + Math.floor((2 * cut - 1) * Math.min(512, framed.length - 8));
  torn.fill(0, framed.length - unwritten);
  return torn;
}

/**
 * FileJournal's recovery over a journal's last bytes: whole, checksummed frames are records; a bad or
 * partial frame at the end is cut off. (A torn frame whose zeroed bytes were zeros already is whole.)
 */
function recoverTail(bytes: Uint8Array): Uint8Array[] {
  const reader = new FrameReader();
  reader.push(bytes);
  const records: Uint8Array[] = [];
  for (let result = reader.next(); result.kind === 'frame'; result = reader.next()) records.push(result.payload.slice());
  return records;
}
