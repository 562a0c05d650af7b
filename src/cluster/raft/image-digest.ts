/**
 * A state image's digest: a 53-bit hash of its frames, in order, each with its length, so that two
 * images of the same tables cut into frames differently (another node's syncMsgObjects, say) differ.
 * The node that takes an image digests it a frame at a time as it makes them; every chunk of a state
 * transfer carries the digest, and the follower digests what it gathered and installs the image only
 * when the two agree (image-transfer.ts). It guards against mixing images and against damage in transit,
 * not against a peer that lies (that is the handshake's job).
 *
 * Two 32-bit lanes over little-endian words (FNV-1a and MurmurHash3's mixing), a few ns per 4 bytes.
 */

const lanesToNumber = (a: number, b: number): number => (a >>> 0) * 2 ** 21 + (b >>> 11);

export class ImageDigest {
  private a = 0x811c9dc5 | 0;
  private b = 0x2545f491 | 0;

  /** Adds the next frame. */
  add(frame: Uint8Array): void {
    let a = this.a;
    let b = this.b;
    const length = frame.length;
    a = Math.imul(a ^ length, 0x01000193);
    b = mix(b, length);
    const words = length - (length % 4);
    for (let i = 0; i < words; i += 4) {
      const w = frame[i]! | (frame[i + 1]! << 8) | (frame[i + 2]! << 16) | (frame[i + 3]! << 24);
      a = Math.imul(a ^ w, 0x01000193);
      b = mix(b, w);
    }
    for (let i = words; i < length; i++) {
      a = Math.imul(a ^ frame[i]!, 0x01000193);
      b = mix(b, frame[i]!);
    }
    this.a = a;
    this.b = b;
  }

  /** The digest of the frames added so far: a safe non-negative integer. */
  get value(): number {
    let a = this.a ^ (this.a >>> 16);
    a = Math.imul(a, 0x85ebca6b);
    a ^= a >>> 13;
    let b = this.b ^ (this.b >>> 16);
    b = Math.imul(b, 0xc2b2ae35);
    b ^= b >>> 16;
    return lanesToNumber(a, b);
  }
}

function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The digest of a whole image's frames. */
export function imageDigest(frames: readonly Uint8Array[]): number {
  const digest = new ImageDigest();
  for (const frame of frames) digest.add(frame);
  return digest.value;
}
