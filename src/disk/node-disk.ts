/**
 * The real disk: one directory on node:fs. Appends go through a file handle opened in append mode;
 * `sync` is fdatasync; `syncDir` fsyncs the directory so that creations, renames and removals survive a
 * power loss (POSIX requires it; on platforms where a directory cannot be opened it is a no-op).
 */
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../runtime/assert.js';
import { invalidArgument } from '../runtime/errors.js';
import type { Disk, DiskFile } from './disk.js';
import { diskNamePattern } from './disk.js';

function checkName(api: string, name: string): void {
  if (!diskNamePattern.test(name)) throw invalidArgument(api, `bad file name ${JSON.stringify(name)}`);
}

class NodeFile implements DiskFile {
  private closed = false;
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  async size(): Promise<number> {
    return (await this.handle.stat()).size;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.handle.read(buffer, got, length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === length ? buffer : buffer.subarray(0, got);
  }

  async append(data: Uint8Array): Promise<void> {
    assert(!this.closed, `${this.name} is closed`);
    let written = 0;
    while (written < data.length) written += (await this.handle.write(data, written, data.length - written)).bytesWritten;
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
  }

  async sync(): Promise<void> {
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export class NodeDisk implements Disk {
  private constructor(readonly directory: string) {}

  /** The disk over `directory`, created when missing. */
  static async open(directory: string): Promise<NodeDisk> {
    await mkdir(directory, { recursive: true });
    return new NodeDisk(directory);
  }

  async list(): Promise<readonly string[]> {
    const entries = await readdir(this.directory, { withFileTypes: true });
    return entries.filter((entry) => entry.isFile() && diskNamePattern.test(entry.name)).map((entry) => entry.name).sort();
  }

  async open(name: string, options: { readonly create: boolean }): Promise<DiskFile> {
    checkName('NodeDisk.open', name);
    const path = join(this.directory, name);
    if (!options.create) await stat(path); // ENOENT when missing
    // 'a+' appends at the end whatever the position, and reads anywhere.
    return new NodeFile(name, await open(path, 'a+'));
  }

  async rename(from: string, to: string): Promise<void> {
    checkName('NodeDisk.rename', from);
    checkName('NodeDisk.rename', to);
    await rename(join(this.directory, from), join(this.directory, to));
  }

  async remove(name: string): Promise<void> {
    checkName('NodeDisk.remove', name);
    await rm(join(this.directory, name), { force: true });
  }

  async syncDir(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.directory, 'r');
      await handle.sync();
    } catch (error) {
      // Windows cannot open a directory; there, renames are durable when they return.
      if ((error as NodeJS.ErrnoException).code !== 'EISDIR' && (error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    } finally {
      await handle?.close();
    }
  }
}
