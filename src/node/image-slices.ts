/**
 * State images in slices, so that the application's thread never stalls on one.
 *
 * Taking: ImageSlicer takes the state image the replicator asked for (compaction, or a follower past the compacted log)
 * without stalling the application's thread: the frames come from a view of the tables taken when the
 * request arrived, which later writes and applies do not change, at most `imageSliceMsMax` of work per
 * event-loop turn. Taken all at once, an image of a large table held the thread for hundreds of
 * milliseconds: writes, reads and every actor of an inline host waited, and peers could be called silent.
 *
 * Invariants: the image is of the tables exactly as they were after the entries applied before the
 * request (the replicator's `index`); one image at a time: a request that comes while one is being
 * taken is dropped (the replicator asks again when it still needs one; replacing the image under way
 * instead could starve an image that takes longer than the replicator waits between requests); nothing
 * is sent after `cancel()`.
 */
import { performance } from 'node:perf_hooks';
import type { ImageTaken, ImageWanted } from '../actors/replicator.js';
import type { Message } from '../runtime/actor.js';
import { assert } from '../runtime/assert.js';
import type { Store } from '../store/store.js';
import { imageLoadHeldMessagesMax, imageSliceMsMax } from '../limits.js';
import { ImageDigest } from '../cluster/raft/image-digest.js';

export class ImageSlicer {
  private job: { cancelled: boolean } | undefined;

  /** Starts taking the image, unless one is being taken; `done` hears it once whole (in a later turn unless it is small). */
  take(store: Store, wanted: ImageWanted, done: (taken: ImageTaken) => void): void {
    if (this.job !== undefined) return;
    const job = { cancelled: false };
    this.job = job;
    const frames: Uint8Array[] = [];
    const digest = new ImageDigest();
    const source = store.snapshot({ frameRowsMax: wanted.frameRowsMax, frameBytesMax: wanted.frameBytesMax })[Symbol.iterator]();
    const slice = () => {
      if (job.cancelled) return;
      const until = performance.now() + imageSliceMsMax;
      for (;;) {
        const next = source.next();
        if (next.done === true) {
          this.job = undefined;
          done({ type: 'imageTaken', index: wanted.index, frames, digest: digest.value });
          return;
        }
        frames.push(next.value);
        digest.add(next.value);
        if (performance.now() >= until) break;
      }
      setImmediate(slice);
    };
    slice();
  }

  /** An image being taken: true until it is done or cancelled. */
  get busy(): boolean {
    return this.job !== undefined;
  }

  cancel(): void {
    if (this.job !== undefined) this.job.cancelled = true;
    this.job = undefined;
  }
}

/** How an ImageRestorer paces its slices: by real time (a node), or by frames per virtual turn (the simulator). */
export interface ImagePace {
  /** A slice begins: the function returned says when it has done enough. */
  slice(): () => boolean;
  /** Runs `next` in a later turn. */
  later(next: () => void): void;
}

/** At most imageSliceMsMax of work per event-loop turn. */
export const realTimePace: ImagePace = {
  slice: () => {
    const until = performance.now() + imageSliceMsMax;
    return () => performance.now() >= until;
  },
  later: (next) => void setImmediate(next),
};

/**
 * The messages that come in order with the applies (see the committer's toApp): while an image loads,
 * they wait for it, since each assumes the tables after everything handed on before it.
 */
const afterImage = new Set(['apply', 'restore', 'recovered', 'imageWanted', 'synced', 'readReady', 'readFailed', 'membership']);

/**
 * Loading: ImageRestorer loads a state image (the leader's in a state transfer, or the journal's at
 * start) into a loader beside the tables, at most `imageSliceMsMax` of frames per event-loop turn, and
 * replaces the tables at once when the last frame is in. Loaded in one go, 100,000 rows held the thread
 * for 0.4-1.7 s (reads, writes, and on an inline host every actor, waited). Meanwhile reads and writes
 * see the tables as they were, and every message ordered after the image waits, then runs in order
 * (at most `imageLoadHeldMessagesMax` of them: past it the rest loads at once). An image that loads
 * within one slice is in before `load` returns, as before.
 */
export class ImageRestorer {
  /** The image loading now; `hurry`: load the rest at once (too many held). */
  private job: { hurry: boolean } | undefined;
  /** Counts cancel() calls: a load or a replay under way stops when it changes. */
  private cancels = 0;
  private held: Message[] = [];

  /** `heldMax`: past so many held messages the rest of the image loads at once (imageLoadHeldMessagesMax). */
  constructor(private readonly heldMax = imageLoadHeldMessagesMax, private readonly pace: ImagePace = realTimePace) {}

  /** While an image loads, holds a message that must come after it (true), to be replayed in order. */
  holds(message: Message): boolean {
    if (this.job === undefined || !afterImage.has(message.type)) return false;
    this.held.push(message);
    if (this.held.length >= this.heldMax) this.job.hurry = true;
    return true;
  }

  /** Loads `frames`; `done` hears the outcome (an error leaves the tables as they were), then `replay` gets each held message. */
  load(store: Store, source: string, frames: readonly Uint8Array[], done: (error: unknown) => void, replay: (message: Message) => void): void {
    assert(this.job === undefined, 'ImageRestorer: an image arrived while one loads (it should have been held)');
    const job = { hurry: false };
    this.job = job;
    const cancels = this.cancels;
    const steps = store.restoreInSteps(source);
    let next = 0;
    const slice = () => {
      if (this.cancels !== cancels) return;
      const enough = this.pace.slice();
      try {
        while (next < frames.length) {
          steps.push(frames[next++]!);
          if (next < frames.length && !job.hurry && enough()) return void this.pace.later(slice);
        }
        steps.finish();
      } catch (error) {
        this.cancel();
        return done(error);
      }
      this.job = undefined;
      done(undefined);
      const held = this.held;
      this.held = [];
      for (let i = 0; i < held.length; i++) {
        if (this.cancels !== cancels) return; // a replayed message stopped the node
        if (this.job !== undefined) { // a held image: it loads in turn, and the rest wait for it
          this.held = held.slice(i).concat(this.held);
          return;
        }
        replay(held[i]!);
      }
    };
    slice();
  }

  /** Stops loading; nothing held is replayed. */
  cancel(): void {
    this.job = undefined;
    this.held = [];
    this.cancels++; // a load or a replay under way stops
  }
}
