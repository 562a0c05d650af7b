import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Rng } from '../../simulate/rng.js';
import { SimDisk } from '../../simulate/sim-disk.js';
import { NodeDisk } from '../../src/disk/node-disk.js';
import { CorruptError } from '../../src/store/errors.js';
import type { DurableStoreOptions, LogTruncatedEvent, SnapshotCorruptEvent } from '../../src/store/durable.js';
import { DurableStore, segmentName, snapshotName } from '../../src/store/durable.js';
import { decodeLogRecord, encodeLogRecord, isTornTail } from '../../src/store/log-format.js';
import { FrameReader } from '../../src/store/frames.js';
import { encodeMsgpack, frame } from '../../src/store/codec.js';
import type { Schedule } from '../../src/store/txlog.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { accounts } from './fixtures.js';

const open = (disk: SimDisk | NodeDisk, extra: Partial<DurableStoreOptions> = {}): Promise<DurableStore> =>
  DurableStore.open({ disk, schema: accounts, checkpointBytes: 0, ...extra });

async function commitAccounts(store: DurableStore, from: number, count: number): Promise<void> {
  for (let id = from; id < from + count; id++) await store.commit((tx) => void tx.insert('accounts', { id, email: `u${id}@x` }));
}

describe('log format (pure)', () => {
  test('records round-trip through frames; a torn tail is told from corruption', () => {
    const bytes = encodeLogRecord(7, [{ table: 'accounts', key: [1], row: [1, 'a', 5n, null, null] }, { table: 'accounts', key: [2], row: null }]);
    const reader = new FrameReader();
    reader.push(bytes.subarray(0, 5));
    expect(reader.next().kind).toBe('more');
    reader.push(bytes.subarray(5));
    const frame = reader.next();
    expect(frame.kind).toBe('frame');
    if (frame.kind !== 'frame') return;
    expect(decodeLogRecord(frame.payload, 'f', 0)).toEqual({
      version: 7,
      writes: [{ table: 'accounts', row: [1, 'a', 5n, null, null], key: null }, { table: 'accounts', row: null, key: [2] }],
    });
    expect(isTornTail(100, 100, false)).toBe(true); // the bad frame is the last one
    expect(isTornTail(60, 100, false)).toBe(false); // whole data follows it: corruption
    expect(isTornTail(undefined, 100, true)).toBe(true); // zero-filled tail
  });
});

describe('durable store on the simulated disk', () => {
  test('reopening replays the log: every acknowledged commit is back', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const first = await open(disk);
    await commitAccounts(first, 0, 20);
    const hash = first.store.contentHash();
    disk.crash();
    const second = await open(disk);
    expect(second.store.contentHash()).toBe(hash);
    expect(second.store.version).toBe(20);
  });

  test('a torn tail is cut back to the last whole record and reported; the store opens', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk, { sync: 'none' });
    await commitAccounts(store, 0, 10);
    await store.close();
    const name = segmentName(0);
    const bytes = disk.contents(name)!;
    // Simulate a torn append: the last record loses its last 3 bytes.
    const torn = new SimDisk({ random: () => 0.5 });
    const file = await torn.open(name, { create: true });
    await file.append(bytes.subarray(0, bytes.length - 3));
    await file.sync();
    await torn.syncDir();
    const events: LogTruncatedEvent[] = [];
    const reopened = await open(torn, { listeners: { 'log-truncated': (event) => events.push(event) } });
    expect(reopened.store.version).toBe(9);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ file: name, droppedBytes: bytes.length - 3 - events[0]!.offset });
    expect(events[0]!.reason).toMatch(/torn tail/);
    expect(torn.contents(name)!.length).toBe(events[0]!.offset);
  });

  test('corruption before the tail refuses to open, naming file and offset', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk);
    await commitAccounts(store, 0, 10);
    await store.close();
    const name = segmentName(0);
    const size = disk.contents(name)!.length;
    disk.corrupt(name, Math.floor(size / 2), new Uint8Array([0xff, 0xee]));
    const error = (await open(disk).catch((e: unknown) => e)) as CorruptError;
    expect(error).toBeInstanceOf(CorruptError);
    expect(error.source).toBe(name);
    expect(error.offset).toBeLessThanOrEqual(Math.floor(size / 2));
    expect(error.message).toMatch(new RegExp(`^${name} at byte \\d+: (checksum mismatch|frame length)`));
  });

  test('a whole record (good CRC) that does not fit the schema or the format refuses to open, naming file, offset and record', async () => {
    for (const [bad, what] of [
      [encodeLogRecord(3, [{ table: 'accounts', key: [9], row: [9, 'x@y'] }]), /record 3: .*array of 5 values/],
      [encodeLogRecord(3, [{ table: 'nope', key: [9], row: [9, 'x@y', 0n, null, null] }]), /record 3: .*nope/],
      [frame(encodeMsgpack([3, [['accounts', 7]]])), /malformed write/],
      [frame(encodeMsgpack([3, [['accounts', [9, 'x@y', 0n, null, null]]], 'extra'])), /malformed log record/],
    ] as const) {
      const disk = new SimDisk({ random: () => 0.5 });
      const store = await open(disk);
      await commitAccounts(store, 0, 2);
      await store.close();
      const name = segmentName(0);
      const at = disk.contents(name)!.length;
      const file = await disk.open(name, { create: false });
      await file.append(bad);
      await file.append(encodeLogRecord(4, [{ table: 'accounts', key: [10], row: [10, 'z@y', 0n, null, null] }])); // whole data follows: not a torn tail
      await file.sync();
      const error = (await open(disk).catch((e: unknown) => e)) as CorruptError;
      expect(error).toBeInstanceOf(CorruptError);
      expect([error.source, error.offset]).toEqual([name, at]);
      expect(error.message).toMatch(what);
    }
  });

  test('checkpoints keep the log bounded and the state intact', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk, { checkpointBytes: 2000 });
    await commitAccounts(store, 0, 300);
    await store.checkpoint();
    await commitAccounts(store, 300, 5);
    const names = await disk.list();
    // The newest image, the one before it, and the log from that one on (see the fallback tests below).
    const images = names.filter((n) => n.startsWith('snap-'));
    expect(images).toHaveLength(2);
    const segments = names.filter((n) => n.startsWith('log-'));
    expect(segments.every((n) => n.slice(4, 20) >= images[0]!.slice(5, 21))).toBe(true);
    expect(segments.length).toBeLessThanOrEqual(3);
    for (const name of names) if (name.startsWith('log-')) expect(disk.contents(name)!.length).toBeLessThan(4000);
    const hash = store.store.contentHash();
    await store.close();
    const reopened = await open(disk);
    expect(reopened.store.contentHash()).toBe(hash);
    expect(reopened.store.version).toBe(305);
  });

  test('a corrupt newest image falls back to the previous one plus the log from it: nothing acknowledged is lost', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk);
    await commitAccounts(store, 0, 40);
    await store.checkpoint(); // snap 40
    await commitAccounts(store, 40, 30);
    await store.checkpoint(); // snap 70; snap 40 and the log from 40 stay
    await commitAccounts(store, 70, 5);
    const hash = store.store.contentHash();
    await store.close();
    const newest = snapshotName(70);
    expect(await disk.list()).toContain(snapshotName(40));
    disk.corrupt(newest, Math.floor(disk.contents(newest)!.length / 2), new Uint8Array([0xde, 0xad]));
    const reports: SnapshotCorruptEvent[] = [];
    const reopened = await open(disk, { listeners: { 'snapshot-corrupt': (event) => reports.push(event) } });
    expect(reopened.store.contentHash()).toBe(hash);
    expect(reopened.store.version).toBe(75);
    expect(reports.map((r) => [r.file, r.error.code, r.error.source])).toEqual([[newest, 'CORRUPT', newest]]);
    expect(await disk.list()).not.toContain(newest); // the corrupt image is gone
    // The next checkpoint keeps the image that loaded (40) as its fallback.
    await commitAccounts(reopened, 75, 5);
    await reopened.checkpoint();
    expect((await disk.list()).filter((n) => n.startsWith('snap-'))).toEqual([snapshotName(40), snapshotName(80)]);
    await reopened.close();
    expect((await open(disk)).store.version).toBe(80);
  });

  test('with every image corrupt, opening refuses with the newest image\'s error and changes nothing', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk);
    await commitAccounts(store, 0, 10);
    await store.checkpoint();
    await commitAccounts(store, 10, 10);
    await store.checkpoint();
    await store.close();
    for (const version of [10, 20]) disk.corrupt(snapshotName(version), 30, new Uint8Array([0xff]));
    const before = await disk.list();
    const error = (await open(disk).catch((e: unknown) => e)) as CorruptError;
    expect(error).toBeInstanceOf(CorruptError);
    expect(error.source).toBe(snapshotName(20));
    expect(await disk.list()).toEqual(before);
  });

  test('sync policy always acknowledges a commit only after a sync, and commits that arrive together share one', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk);
    await commitAccounts(store, 100, 1); // the segment exists and is synced from here on
    const syncs = disk.stats.syncs;
    const acks: { version: number; syncs: number }[] = [];
    const pending = Array.from({ length: 20 }, (_, id) => store.commit((tx) => void tx.insert('accounts', { id, email: `${id}@x` })).then((r) => acks.push({ version: r.version, syncs: disk.stats.syncs - syncs })));
    await Promise.all(pending);
    expect(acks.map((a) => a.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(acks.every((a) => a.syncs >= 1)).toBe(true);
    expect(disk.stats.syncs - syncs).toBeLessThanOrEqual(2); // grouped: not one sync per commit
    disk.crash();
    expect((await open(disk)).store.version).toBe(21);
  });

  test('sync policy batch acknowledges only at the injected interval, with one sync for the group', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const timers: (() => void)[] = [];
    const schedule: Schedule = (_ms, fire) => {
      timers.push(fire);
      return () => undefined;
    };
    const store = await open(disk, { sync: 'batch', schedule, batchIntervalMs: 5 });
    const acks: number[] = [];
    const pending = [0, 1, 2].map((id) => store.commit((tx) => void tx.insert('accounts', { id, email: `${id}@x` })).then((r) => acks.push(r.version)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(acks).toEqual([]);
    const syncs = disk.stats.syncs;
    expect(timers).toHaveLength(1);
    timers[0]!();
    await Promise.all(pending);
    expect(acks).toEqual([1, 2, 3]);
    expect(disk.stats.syncs - syncs).toBe(1);
  });

  test('unsynced commits (policy none) may be lost on a crash, but never out of order', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      const disk = new SimDisk({ random: () => rng.next() });
      const store = await open(disk, { sync: 'none' });
      const commits = Array.from({ length: 10 }, (_, id) => store.commit((tx) => void tx.insert('accounts', { id, email: `${id}@x` })));
      await Promise.all(commits);
      disk.crash();
      const reopened = await open(disk);
      const version = reopened.store.version;
      expect(reopened.store.read((tx) => tx.scan('accounts').map((row) => row['id']))).toEqual(Array.from({ length: version }, (_, i) => i));
    }
  });
});

describe('durable schema changes (DurableStore.alterSchema)', () => {
  const withPhone: SchemaDef = {
    tables: [
      { ...accounts.tables[0]!, fields: [...accounts.tables[0]!.fields, { name: 'phone', type: 'string', default: 'unknown' }] },
      accounts.tables[1]!,
    ],
  };

  test('persisted: a reopen sees the new schema (given or not), rows converted, commits on both sides of the change kept', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const store = await open(disk);
    await commitAccounts(store, 0, 5);
    await store.alterSchema(withPhone);
    await store.commit((tx) => void tx.insert('accounts', { id: 5, email: 'u5@x', phone: '555' }));
    const hash = store.store.contentHash();
    disk.crash(); // sync always: everything acknowledged is on disk
    for (const schema of [withPhone, undefined]) {
      const reopened = await DurableStore.open({ disk, checkpointBytes: 0, ...(schema === undefined ? {} : { schema }) });
      expect(reopened.store.schema.fingerprint).toBe(store.store.schema.fingerprint);
      expect(reopened.store.contentHash()).toBe(hash);
      expect(reopened.store.read((tx) => [tx.get('accounts', 1)?.['phone'], tx.get('accounts', 5)?.['phone']])).toEqual(['unknown', '555']);
      await reopened.close();
    }
  });

  test('refused in evolution mode (EVOLUTION_MODE) and on incompatible schemas, leaving store and files as they were', async () => {
    const disk = new SimDisk({ random: () => 0.5 });
    const evolving = await open(disk, { evolution: true });
    await commitAccounts(evolving, 0, 3);
    const hash = evolving.store.contentHash();
    await expect(evolving.alterSchema(withPhone)).rejects.toMatchObject({ code: 'EVOLUTION_MODE' });
    const narrowed: SchemaDef = { tables: [{ ...accounts.tables[0]!, fields: accounts.tables[0]!.fields.map((f) => (f.name === 'balance' ? { ...f, type: 'int32' as const, default: 0 } : f)) }, accounts.tables[1]!] };
    await evolving.close();
    const plain = await open(disk);
    const files = await disk.list();
    await expect(plain.alterSchema(narrowed)).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA' });
    expect(plain.store.contentHash()).toBe(hash);
    expect(await disk.list()).toEqual(files);
    await plain.close();
    expect((await open(disk)).store.contentHash()).toBe(hash);
  });
});

describe('durable store on node:fs', () => {
  test('survives close and reopen in a real directory', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'chorus-store-'));
    try {
      const disk = await NodeDisk.open(directory);
      const store = await open(disk);
      await commitAccounts(store, 0, 50);
      await store.checkpoint();
      await commitAccounts(store, 50, 10);
      const hash = store.store.contentHash();
      await store.close();
      const reopened = await open(await NodeDisk.open(directory));
      expect(reopened.store.contentHash()).toBe(hash);
      await reopened.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
