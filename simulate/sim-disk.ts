/**
 * The simulator's disk: files in memory with the durability contract of src/disk/disk.ts, and crashes
 * that lose what was not synced. On `crash()`, each file keeps a random prefix of its unsynced appends
 * and truncations, the first one lost possibly torn (a random prefix of its bytes kept), and the
 * directory keeps a random prefix of its unsynced creations, renames and removals. Randomness comes
 * only from the injected `random` (the simulator's Rng), so a crash replays exactly from its seed.
 *
 * Invariants: `synced` bytes of a file never change except through a truncation below them; handles
 * opened before a crash fail afterwards (a crashed process has no open files).
 */
import { assert } from '../src/runtime/assert.js';
import { invalidArgument } from '../src/runtime/errors.js';
import type { Disk, DiskFile } from '../src/disk/disk.js';
import { diskNamePattern } from '../src/disk/disk.js';

type FileOp = { readonly kind: 'append'; readonly data: Uint8Array } | { readonly kind: 'truncate'; readonly size: number };
type DirOp =
  | { readonly kind: 'create'; readonly name: string; readonly inode: Inode }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'remove'; readonly name: string };

class Inode {
  bytes = new Uint8Array(64);
  length = 0;
  /** Content at the last sync (bytes[0, length) when nothing since has cut below it). */
  durable: Uint8Array = new Uint8Array(0);
  unsynced: FileOp[] = [];

  append(data: Uint8Array): void {
    if (this.length + data.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + data.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  content(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  sync(): void {
    this.durable = this.content().slice();
    this.unsynced = [];
  }

  /** What survives a crash: the durable bytes plus a random prefix of the unsynced operations. */
  crash(random: () => number): void {
    const kept = Math.floor(random() * (this.unsynced.length + 1));
    const ops = this.unsynced;
    const survivor = new Inode();
    survivor.append(this.durable);
    for (let i = 0; i < kept; i++) applyOp(survivor, ops[i] as FileOp);
    const torn = ops[kept];
    if (torn !== undefined && torn.kind === 'append' && random() < 0.5) {
      survivor.append(torn.data.subarray(0, Math.floor(random() * torn.data.length)));
    }
    this.bytes = survivor.bytes;
    this.length = survivor.length;
    this.sync();
  }
}

function applyOp(inode: Inode, op: FileOp): void {
  if (op.kind === 'append') inode.append(op.data);
  else inode.length = Math.min(inode.length, op.size);
}

export interface SimDiskOptions {
  /** Uniform in [0, 1): the simulator's Rng, never Math.random. */
  readonly random: () => number;
}

export interface SimDiskStats {
  crashes: number;
  syncs: number;
  bytesAppended: number;
}

export class SimDisk implements Disk {
  private files = new Map<string, Inode>();
  private durableDir = new Map<string, Inode>();
  private dirOps: DirOp[] = [];
  private epoch = 0;
  readonly stats: SimDiskStats = { crashes: 0, syncs: 0, bytesAppended: 0 };

  constructor(private readonly options: SimDiskOptions) {}

  async list(): Promise<readonly string[]> {
    return [...this.files.keys()].sort();
  }

  async open(name: string, options: { readonly create: boolean }): Promise<DiskFile> {
    checkName('SimDisk.open', name);
    let inode = this.files.get(name);
    if (inode === undefined) {
      if (!options.create) throw Object.assign(new Error(`ENOENT: no such file ${name}`), { code: 'ENOENT' });
      inode = new Inode();
      this.files.set(name, inode);
      this.dirOps.push({ kind: 'create', name, inode });
    }
    return new SimFile(name, inode, this, this.epoch);
  }

  async rename(from: string, to: string): Promise<void> {
    checkName('SimDisk.rename', from);
    checkName('SimDisk.rename', to);
    const inode = this.files.get(from);
    if (inode === undefined) throw Object.assign(new Error(`ENOENT: no such file ${from}`), { code: 'ENOENT' });
    this.files.delete(from);
    this.files.set(to, inode);
    this.dirOps.push({ kind: 'rename', from, to });
  }

  async remove(name: string): Promise<void> {
    checkName('SimDisk.remove', name);
    if (!this.files.delete(name)) return;
    this.dirOps.push({ kind: 'remove', name });
  }

  async syncDir(): Promise<void> {
    this.stats.syncs++;
    for (const op of this.dirOps) applyDirOp(this.durableDir, op);
    this.dirOps = [];
  }

  /** Power loss: unsynced data and directory changes are lost or kept at random; open handles die. */
  crash(): void {
    const random = this.options.random;
    const kept = Math.floor(random() * (this.dirOps.length + 1));
    for (let i = 0; i < kept; i++) applyDirOp(this.durableDir, this.dirOps[i] as DirOp);
    this.dirOps = [];
    const inodes = new Set(this.durableDir.values());
    for (const name of [...this.durableDir.keys()].sort()) {
      const inode = this.durableDir.get(name) as Inode;
      if (inodes.delete(inode)) inode.crash(random);
    }
    this.files = new Map(this.durableDir);
    this.epoch++;
    this.stats.crashes++;
  }

  /** A copy of a file's current bytes (tests and debugging). */
  contents(name: string): Uint8Array | undefined {
    return this.files.get(name)?.content().slice();
  }

  /** Overwrites bytes in place (tests: corruption that no crash would cause), durably. */
  corrupt(name: string, offset: number, bytes: Uint8Array): void {
    const inode = this.files.get(name);
    assert(inode !== undefined && offset + bytes.length <= inode.length, `SimDisk.corrupt: ${name} has no bytes at ${offset}`);
    inode.bytes.set(bytes, offset);
    inode.sync();
  }

  /** @internal */ alive(epoch: number): boolean {
    return epoch === this.epoch;
  }
}

function applyDirOp(dir: Map<string, Inode>, op: DirOp): void {
  switch (op.kind) {
    case 'create':
      if (!dir.has(op.name)) dir.set(op.name, op.inode);
      return;
    case 'rename': {
      const inode = dir.get(op.from);
      if (inode === undefined) return;
      dir.delete(op.from);
      dir.set(op.to, inode);
      return;
    }
    case 'remove':
      dir.delete(op.name);
      return;
  }
}

function checkName(api: string, name: string): void {
  if (!diskNamePattern.test(name)) throw invalidArgument(api, `bad file name ${JSON.stringify(name)}`);
}

class SimFile implements DiskFile {
  private closed = false;
  constructor(
    readonly name: string,
    private readonly inode: Inode,
    private readonly disk: SimDisk,
    private readonly epoch: number,
  ) {}

  private check(): void {
    if (!this.disk.alive(this.epoch)) throw Object.assign(new Error(`EIO: ${this.name}: the disk crashed since this file was opened`), { code: 'EIO' });
    assert(!this.closed, `${this.name} is closed`);
  }

  async size(): Promise<number> {
    this.check();
    return this.inode.length;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    this.check();
    return this.inode.content().slice(offset, offset + length);
  }

  async append(data: Uint8Array): Promise<void> {
    this.check();
    const copy = data.slice();
    this.inode.append(copy);
    this.inode.unsynced.push({ kind: 'append', data: copy });
    this.disk.stats.bytesAppended += copy.length;
  }

  async truncate(size: number): Promise<void> {
    this.check();
    this.inode.length = Math.min(this.inode.length, size);
    this.inode.unsynced.push({ kind: 'truncate', size });
  }

  async sync(): Promise<void> {
    this.check();
    this.inode.sync();
    this.disk.stats.syncs++;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
