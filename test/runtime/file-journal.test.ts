/**
 * The file journal behind durable Raft state: records come back in order after a reopen, a torn last
 * append is cut off, and corruption before the tail refuses to open, naming the file and offset.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileJournal } from '../../src/runtime/file-journal.js';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-journal-'));
  dirs.push(dir);
  return dir;
};
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('FileJournal', () => {
  it('gives back every synced record, in order, after a reopen', () => {
    const dir = freshDir();
    const journal = new FileJournal(dir, 'n1.replicator');
    expect(journal.recovered).toEqual([]);
    for (const r of ['one', 'two', 'three']) journal.append(bytes(r));
    journal.sync();
    journal.close();
    const again = new FileJournal(dir, 'n1.replicator');
    expect(again.recovered.map(text)).toEqual(['one', 'two', 'three']);
    again.append(bytes('four'));
    again.sync();
    again.close();
    expect(new FileJournal(dir, 'n1.replicator').recovered.map(text)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('cuts a torn last append and goes on from there', () => {
    const dir = freshDir();
    const journal = new FileJournal(dir, 'j');
    journal.append(bytes('whole'));
    journal.sync();
    journal.close();
    const path = join(dir, 'j.journal');
    appendFileSync(path, Uint8Array.from([20, 0, 0, 0, 1, 2])); // a header promising 20 bytes, then a crash
    const size = statSync(path).size;
    const reopened = new FileJournal(dir, 'j');
    expect(reopened.recovered.map(text)).toEqual(['whole']);
    expect(statSync(path).size).toBeLessThan(size);
    reopened.append(bytes('after'));
    reopened.sync();
    reopened.close();
    expect(new FileJournal(dir, 'j').recovered.map(text)).toEqual(['whole', 'after']);
  });

  it('cuts a tail of zeros after the last synced record (a power loss that kept the size, not the data)', () => {
    const dir = freshDir();
    const journal = new FileJournal(dir, 'j');
    for (const r of ['one', 'two']) journal.append(bytes(r));
    journal.sync();
    journal.close();
    const path = join(dir, 'j.journal');
    const synced = statSync(path).size;
    appendFileSync(path, new Uint8Array(4096)); // unsynced appends: their extent on disk, their bytes not
    const reopened = new FileJournal(dir, 'j');
    expect(reopened.recovered.map(text)).toEqual(['one', 'two']);
    expect(statSync(path).size).toBe(synced);
    reopened.close();
  });

  it('refuses to open when a record before the tail is corrupt', () => {
    const dir = freshDir();
    const journal = new FileJournal(dir, 'j');
    for (const r of ['first', 'second', 'third']) journal.append(bytes(r));
    journal.sync();
    journal.close();
    const path = join(dir, 'j.journal');
    const data = readFileSync(path);
    data[9] = (data[9] ?? 0) ^ 0xff; // a bit flip inside the first record's payload
    writeFileSync(path, data);
    expect(() => new FileJournal(dir, 'j')).toThrow(/j\.journal is corrupt at offset 0: checksum mismatch.*move its data directory aside/);
  });

  it('syncThen: answers each request once what was appended before it is durable, in order; a rewrite carries waiting requests to the next one', async () => {
    const dir = freshDir();
    const answered: string[] = [];
    let wake: () => void = () => {};
    const journal = new FileJournal(dir, 'n1.replicator', (message) => {
      answered.push(message.type);
      wake();
    });
    const until = (n: number) => new Promise<void>((resolve) => {
      wake = () => answered.length >= n && resolve();
      wake();
    });
    journal.append(bytes('a'));
    journal.syncThen!({ type: 'first' });
    journal.append(bytes('b'));
    journal.syncThen!({ type: 'second' }); // asked while the first sync runs: shares the next one
    await until(2);
    expect(answered).toEqual(['first', 'second']);
    journal.append(bytes('c'));
    journal.syncThen!({ type: 'beforeRewrite' });
    journal.rewrite([bytes('image'), bytes('c')]);
    journal.append(bytes('d'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toEqual(['first', 'second']); // waits for a request made after the rewrite
    journal.syncThen!({ type: 'afterRewrite' });
    await until(4);
    expect(answered).toEqual(['first', 'second', 'beforeRewrite', 'afterRewrite']);
    journal.close();
    const reopened = new FileJournal(dir, 'n1.replicator');
    expect(reopened.recovered.map(text)).toEqual(['image', 'c', 'd']);
    reopened.close();
  });

  it('without a way to answer, a journal offers no syncThen (callers sync)', () => {
    expect(new FileJournal(freshDir(), 'n1.replicator').syncThen).toBeUndefined();
  });
});
