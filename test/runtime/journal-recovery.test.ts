/**
 * Recovery of a file journal after a crash (src/runtime/journal-recovery.ts): what was synced is given
 * back or the journal is refused, never cut; what was not synced may be cut, whatever the disk wrote
 * back of it and in whatever order.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileJournal } from '../../src/runtime/file-journal.js';
import { recoverJournal } from '../../src/runtime/journal-recovery.js';
import { encodeMsgpack, decodeMsgpack, frame } from '../../src/store/codec.js';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-recovery-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const entryRecord = (i: number) => encodeMsgpack({ e: [{ term: 7, index: i, data: { kind: 'noop' } }], h: [7, 'n2', i] });
const indexes = (journal: FileJournal) => journal.recovered.map((r) => (decodeMsgpack(r) as { e?: { index: number }[] }).e?.[0]?.index);

/** A journal of `count` records, all synced; `after`: one more record appended (unsynced) after the sync. */
function syncedJournal(dir: string, count: number, after: 'close' | 'append'): string {
  const journal = new FileJournal(dir, 'n1.replicator');
  for (let i = 1; i <= count; i++) journal.append(entryRecord(i));
  journal.sync();
  if (after === 'append') journal.append(entryRecord(count + 1)); // carries the synced-up-to mark
  journal.close();
  return join(dir, 'n1.replicator.journal');
}

/** The file offset of each frame (marks included), read by lengths. */
function frameOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += 8 + bytes.readUInt32LE(at)) out.push(at);
  return out;
}

/** The offset of the frame holding entry `index` (found by decoding, marks skipped). */
function offsetOfEntry(bytes: Buffer, index: number): number {
  return frameOffsets(bytes).find((at) => {
    const payload = bytes.subarray(at + 8, at + 8 + bytes.readUInt32LE(at));
    return (decodeMsgpack(payload) as { e?: { index: number }[] }).e?.[0]?.index === index;
  })!;
}

describe('journal recovery: a damaged length in the synced part', () => {
  for (const after of ['close', 'append'] as const) {
    for (const [what, flip] of [['beyond any frame', 1 << 30], ['past the end of the file', 1 << 20], ['one byte longer', 1]] as const) {
      it(`refuses to open, naming the offset, and cuts nothing (length ${what}; the journal was ${after === 'close' ? 'closed' : 'appended to'} after its sync)`, () => {
        const dir = freshDir();
        const path = syncedJournal(dir, 1000, after);
        const bytes = readFileSync(path);
        const at = offsetOfEntry(bytes, 2);
        bytes.writeUInt32LE(bytes.readUInt32LE(at) ^ flip, at);
        writeFileSync(path, bytes);
        expect(() => new FileJournal(dir, 'n1.replicator')).toThrow(new RegExp(`n1\\.replicator\\.journal is corrupt at offset ${at}: .*synced up to offset \\d+, so synced records are damaged`));
        expect(statSync(path).size).toBe(bytes.length); // nothing cut
      });
    }
  }
});

describe('journal recovery: synced-up-to marks', () => {
  it('are msgpack records of their own ({ s: offset }), which a chorusdb from before them reads and ignores; they are not given back', () => {
    const dir = freshDir();
    const path = syncedJournal(dir, 3, 'append');
    const bytes = readFileSync(path);
    const payloads = frameOffsets(bytes).map((at) => decodeMsgpack(bytes.subarray(at + 8, at + 8 + bytes.readUInt32LE(at))) as { s?: number });
    expect(payloads.filter((p) => p.s !== undefined).map((p) => p.s)).toEqual([0, frameOffsets(bytes)[4]]); // from the first append, and the sync of three
    const journal = new FileJournal(dir, 'n1.replicator');
    expect(indexes(journal)).toEqual([1, 2, 3, 4]);
    journal.close();
  });
});

describe('journal recovery: an unsynced tail', () => {
  it('a hole, then a whole frame after it (written back out of order): cuts both, keeps every synced record, and says what it cut', () => {
    const dir = freshDir();
    const path = syncedJournal(dir, 20, 'close');
    const synced = statSync(path).size;
    const hole = frame(encodeMsgpack({ e: [{ term: 7, index: 21, data: { kind: 'command', payload: 'x'.repeat(5000) } }] }));
    hole.fill(0, hole.length - 512); // its last sector never reached the disk
    appendFileSync(path, hole);
    appendFileSync(path, frame(entryRecord(22))); // the next one did
    const journal = new FileJournal(dir, 'n1.replicator');
    expect(indexes(journal)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(journal.tailCut).toEqual({ offset: synced, bytes: hole.length + frame(entryRecord(22)).length, reason: 'checksum mismatch' });
    expect(statSync(path).size).toBe(synced);
    journal.append(entryRecord(21));
    journal.sync();
    journal.close();
    expect(indexes(new FileJournal(dir, 'n1.replicator'))).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('a damaged length in records appended after the last sync: cut, the synced ones kept', () => {
    const dir = freshDir();
    const journal = new FileJournal(dir, 'n1.replicator');
    for (let i = 1; i <= 10; i++) journal.append(entryRecord(i));
    journal.sync();
    for (let i = 11; i <= 20; i++) journal.append(entryRecord(i)); // never synced
    const path = join(dir, 'n1.replicator.journal');
    const bytes = readFileSync(path);
    const at = offsetOfEntry(bytes, 12);
    bytes.writeUInt32LE(bytes.readUInt32LE(at) ^ (1 << 30), at);
    writeFileSync(path, bytes);
    const reopened = new FileJournal(dir, 'n1.replicator');
    expect(indexes(reopened)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(reopened.tailCut?.offset).toBe(at);
    reopened.close();
    journal.close();
  });

  it('a journal written before synced-up-to marks keeps the rule it had: a damaged frame with data after it is refused', () => {
    const dir = freshDir();
    const path = join(dir, 'n1.replicator.journal');
    const frames = [1, 2, 3].map((i) => frame(entryRecord(i)));
    frames[1]![20] = frames[1]![20]! ^ 0xff;
    writeFileSync(path, Buffer.concat(frames));
    expect(() => new FileJournal(dir, 'n1.replicator')).toThrow(/corrupt at offset \d+: checksum mismatch, with data after it/);
    writeFileSync(path, Buffer.concat([frames[0]!, frames[2]!.subarray(0, 10)])); // a torn last frame
    const journal = new FileJournal(dir, 'n1.replicator');
    expect(indexes(journal)).toEqual([1]);
    journal.append(entryRecord(2)); // from now on marked
    journal.sync();
    journal.append(entryRecord(3));
    journal.close();
    const bytes = readFileSync(path);
    const at = offsetOfEntry(bytes, 1);
    bytes.writeUInt32LE(bytes.readUInt32LE(at) ^ (1 << 30), at);
    writeFileSync(path, bytes);
    expect(() => new FileJournal(dir, 'n1.replicator')).toThrow(/corrupt at offset 0: .*synced records are damaged/);
  });
});

describe('journal recovery: read in chunks, never whole (a journal past 2 GiB cannot be read in one go)', () => {
  /** The journal files the cases above build, each as its bytes. */
  function damagedJournals(): { readonly what: string; readonly bytes: Buffer }[] {
    const out: { what: string; bytes: Buffer }[] = [];
    const whole = readFileSync(syncedJournal(freshDir(), 300, 'append'));
    out.push({ what: 'whole, marked', bytes: whole });
    const hole = frame(encodeMsgpack({ e: [{ term: 7, index: 302, data: { kind: 'command', payload: 'x'.repeat(5000) } }] }));
    hole.fill(0, hole.length - 512);
    out.push({ what: 'an unsynced hole, then a whole frame', bytes: Buffer.concat([whole, hole, frame(entryRecord(303))]) });
    out.push({ what: 'a torn last frame', bytes: whole.subarray(0, whole.length - 5) });
    out.push({ what: 'zeros at the end', bytes: Buffer.concat([whole, Buffer.alloc(3000)]) });
    // From before marks: a bad frame header, then zeros (data after it, so refused) and a header of zeros (torn).
    const header = Buffer.alloc(8);
    header.writeUInt32LE(100, 0);
    header.writeUInt32LE(0xdeadbeef, 4);
    const unmarked = Buffer.concat([1, 2, 3].map((i) => frame(entryRecord(i))));
    out.push({ what: 'refused: before marks, a bad frame with zeros after it', bytes: Buffer.concat([unmarked, header, Buffer.alloc(3000)]) });
    out.push({ what: 'before marks, zeros at the end', bytes: Buffer.concat([unmarked, Buffer.alloc(3000)]) });
    for (const index of [2, 150]) {
      const damaged = Buffer.from(whole);
      const at = offsetOfEntry(damaged, index);
      damaged.writeUInt32LE(damaged.readUInt32LE(at) ^ (1 << 30), at);
      out.push({ what: `a damaged length in synced record ${index}`, bytes: damaged });
      const flipped = Buffer.from(whole);
      flipped[at + 30] = flipped[at + 30]! ^ 0xff;
      out.push({ what: `a flipped bit in synced record ${index}`, bytes: flipped });
    }
    return out;
  }
  const outcome = (path: string, chunkBytes?: number) => {
    try {
      const found = recoverJournal(path, chunkBytes);
      return { records: found.records.map((r) => Buffer.from(r).toString('base64')), goodBytes: found.goodBytes, syncedBytes: found.syncedBytes, cut: found.cut };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  it('gives back the same records, synced offset and cut (or the same refusal) whatever the chunk size', () => {
    for (const { what, bytes } of damagedJournals()) {
      const path = join(freshDir(), 'n1.replicator.journal');
      writeFileSync(path, bytes);
      const expected = outcome(path);
      const refused = what.startsWith('a damaged') || what.startsWith('a flipped') || what.startsWith('refused');
      expect(expected, what).toMatchObject(refused ? { error: expect.stringMatching(/corrupt/) } : { goodBytes: expect.any(Number) });
      for (const chunkBytes of [1, 7, 19, 20, 21, 333, 4096]) expect(outcome(path, chunkBytes), `${what}, chunks of ${chunkBytes} bytes`).toEqual(expected);
    }
  });

  it('reads a journal larger than its chunk without holding the file: what recovery keeps is the records', () => {
    const path = syncedJournal(freshDir(), 2000, 'close');
    const found = recoverJournal(path, 4096);
    expect(found.records).toHaveLength(2000 + 0);
    expect(found.goodBytes).toBe(statSync(path).size);
    // Each record is a copy of its own, not a view into a chunk (a view would keep every chunk alive).
    expect(new Set(found.records.map((r) => r.buffer)).size).toBe(found.records.length);
  });
});
