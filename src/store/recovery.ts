/**
 * Log recovery: replays one segment into the store, deciding at a bad frame whether it is a torn tail
 * (cut it off and report it) or corruption (refuse, naming the file and offset).
 *
 * Invariants: records apply in version order without gaps; a record at or below the store's version
 * (already in the image) is skipped; a cut happens only at a frame boundary and is synced before the
 * segment is used again.
 */
import { diskReadBytesMax } from '../limits.js';
import type { Disk, DiskFile } from '../disk/disk.js';
import { frameHeaderBytes } from './codec.js';
import { ChorusError } from '../runtime/errors.js';
import { CorruptError } from './errors.js';
import type { SchemaPlan } from './evolution.js';
import { FrameReader } from './frames.js';
import { decodeLogHeader, isTornTail, logRecordVersion } from './log-format.js';
import type { Store } from './store.js';

export interface TruncationReport {
  readonly file: string;
  readonly offset: number;
  readonly droppedBytes: number;
  readonly reason: string;
}

export interface SegmentResult {
  /** The segment's tail was cut. */
  readonly cut: boolean;
  /** A record did not follow the store's version after an earlier cut: later segments are unusable. */
  readonly gap: boolean;
}

/**
 * Replays segment `name`. `afterCut`: an earlier segment lost its tail in this recovery, so a gap here
 * is the consequence of that loss (cut here too), not corruption.
 */
export async function replaySegment(
  disk: Disk, name: string, store: Store, afterCut: boolean, report: (event: TruncationReport) => void,
): Promise<SegmentResult> {
  const file = await disk.open(name, { create: false });
  try {
    const size = await file.size();
    const reader = new FrameReader();
    let plan: SchemaPlan | undefined;
    let read = 0;
    const cut = async (offset: number, reason: string): Promise<void> => {
      await file.truncate(offset);
      await file.sync();
      report({ file: name, offset, droppedBytes: size - offset, reason });
    };
    while (read < size) {
      const chunk = await file.read(read, Math.min(diskReadBytesMax, size - read));
      read += chunk.length;
      reader.push(chunk);
      for (let result = reader.next(); result.kind !== 'more'; result = reader.next()) {
        if (result.kind === 'bad') {
          const frameEnd = result.length > 0 && result.length <= size ? result.offset + frameHeaderBytes + result.length : undefined;
          if (!isTornTail(frameEnd, size, await allZero(file, result.offset, size))) throw new CorruptError(name, result.offset, result.reason);
          await cut(result.offset, `torn tail: ${result.reason}`);
          return { cut: true, gap: false };
        }
        if (plan === undefined) {
          const header = decodeLogHeader(result.payload, name, result.offset);
          plan = store.planFor(header.fingerprint, header.schema);
          continue;
        }
        const version = logRecordVersion(result.payload, name, result.offset);
        if (version <= store.version) continue;
        if (version !== store.version + 1) {
          if (!afterCut) throw new CorruptError(name, result.offset, `record ${version} does not follow version ${store.version}`);
          await cut(result.offset, `record ${version} follows records lost in an earlier segment`);
          return { cut: true, gap: true };
        }
        try {
          store.replayRecord(result.payload, plan, name, result.offset);
        } catch (error) {
          if (error instanceof CorruptError || !(error instanceof ChorusError)) throw error;
          throw new CorruptError(name, result.offset, `record ${version}: ${error.message}`);
        }
      }
    }
    if (reader.buffered > 0) {
      await cut(reader.offset, `torn tail: ${reader.buffered} bytes of an incomplete frame`);
      return { cut: true, gap: false };
    }
    return { cut: false, gap: false };
  } finally {
    await file.close();
  }
}

async function allZero(file: DiskFile, from: number, size: number): Promise<boolean> {
  for (let offset = from; offset < size; offset += diskReadBytesMax) {
    const bytes = await file.read(offset, Math.min(diskReadBytesMax, size - offset));
    if (bytes.some((byte) => byte !== 0)) return false;
  }
  return true;
}
