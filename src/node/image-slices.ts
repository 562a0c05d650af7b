/**
 * Takes the state image the replicator asked for (compaction, or a follower past the compacted log)
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
import type { Store } from '../store/store.js';
import { imageSliceMsMax } from '../limits.js';
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
