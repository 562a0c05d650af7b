/**
 * State transfer of a state image in chunks (Raft §7), both sides, as pure bookkeeping the Raft core
 * drives. Stop-and-wait: the leader sends one chunk, the follower answers with the next chunk it wants
 * (SnapshotResp), and a heartbeat resends the chunk the follower waits for, so a lost message only
 * delays. The follower installs the image when its last chunk arrives, all at once.
 *
 * Invariants: chunks arrive at the follower in order (one that is not the next is ignored); an image
 * is installed whole or not at all; a new image (other index or term) restarts the gathering.
 */
import { assert } from '../../runtime/assert.js';
import type { Snapshot, SnapshotResp } from './messages.js';
import type { Progress } from './progress.js';
import type { StateImage } from './types.js';

/**
 * Leader: the chunk of `image` to send to the follower `pr` now, or undefined when one is on its way
 * and this is not a heartbeat (which resends it).
 */
export function imageChunkToSend(image: StateImage, pr: Progress, heartbeat: boolean): number | undefined {
  if (pr.image === undefined || pr.image.index !== image.index) pr.startImage(image.index);
  else if (!heartbeat) return undefined;
  return Math.min(pr.image!.next, image.frames.length - 1);
}

/** Leader: the follower asks for chunk `m.next`; true when that is news (send it). */
export function imageChunkAsked(image: StateImage | undefined, pr: Progress, m: SnapshotResp): boolean {
  if (pr.image === undefined || image === undefined || pr.image.index !== m.index || m.index !== image.index) return false;
  if (m.next <= pr.image.next && m.next > 0) return false; // a duplicate or late answer: that chunk is on its way
  pr.image.next = m.next;
  return true;
}

/** Follower: gathers a leader's image chunk by chunk. */
export class ImageAssembler {
  private incoming: { index: number; term: number; frames: Uint8Array[] } | undefined;

  /** Takes one chunk: the whole image once its last chunk is in, else the chunk to ask for next. */
  receive(m: Snapshot): { readonly image: StateImage } | { readonly next: number } {
    assert(m.chunks >= 1 && m.chunk < m.chunks, `image chunk ${m.chunk} of ${m.chunks}`);
    let incoming = this.incoming;
    if (incoming === undefined || incoming.index !== m.index || incoming.term !== m.snapTerm) {
      incoming = this.incoming = { index: m.index, term: m.snapTerm, frames: [] };
    }
    if (m.chunk === incoming.frames.length) incoming.frames.push(m.data);
    if (incoming.frames.length < m.chunks) return { next: incoming.frames.length };
    this.incoming = undefined;
    return { image: { index: m.index, term: m.snapTerm, frames: incoming.frames, membership: m.membership } };
  }
}
