/**
 * `npm run bench -- journal`: the Raft journal at start. A replay of N records of one entry each (what a
 * follower under single writes leaves between two images) should take time in proportion to N: the
 * `msPer1kRecords` figures stay about flat as N doubles (they grew with N when each record copied the
 * log: 80,000 records took over two minutes). Also: recovering a file journal of 100,000 such records
 * from disk (read, checksums, synced-up-to marks), and appending with an fsync every 64 records (each
 * fsync's mark rides in the next append).
 *
 * The machines are shared: `loadAverage1m` says how busy this one was.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { replay } from '../src/actors/raft-journal.js';
import { FileJournal } from '../src/runtime/file-journal.js';
import { encodeMsgpack } from '../src/store/codec.js';
import type { BenchResult, BenchRow } from './report.js';
import { median } from './report.js';

const everyone = { membership: { members: ['n1', 'n2', 'n3'] }, index: 0 };
const record = (i: number) => encodeMsgpack({ e: [{ term: 1, index: i, data: { kind: 'noop' } }], h: [1, 'n1', i] });

function replayMs(count: number): number {
  const recovered = [encodeMsgpack({ v: 4 })];
  for (let i = 1; i <= count; i++) recovered.push(record(i));
  const samples: number[] = [];
  for (let run = 0; run < 3; run++) {
    const start = performance.now();
    const { log } = replay({ recovered, append() {}, sync() {}, rewrite() {} }, everyone);
    samples.push(performance.now() - start);
    if (log.lastIndex() !== count) throw new Error(`replay gave ${log.lastIndex()} entries of ${count}`);
  }
  return median(samples);
}

function fileJournal(count: number): { recoverMs: number; appendUs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-bench-journal-'));
  try {
    const journal = new FileJournal(dir, 'n1.replicator');
    const start = performance.now();
    for (let i = 1; i <= count; i++) {
      journal.append(record(i));
      if (i % 64 === 0) journal.sync();
    }
    journal.sync();
    const appendUs = ((performance.now() - start) * 1000) / count;
    journal.close();
    const before = performance.now();
    const reopened = new FileJournal(dir, 'n1.replicator');
    const recoverMs = performance.now() - before;
    if (reopened.recovered.length !== count) throw new Error(`recovered ${reopened.recovered.length} of ${count}`);
    reopened.close();
    return { recoverMs, appendUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runJournalBench(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const summary: Record<string, unknown> = { suite: 'journal' };
  for (const count of [25_000, 50_000, 100_000, 200_000]) {
    const ms = replayMs(count);
    rows.push({ name: `replay ${count.toLocaleString('en-US')} records`, value: ms, unit: 'ms' });
    rows.push({ name: `  per 1,000 records`, value: (ms * 1000) / count, unit: 'ms' });
    summary[`replayMs${count / 1000}k`] = Math.round(ms);
    summary[`msPer1kRecords${count / 1000}k`] = Number(((ms * 1000) / count).toFixed(3));
  }
  const { recoverMs, appendUs } = fileJournal(100_000);
  rows.push({ name: 'recover a file journal of 100,000 records', value: recoverMs, unit: 'ms' });
  rows.push({ name: 'append, fsync every 64 records', value: appendUs, unit: 'us/record' });
  summary['recoverMs100k'] = Math.round(recoverMs);
  summary['appendUsPerRecordSyncEvery64'] = Number(appendUs.toFixed(2));
  summary['loadAverage1m'] = Number(loadavg()[0]!.toFixed(2));
  return { rows, summary: summary as BenchResult['summary'] };
}
