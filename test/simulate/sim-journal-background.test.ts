/**
 * The simulator's journal in background-sync mode (syncThen), FileJournal's contract on virtual time: the
 * answer comes only once everything appended before the request is durable, requests made while a sync
 * runs share the next one, a rewrite carries the waiting ones over, a crash before a sync completes may
 * lose what it covers, and an armed crash strikes inside a background sync or a rewrite (old or new, whole).
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/runtime/actor.js';
import { SimJournal, simulatedCrash } from '../../simulate/sim-journal.js';
import type { SimJournalHost } from '../../simulate/sim-journal.js';
import { Rng } from '../../simulate/rng.js';
import { simBackgroundSlowSyncMs, simBackgroundSyncMs } from '../../simulate/limits.js';

const record = (n: number) => new Uint8Array(8).fill(n);
const ask = (n: number): Message => ({ type: 'persisted', seq: n }) as Message;

/** A SimJournal on a hand-run virtual clock: `runFor` completes the syncs due; what it delivers is kept. */
function background(seed = 1, offered = true) {
  const rng = new Rng(seed);
  let nowMs = 0;
  let seq = 0;
  let pending: { atMs: number; seq: number; call: () => void }[] = [];
  const delivered: Message[] = [];
  const crashesInMs: number[] = [];
  const syncs = { started: 0, delaysMs: [] as number[] };
  let armed = false;
  let stalled = false;
  const host: SimJournalHost = {
    rng,
    nowMs: () => nowMs,
    after: (delayMs, call) => {
      syncs.started++;
      syncs.delaysMs.push(delayMs);
      pending.push({ atMs: nowMs + delayMs, seq: seq++, call });
    },
    crashIn: (delayMs) => crashesInMs.push(delayMs),
    stalledSyncMs: () => (stalled ? simBackgroundSlowSyncMs : undefined),
    deliver: offered ? (message) => delivered.push(message) : undefined,
  };
  const journal = new SimJournal(() => armed, host);
  const runFor = (ms: number) => {
    const endMs = nowMs + ms;
    for (;;) {
      const next = pending.filter((p) => p.atMs <= endMs).sort((a, b) => a.atMs - b.atMs || a.seq - b.seq)[0];
      if (next === undefined) break;
      pending = pending.filter((p) => p !== next);
      nowMs = next.atMs;
      next.call();
    }
    nowMs = endMs;
  };
  /** Until no sync is under way (at most this long: syncs are bounded). */
  const settle = () => runFor(2 * simBackgroundSlowSyncMs[1]);
  /** When the sync under way completes. */
  const syncDoneMs = () => Math.min(...pending.map((p) => p.atMs));
  return { journal, delivered, crashesInMs, syncs, runFor, settle, syncDoneMs, arm: () => void (armed = true), stall: () => void (stalled = true), now: () => nowMs };
}

const recovered = (journal: SimJournal) => journal.recovered.map((r) => r[0]!);

describe('SimJournal background sync (syncThen)', () => {
  it('is offered only when the simulator gives it a way to deliver', () => {
    expect(background(1, true).journal.syncThen).toBeTypeOf('function');
    expect(background(1, false).journal.syncThen).toBeUndefined();
    expect(new SimJournal().syncThen).toBeUndefined();
  });

  it('answers only after the sync delay, once the records it covers survive any crash', () => {
    for (let seed = 0; seed < 100; seed++) {
      const { journal, delivered, runFor, settle } = background(seed);
      journal.append(record(1));
      journal.syncThen!(ask(1));
      runFor(simBackgroundSyncMs[0] / 2); // no sync is that fast
      expect(delivered).toEqual([]);
      settle();
      expect(delivered).toEqual([ask(1)]);
      journal.crash(new Rng(seed));
      journal.reopen();
      expect(recovered(journal)).toEqual([1]);
    }
  });

  it('loses, on some crashes before the sync completes, records its request waits for', () => {
    const kept = new Set<number>();
    for (let seed = 0; seed < 100; seed++) {
      const { journal, delivered } = background(seed);
      journal.append(record(1));
      journal.append(record(2));
      journal.syncThen!(ask(1));
      journal.crash(new Rng(seed)); // before it completes
      journal.reopen();
      expect(delivered).toEqual([]);
      kept.add(journal.recovered.length);
    }
    expect([...kept].sort()).toEqual([0, 1, 2]);
  });

  it('makes requests made while a sync runs share the next one (group commit), in order', () => {
    const { journal, delivered, syncs, settle, runFor } = background(3);
    journal.append(record(1));
    journal.syncThen!(ask(1));
    journal.append(record(2));
    journal.syncThen!(ask(2));
    journal.append(record(3));
    journal.syncThen!(ask(3));
    expect(syncs.started).toBe(1);
    while (delivered.length === 0) runFor(0.01);
    expect(delivered).toEqual([ask(1)]); // the first sync began before records 2 and 3
    expect(syncs.started).toBe(2); // one more, for both of them
    journal.crash(new Rng(5)); // the second sync has not completed: records 2 and 3 may go
    journal.reopen();
    expect(recovered(journal)[0]).toBe(1);
    settle();
    expect(delivered).toEqual([ask(1)]); // a crashed process hears nothing more
  });

  it('forgets at a crash the sync under way: it never makes records appended after the restart durable', () => {
    let lost = 0;
    for (let seed = 0; seed < 100; seed++) {
      const { journal, settle } = background(seed);
      for (let n = 1; n <= 3; n++) journal.append(record(n));
      journal.syncThen!(ask(1));
      journal.crash(new Rng(seed)); // the sync under way never completes
      journal.reopen();
      const survivors = journal.recovered.length;
      journal.append(record(7));
      journal.append(record(8));
      settle(); // when that sync would have completed; nothing asked to sync 7 and 8
      journal.crash(new Rng(seed + 1_000));
      journal.reopen();
      expect(recovered(journal).slice(0, survivors)).toEqual([1, 2, 3].slice(0, survivors));
      if (survivors < 2 && journal.recovered.length < survivors + 2) lost++;
    }
    expect(lost).toBeGreaterThan(10);
  });

  it('releases the requests waiting at a rewrite with the next request after it', () => {
    const { journal, delivered, settle } = background(4);
    journal.append(record(1));
    journal.syncThen!(ask(1));
    journal.rewrite([record(7)]);
    settle();
    expect(delivered).toEqual([]); // the sync under way covered the old journal
    journal.append(record(8));
    journal.syncThen!(ask(2));
    settle();
    expect(delivered).toEqual([ask(1), ask(2)]);
    journal.crash(new Rng(1));
    journal.reopen();
    expect(recovered(journal)).toEqual([7, 8]);
  });

  it('takes mostly short syncs, now and then a slow one, always within the named bounds', () => {
    const { journal, syncs, settle, delivered } = background(11);
    for (let i = 0; i < 2_000; i++) {
      journal.append(record(i % 200));
      journal.syncThen!(ask(i));
      settle();
    }
    expect(delivered).toHaveLength(2_000);
    const { delaysMs } = syncs;
    expect(delaysMs).toHaveLength(2_000);
    expect(Math.min(...delaysMs)).toBeGreaterThanOrEqual(simBackgroundSyncMs[0]);
    expect(Math.max(...delaysMs)).toBeLessThanOrEqual(simBackgroundSlowSyncMs[1]);
    const slow = delaysMs.filter((ms) => ms >= simBackgroundSlowSyncMs[0]).length;
    expect(slow).toBeGreaterThan(10);
    expect(slow).toBeLessThan(delaysMs.length / 10);
  });

  it('takes only slow syncs while its disk stalls (a power loss coming)', () => {
    const { journal, syncs, settle, stall } = background(12);
    stall();
    for (let i = 0; i < 50; i++) {
      journal.append(record(i));
      journal.syncThen!(ask(i));
      settle();
    }
    expect(syncs.delaysMs).toHaveLength(50);
    expect(Math.min(...syncs.delaysMs)).toBeGreaterThanOrEqual(simBackgroundSlowSyncMs[0]);
  });
});

describe('SimJournal under an armed crash', () => {
  it('crashes the node inside the background sync a request waits on, once', () => {
    for (let seed = 0; seed < 50; seed++) {
      const { journal, crashesInMs, arm, runFor, delivered, now, syncDoneMs } = background(seed);
      journal.append(record(1));
      journal.syncThen!(ask(1));
      runFor(simBackgroundSyncMs[0] / 2);
      arm();
      journal.append(record(2));
      journal.syncThen!(ask(2));
      journal.syncThen!(ask(3));
      expect(crashesInMs).toHaveLength(1);
      expect(journal.crashes.inBackgroundSync).toBe(1);
      // Before the sync under way (the first, which request 2 waits behind) completes.
      expect(crashesInMs[0]).toBeGreaterThanOrEqual(0);
      expect(now() + crashesInMs[0]!).toBeLessThan(syncDoneMs());
      runFor(crashesInMs[0]!);
      expect(delivered).toEqual([]);
    }
  });

  it('leaves the old records or the new ones, whole, when it strikes a rewrite', () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { journal, arm } = background(seed);
      journal.append(record(1));
      journal.append(record(2));
      journal.sync();
      arm();
      expect(() => journal.rewrite([record(5), record(6), record(7)])).toThrow(simulatedCrash);
      journal.crash(new Rng(seed));
      journal.reopen();
      const after = recovered(journal).join(',');
      expect(['1,2', '5,6,7']).toContain(after);
      outcomes.add(after);
    }
    expect(outcomes.size).toBe(2);
  });
});
