/**
 * The simulator's journal: a crash keeps what was synced and a prefix of what was not, a rewrite is
 * durable and whole, and records are the bytes appended whatever the caller does with its buffer later.
 */
import { describe, expect, it } from 'vitest';
import { SimJournal, simJournalSlabBytes, simulatedCrash } from '../../simulate/sim-journal.js';
import { Rng } from '../../simulate/rng.js';

const record = (n: number, length = 8) => new Uint8Array(length).fill(n);
const recoveredOf = (journal: SimJournal) => journal.recovered.map((r) => Array.from(r));

describe('SimJournal', () => {
  it('keeps the bytes appended, not the caller buffer they came from', () => {
    const journal = new SimJournal();
    const buffer = record(1);
    journal.append(buffer);
    buffer.fill(9);
    journal.append(buffer);
    journal.sync();
    journal.reopen();
    expect(recoveredOf(journal)).toEqual([Array(8).fill(1), Array(8).fill(9)]);
  });

  it('keeps records larger than a slab, and records spanning many slabs, intact', () => {
    const journal = new SimJournal();
    const big = record(7, simJournalSlabBytes + 3);
    journal.append(big);
    for (let i = 0; i < 2000; i++) journal.append(record(i % 256, 100));
    journal.sync();
    journal.reopen();
    expect(journal.recovered).toHaveLength(2001);
    const [first, ...rest] = journal.recovered;
    expect(first!.length === big.length && first!.every((b) => b === 7)).toBe(true);
    expect(rest.every((r, i) => r.length === 100 && r.every((b) => b === i % 256))).toBe(true);
  });

  it('loses on a crash only records appended since the last sync, and of those keeps a prefix', () => {
    const kept = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const journal = new SimJournal();
      for (let n = 0; n < 3; n++) journal.append(record(n));
      journal.sync();
      for (let n = 3; n < 6; n++) journal.append(record(n));
      journal.crash(new Rng(seed));
      journal.reopen();
      const survivors = journal.recovered.map((r) => r[0]!);
      expect(survivors).toEqual([...Array(survivors.length).keys()]);
      expect(survivors.length).toBeGreaterThanOrEqual(3);
      kept.add(survivors.length);
    }
    expect([...kept].sort()).toEqual([3, 4, 5, 6]); // none, some, or all of the unsynced ones
  });

  it('makes a rewrite durable and whole, and views recovered before a crash keep their bytes', () => {
    const journal = new SimJournal();
    journal.append(record(1));
    journal.sync();
    journal.reopen();
    const before = journal.recovered[0]!;
    journal.rewrite([record(5), record(6)]);
    journal.append(record(7));
    journal.crash(new Rng(1));
    journal.append(record(8)); // after the crash, appends go on from what survived
    journal.sync();
    journal.reopen();
    const survivors = journal.recovered.map((r) => r[0]!);
    expect(survivors.slice(0, 2)).toEqual([5, 6]);
    expect(survivors.at(-1)).toBe(8);
    expect(Array.from(before)).toEqual(Array(8).fill(1));
  });
});

describe('SimJournal under a crash mid-write', () => {
  it('throws SimulatedCrash from an armed sync, leaving what it covered unsynced', () => {
    let armed = false;
    const journal = new SimJournal(() => armed);
    journal.append(record(1));
    journal.sync();
    journal.append(record(2));
    armed = true;
    expect(() => journal.sync()).toThrow(simulatedCrash);
    const lengths = new Set<number>();
    for (let seed = 0; seed < 50; seed++) {
      const copy = new SimJournal();
      copy.append(record(1));
      copy.sync();
      copy.append(record(2));
      copy.crash(new Rng(seed));
      copy.reopen();
      lengths.add(copy.recovered.length);
    }
    expect([...lengths].sort()).toEqual([1, 2]);
  });

  it('may tear the first record it loses; reopening cuts a torn frame off and keeps every whole record before it', () => {
    const made = { torn: 0, cut: 0 };
    for (let seed = 0; seed < 300; seed++) {
      const journal = new SimJournal();
      for (let n = 0; n < 3; n++) journal.append(record(n, 40 + 97 * n));
      journal.sync();
      for (let n = 3; n < 6; n++) journal.append(record(n, 40 + 97 * n));
      journal.crash(new Rng(seed));
      journal.reopen();
      // Whatever tore, what the actor recovers is whole records, the first ones appended, in order.
      expect(journal.recovered.map((r) => [r[0], r.length])).toEqual(journal.recovered.map((_, n) => [n, 40 + 97 * n]));
      made.torn += journal.torn.made;
      made.cut += journal.torn.cut;
      // The torn tail is gone for good: appends after reopening follow the recovered records.
      journal.append(record(9));
      journal.sync();
      journal.reopen();
      expect(journal.recovered.at(-1)![0]).toBe(9);
    }
    expect(made.torn).toBeGreaterThan(50);
    expect(made.cut).toBe(made.torn); // zeroed bytes of a record of one value always change its checksum
  });
});
