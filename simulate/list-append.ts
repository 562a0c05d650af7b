/**
 * The list-append workload: each key holds a list of integers; clients append unique elements (a
 * transaction that reads the list and writes it back one longer, certified so that no append is lost)
 * and read whole lists through the log, while faults come and go. Checked: every read is consistent
 * with one order of appends per key and with real time (simulate/checkers/list-append.ts), no
 * acknowledged append is missing from the final lists, and every node converges. On a detached node
 * (a standalone database) clients append negative elements, left out of the history: attach must
 * discard them (the checker would call one a phantom; the final lists must hold none).
 */
import type { SchemaDef } from '../src/store/schema.js';
import type { Outcome } from './cluster.js';
import { HistoryRecorder, operationsOf } from './history.js';
import type { OpHandle } from './history.js';
import { checkListAppend } from './checkers/list-append.js';
import { checkLostWrites } from './checkers/lost-writes.js';
import { clusterFor, convergenceProblem, finalStores, lostWritesProblems, recordOutcome, resultOf, runPhases, scheduleFaults, thinkMs } from './workload.js';
import type { WorkloadOptions, WorkloadResult } from './workload.js';

const schema: SchemaDef = { tables: [{ name: 'list', fields: [{ name: 'k', type: 'string' }, { name: 'items', type: 'int32[]' }], primaryKey: ['k'] }] };

export function runListAppendWorkload(options: WorkloadOptions): WorkloadResult {
  const cluster = clusterFor(options, schema);
  const { sim } = cluster;
  const keys = options.keys ?? ['a', 'b', 'c'];
  scheduleFaults(sim, cluster.nodes, options.faults, cluster, options.timeline);
  const history = new HistoryRecorder();
  const listOf = (tx: { get(table: string, key: unknown): Record<string, unknown> | undefined }, key: string) => [...((tx.get('list', key)?.['items'] as number[] | undefined) ?? [])];
  let nextElement = 1;
  let standaloneElement = 0;
  let stopped = false;
  const step = (process: number) => {
    if (stopped) return;
    const node = cluster.dataNodes[process % cluster.dataNodes.length]!;
    const key = keys[sim.rng.int(keys.length)]!;
    const again = () => sim.at(thinkMs(cluster, options), () => step(process));
    const record = (handle: OpHandle, read: boolean) => (outcome: Outcome) => {
      recordOutcome(history, handle, outcome, sim.nowMs, read);
      again();
    };
    if (cluster.membership(node) === 'detached') {
      // Standalone: an element nobody appends in the history (negative), which attach must discard.
      const element = --standaloneElement;
      cluster.transact(node, (tx) => void tx.upsert('list', { k: key, items: [...listOf(tx, key), element] }), again);
    } else if (sim.rng.chance(0.5)) {
      const handle = history.invoke({ process, f: 'read', key, value: null, time: sim.nowMs });
      cluster.transact(node, (tx) => listOf(tx, key), record(handle, true));
    } else {
      const element = nextElement++;
      const handle = history.invoke({ process, f: 'append', key, value: element, time: sim.nowMs });
      cluster.transact(node, (tx) => void tx.upsert('list', { k: key, items: [...listOf(tx, key), element] }), record(handle, false));
    }
  };
  for (let p = 0; p < (options.clients ?? 6); p++) sim.at(p, () => step(p));
  runPhases(cluster, options, () => void (stopped = true));

  const problems: string[] = [];
  const verdict = checkListAppend(history.events);
  if (verdict.ok !== true) problems.push(`list-append anomalies: ${JSON.stringify(verdict).slice(0, 1500)}`);
  const stores = finalStores(cluster);
  if (stores.length === 0) problems.push('no data node is up and recovered after the liveness phase');
  const operations = operationsOf(history.events, 'checkLostWrites');
  const verdicts = stores.map(({ node, store }) => {
    const finalState = new Map(keys.map((k) => [k, store.read((tx) => listOf(tx, k))] as const));
    const leaked = [...finalState].filter(([, items]) => items.some((e) => e < 0));
    if (leaked.length > 0) problems.push(`appends made on a detached node reached the cluster (on ${node}): ${JSON.stringify(leaked)}`);
    return { node, verdict: checkLostWrites(history.events, finalState, { operations }) };
  });
  problems.push(...lostWritesProblems(verdicts, 'appends'));
  problems.push(...convergenceProblem(cluster));
  const appends = history.events.filter((e) => e.type === 'ok' && e.f === 'append').length;
  return resultOf(options, cluster, history, problems, appends);
}
