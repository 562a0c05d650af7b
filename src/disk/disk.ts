/**
 * The disk interface: the only way the store's durable layer touches files. One flat directory of
 * named files, each read at offsets, appended to, truncated and synced. Two implementations: node-disk.ts
 * (node:fs) and simulate/sim-disk.ts (in memory, loses unsynced writes on a crash and tears the last one).
 *
 * Durability contract (what callers may rely on, and what the simulator enforces):
 * - bytes appended to a file are durable once `sync()` on that file has resolved;
 * - a file's existence, a rename and a removal are durable once `syncDir()` has resolved;
 * - a crash keeps a prefix of each file's unsynced appends, possibly ending in a partial (torn) append;
 * - `rename` replaces the target atomically: after a crash either the old or the new name holds the file.
 */

export interface DiskFile {
  readonly name: string;
  /** Current length in bytes (including unsynced appends). */
  size(): Promise<number>;
  /** Up to `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Appends at the end of the file. */
  append(data: Uint8Array): Promise<void>;
  /** Cuts the file to `size` bytes (durable after sync). */
  truncate(size: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Disk {
  /** Names of the files in the directory, sorted. */
  list(): Promise<readonly string[]>;
  /** Opens a file; `create` makes it (empty) when missing, else a missing file is an error. */
  open(name: string, options: { readonly create: boolean }): Promise<DiskFile>;
  rename(from: string, to: string): Promise<void>;
  remove(name: string): Promise<void>;
  /** Makes creations, renames and removals durable. */
  syncDir(): Promise<void>;
}

/** Valid file names: no directories, nothing hidden. */
export const diskNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
