/**
 * A power cut for the chaos test: after a node process is SIGKILLed (its writes still sit in the page
 * cache, which a SIGKILL keeps), every file in its data directory loses what no fsync had made durable,
 * as on a machine that lost power. How much was durable comes from the ledger the node process kept
 * through the preload power-cut-ledger.mjs (`node --import`, see powerCutExecArgv).
 *
 * What survives of a file's unsynced tail (bytes past its synced length), drawn from the run's Rng:
 * - nothing (the file ends where its last fsync covered it);
 * - a prefix of any length, which may end inside a frame (a torn frame);
 * - pages of it in any order (writeback order is the disk's): the file keeps some length past the synced
 *   part, and each 4 KiB page of that tail was either written back or reads as zeros (a hole, with
 *   whole frames after it).
 * Never anything below the synced length: that part must come back exactly. A file created since its
 * directory was last fsynced is gone altogether (its name never reached the disk).
 *
 * Invariant: a file is cut only when its process is gone (the caller awaits its exit first).
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rng } from '../../simulate/rng.js';

/** The page size of the disk's writeback (a hole in an unsynced tail is page-aligned). */
const pageBytes = 4096;

export type TailKept = 'none' | 'prefix' | 'pages';

/** The flags and environment that make a node process keep its ledger (for LocalCluster's nodeExecArgv / nodeEnv). */
export function powerCutExecArgv(): string[] {
  return ['--import', fileURLToPath(new URL('./power-cut-ledger.mjs', import.meta.url))];
}

/** `fsyncDelayMs`: a slow disk, each background fsync starts that much later (power-cut-ledger.mjs). */
export function powerCutEnv(ledger: string, dataDir: string, fsyncDelayMs = 0): Record<string, string> {
  return { POWER_CUT_LEDGER: ledger, POWER_CUT_ROOT: dataDir, POWER_CUT_FSYNC_DELAY_MS: String(fsyncDelayMs) };
}

export interface Ledger {
  /** Durable bytes by inode. */
  readonly synced: ReadonlyMap<number, number>;
  /** Files written in ways the ledger does not follow (each one makes a power cut unsound). */
  readonly unfollowed: readonly string[];
  /** fsync lines (for a test that the ledger saw the journal at all). */
  readonly fsyncs: number;
  /** Inodes of files created in a directory not fsynced since. */
  readonly nameless: ReadonlySet<number>;
}

interface LedgerLine {
  readonly ino?: number;
  readonly synced?: number;
  readonly cut?: number;
  readonly unfollowed?: string;
  readonly path?: string;
  readonly createdIn?: string;
  readonly dirSynced?: string;
}

export function readLedger(file: string): Ledger {
  const synced = new Map<number, number>();
  const unfollowed: string[] = [];
  let fsyncs = 0;
  const createdIn = new Map<number, string>();
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const line = JSON.parse(raw) as LedgerLine;
    if (line.unfollowed !== undefined) unfollowed.push(`${line.unfollowed} ${line.path ?? ''}`);
    if (line.dirSynced !== undefined) for (const [ino, dir] of createdIn) if (dir === line.dirSynced) createdIn.delete(ino);
    if (line.ino === undefined) continue;
    if (line.createdIn !== undefined) createdIn.set(line.ino, line.createdIn);
    if (line.synced !== undefined) {
      // Two fsyncs may overlap and return out of order: the larger covers the smaller.
      synced.set(line.ino, Math.max(synced.get(line.ino) ?? 0, line.synced));
      fsyncs++;
    }
    if (line.cut !== undefined) synced.set(line.ino, Math.min(synced.get(line.ino) ?? 0, line.cut));
  }
  return { synced, unfollowed, fsyncs, nameless: new Set(createdIn.keys()) };
}

/** What a power cut did to one file. */
export interface FileCut {
  readonly file: string;
  readonly bytesBefore: number;
  readonly syncedBytes: number;
  readonly bytesAfter: number;
  readonly kept: TailKept | 'gone';
  /** Bytes of the kept tail that read as zeros. */
  readonly zeroedBytes: number;
}

/**
 * Cuts the power of the node whose data directory is `dataDir` (its process already gone): every
 * regular file keeps its synced bytes and, as `rng` draws (or `kept` says), some of its unsynced tail.
 */
export function cutPower(dataDir: string, ledgerFile: string, rng: Rng, kept?: TailKept): FileCut[] {
  const ledger = readLedger(ledgerFile);
  if (ledger.unfollowed.length > 0) throw new Error(`power cut of ${dataDir}: files written in ways the ledger does not follow: ${ledger.unfollowed.join(', ')}`);
  if (!existsSync(dataDir)) return [];
  const cuts: FileCut[] = [];
  for (const name of readdirSync(dataDir).sort()) {
    const file = join(dataDir, name);
    const stat = statSync(file);
    if (!stat.isFile()) continue;
    if (ledger.nameless.has(stat.ino)) {
      rmSync(file);
      cuts.push({ file: name, bytesBefore: stat.size, syncedBytes: 0, bytesAfter: 0, kept: 'gone', zeroedBytes: 0 });
      continue;
    }
    const syncedBytes = Math.min(ledger.synced.get(stat.ino) ?? 0, stat.size);
    if (syncedBytes === stat.size) continue;
    const tailKept: TailKept = kept ?? (rng.chance(0.5) ? 'none' : rng.chance(0.5) ? 'prefix' : 'pages');
    const tail = stat.size - syncedBytes;
    const bytesAfter = tailKept === 'none' ? syncedBytes : syncedBytes + rng.int(tail + 1);
    const zeroedBytes = cutFile(file, syncedBytes, bytesAfter, tailKept === 'pages' ? rng : undefined);
    cuts.push({ file: name, bytesBefore: stat.size, syncedBytes, bytesAfter, kept: tailKept, zeroedBytes });
  }
  return cuts;
}

/** Truncates `file` to `bytesAfter`; with `holes`, each page past `syncedBytes` is zeroed with odds 1/2. Returns the bytes zeroed. */
function cutFile(file: string, syncedBytes: number, bytesAfter: number, holes: Rng | undefined): number {
  const fd = openSync(file, 'r+');
  let zeroed = 0;
  try {
    ftruncateSync(fd, bytesAfter);
    if (holes === undefined) return 0;
    for (let page = Math.floor(syncedBytes / pageBytes) * pageBytes; page < bytesAfter; page += pageBytes) {
      if (!holes.chance(0.5)) continue;
      const from = Math.max(page, syncedBytes); // the synced part of a page was written back already
      const to = Math.min(page + pageBytes, bytesAfter);
      writeSync(fd, new Uint8Array(to - from), 0, to - from, from);
      zeroed += to - from;
    }
    return zeroed;
  } finally {
    closeSync(fd);
  }
}

export function describeCuts(cuts: readonly FileCut[]): string {
  if (cuts.length === 0) return 'nothing unsynced';
  return cuts.map((c) => c.kept === 'gone' ? `${c.file} gone (created since its directory was last fsynced)` : `${c.file} ${c.bytesBefore} -> ${c.bytesAfter} bytes (synced ${c.syncedBytes}, tail kept: ${c.kept}${c.zeroedBytes > 0 ? `, ${c.zeroedBytes} zeroed` : ''})`).join('; ');
}
