/**
 * `npm run bench -- SUITE`: runs one benchmark suite (see bench/<suite>.ts) and prints its table and,
 * as the last line, its JSON summary. Suites: runtime, store, cluster [inline|thread], sim [seeds], tcp, journal,
 * frame-mac.
 */
import type { BenchResult } from './report.js';
import { printResult } from './report.js';

const suites: Record<string, () => Promise<BenchResult>> = {
  runtime: async () => (await import('./runtime.js')).runRuntimeBench(),
  store: async () => (await import('./store.js')).runStoreBench(),
  cluster: async () => (await import('./cluster.js')).runClusterBench(process.argv[3] === 'thread' ? 'thread' : 'inline'),
  sim: async () => (await import('./sim.js')).runSimBench(process.argv[3] === undefined ? undefined : Number(process.argv[3])),
  tcp: async () => (await import('./tcp.js')).runTcpBench(),
  journal: async () => (await import('./journal.js')).runJournalBench(),
  'frame-mac': async () => (await import('./frame-mac.js')).runFrameMacBench(),
};

const name = process.argv[2];
const suite = name === undefined ? undefined : suites[name];
if (suite === undefined) {
  process.stderr.write(`usage: npm run bench -- <suite>\nsuites: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
printResult(await suite());
