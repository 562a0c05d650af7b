/**
 * FileJournal's background sync against the fsync it waits on: node:fs is mocked so that each fs.fsync
 * call is held until the test lets it return (after really syncing, or with an error). syncThen's answer
 * must come only after the fsync covering the request has returned, carry `failed` when the disk
 * refused, and never come for a request whose own sync has not returned yet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/runtime/actor.js';
import { FileJournal } from '../../src/runtime/file-journal.js';

/** fs.fsync calls held until `returnNext` lets the oldest one return (shared with the mock below). */
const held = vi.hoisted(() => [] as { readonly fd: number; readonly done: (error: NodeJS.ErrnoException | null) => void }[]);

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fsync = (fd: number, done: (error: NodeJS.ErrnoException | null) => void) => void held.push({ fd, done });
  return { ...fs, default: { ...fs, fsync }, fsync };
});

const realFs = await vi.importActual<typeof import('node:fs')>('node:fs');

/** Lets the oldest held fsync return: after really syncing its file, or refused with `error`. */
function returnNext(error?: string): void {
  const call = held.shift();
  expect(call, 'an fsync under way').toBeDefined();
  if (error === undefined) {
    realFs.fsyncSync(call!.fd);
    call!.done(null);
  } else {
    call!.done(Object.assign(new Error(error), { code: 'EIO' }));
  }
}

const dirs: string[] = [];
const bytes = (text: string) => new TextEncoder().encode(text);

function journal(): { journal: FileJournal; answers: Message[] } {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-journal-fsync-'));
  dirs.push(dir);
  const answers: Message[] = [];
  return { journal: new FileJournal(dir, 'n1.replicator', (message) => answers.push(message)), answers };
}

afterEach(() => {
  while (held.length > 0) returnNext(); // nothing left holding a descriptor
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FileJournal syncThen against a held fsync', () => {
  it('answers only once the fsync covering the request has returned', () => {
    const { journal: j, answers } = journal();
    j.append(bytes('one'));
    j.syncThen!({ type: 'first' });
    expect(held).toHaveLength(1); // the sync is under way
    expect(answers).toEqual([]); // and nothing is answered before it returns
    returnNext();
    expect(answers).toEqual([{ type: 'first' }]);
    j.close();
  });

  it('answers a request made while a sync runs only after the next fsync returns (group commit)', () => {
    const { journal: j, answers } = journal();
    j.append(bytes('one'));
    j.syncThen!({ type: 'first' });
    j.append(bytes('two'));
    j.syncThen!({ type: 'second' });
    j.syncThen!({ type: 'third' });
    expect(held).toHaveLength(1); // one fsync at a time
    returnNext();
    expect(answers).toEqual([{ type: 'first' }]); // 'two' was appended after that fsync began
    expect(held).toHaveLength(1); // the next one, for both later requests
    returnNext();
    expect(answers).toEqual([{ type: 'first' }, { type: 'second' }, { type: 'third' }]);
    j.close();
  });

  it('answers with `failed` when the fsync fails, and nothing for requests whose own sync has not returned', () => {
    const { journal: j, answers } = journal();
    j.append(bytes('one'));
    j.syncThen!({ type: 'first' });
    j.append(bytes('two'));
    j.syncThen!({ type: 'second' });
    returnNext('disk on fire');
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ type: 'first', failed: expect.stringContaining('disk on fire') });
    expect(held).toHaveLength(1); // the second request's own sync
    returnNext();
    expect(answers).toHaveLength(2);
    expect(answers[1]).toEqual({ type: 'second' }); // its sync returned without error: no `failed`
    j.close();
  });
});
