/**
 * A journal whose directories FileJournal had to make: each new directory's name lives in its parent,
 * so every parent is fsynced before the journal is used (else a power cut may take the dataDir and
 * every record fsynced into it). node:fs is mocked only to see which paths are fsynced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FileJournal } from '../../src/runtime/file-journal.js';

/** Paths fsyncSync was called on (through the descriptors openSync gave for them). */
const synced = vi.hoisted(() => ({ paths: [] as string[], byFd: new Map<number, string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: string, ...rest: unknown[]) => {
    const fd = (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
    synced.byFd.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  const fsyncSync = (fd: number) => {
    synced.paths.push(synced.byFd.get(fd) ?? `fd ${fd}`);
    fs.fsyncSync(fd);
  };
  return { ...fs, default: { ...fs, openSync, fsyncSync }, openSync, fsyncSync };
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  synced.paths = [];
});

describe('FileJournal in directories it makes', () => {
  it('fsyncs the parent of every directory it made, and the directory of the new journal', () => {
    const root = mkdtempSync(join(tmpdir(), 'chorus-journal-dirs-'));
    dirs.push(root);
    const dir = join(root, 'a', 'b', 'c');
    synced.paths = [];
    const journal = new FileJournal(dir, 'n1.replicator');
    expect(synced.paths).toEqual(expect.arrayContaining([root, join(root, 'a'), join(root, 'a', 'b'), dir]));
    journal.close();
  });

  it('fsyncs no parent when the directory was there already', () => {
    const root = mkdtempSync(join(tmpdir(), 'chorus-journal-dirs-'));
    dirs.push(root);
    synced.paths = [];
    const journal = new FileJournal(root, 'n1.replicator');
    expect(synced.paths).toEqual([root]); // the new journal's name, in its directory
    journal.close();
  });
});
