/**
 * The bank workload: accounts whose balances only ever move between each other. Clients transfer
 * money (a transaction that reads both balances and writes both, certified so that no update is lost)
 * and read every balance from their node's local snapshot, while faults come and go. Every read must
 * sum to the opening total (simulate/checkers/bank.ts): a torn apply, a lost or doubled transfer, or an
 * inconsistent snapshot shows up as a wrong total. After healing, every node must hold the same data.
 * A transfer that vanished whole keeps the total: so each transfer also inserts a row of its own (keyed
 * by a unique id, in the same transaction), which every snapshot read on the node that acknowledged it
 * must show from then on (ExpectedTransfers), and which must be there at the end on every live data node
 * for each ok transfer, and nowhere for a failed one (checkTransferRows).
 * On a detached node (a standalone database) clients deposit money instead, left out of the history:
 * attach must discard it, and a deposit that reached the cluster would break every later total.
 */
import type { SchemaDef } from '../src/store/schema.js';
import type { SimCluster } from './cluster.js';
import type { Outcome } from './cluster.js';
import { HistoryRecorder } from './history.js';
import { checkBank, checkTransferRows } from './checkers/bank.js';
import type { TransferRow } from './checkers/bank.js';
import type { ReadTx } from '../src/store/read-tx.js';
import { operationsOf } from './history.js';
import { clusterFor, convergenceProblem, finalStores, recordOutcome, resultOf, runPhases, scheduleFaults, thinkMs } from './workload.js';
import type { WorkloadOptions, WorkloadResult } from './workload.js';

const schema: SchemaDef = {
  tables: [
    { name: 'account', fields: [{ name: 'id', type: 'string' }, { name: 'balance', type: 'int32' }], primaryKey: ['id'] },
    // Id and amount only: every row is in every state image, and images are taken often (rows cost, measured).
    { name: 'transfer', fields: [{ name: 'id', type: 'int32' }, { name: 'amount', type: 'int32' }], primaryKey: ['id'] },
  ],
};
/** Transfers acknowledged earlier that each snapshot read checks again, beyond those acknowledged since the node's last read. */
const transfersRecheckedPerRead = 4;
/** Reads missing an expected transfer row that a run's problem describes; later ones are counted. */
const missedRowsReportedMax = 10;
const openingBalance = 100;
const setupMsMax = 10_000;
/** What a client deposits on a detached node (not a cluster operation: its history leaves it out). */
const standaloneDeposit = 1_000;
/** Thrown by a transfer the balance cannot cover: one shared object (no stack captured per refusal). */
const insufficientFunds = Object.freeze({ code: 'INSUFFICIENT', message: 'insufficient funds' });

export interface BankOptions extends WorkloadOptions {
  readonly accounts?: number;
}

export function runBankWorkload(options: BankOptions): WorkloadResult {
  const cluster = clusterFor(options, schema);
  const { sim } = cluster;
  const accounts = Array.from({ length: options.accounts ?? 5 }, (_, i) => `acct${i}`);
  const problems: string[] = [];
  if (!openAccounts(cluster, accounts)) problems.push(`the opening transaction did not commit within ${setupMsMax} ms without faults`);
  scheduleFaults(sim, cluster.nodes, options.faults, cluster, options.timeline); // times count from now: after the opening
  const history = new HistoryRecorder();
  const expected = new ExpectedTransfers(options.seed);
  let nextTransfer = 1;
  let stopped = false;
  const step = (process: number) => {
    if (stopped) return;
    const node = cluster.dataNodes[process % cluster.dataNodes.length]!;
    const again = () => sim.at(thinkMs(cluster, options), () => step(process));
    if (cluster.membership(node) === 'detached') {
      // Standalone (see the file's header): money made out of nothing, which must never reach the cluster.
      const id = accounts[sim.rng.int(accounts.length)]!;
      cluster.transact(node, (tx) => void tx.update('account', { id, balance: Number(tx.get('account', id)?.['balance'] ?? 0) + standaloneDeposit }), again);
      return;
    }
    if (sim.rng.chance(0.5)) {
      if (!cluster.isReady(node)) return again(); // a node still recovering serves no reads
      // A snapshot read of every balance on this node's tables: it must always add up.
      const handle = history.invoke({ process, f: 'read', key: null, value: null, time: sim.nowMs });
      const balances = cluster.stores.get(node)!.read((tx) => {
        expected.check(node, tx, sim.nowMs);
        return Object.fromEntries(accounts.map((id) => [id, Number(tx.get('account', id)?.['balance'] ?? 0)]));
      });
      history.ok(handle, sim.nowMs, balances);
      again();
      return;
    }
    const from = accounts[sim.rng.int(accounts.length)]!;
    const to = accounts[(accounts.indexOf(from) + 1 + sim.rng.int(accounts.length - 1)) % accounts.length]!;
    const amount = 1 + sim.rng.int(20);
    const id = nextTransfer++;
    const handle = history.invoke({ process, f: 'transfer', key: null, value: { from, to, amount, id }, time: sim.nowMs });
    cluster.transact(node, (tx) => {
      const fromBalance = Number(tx.get('account', from)?.['balance']);
      const toBalance = Number(tx.get('account', to)?.['balance']);
      if (fromBalance < amount) throw insufficientFunds;
      tx.update('account', { id: from, balance: fromBalance - amount });
      tx.update('account', { id: to, balance: toBalance + amount });
      tx.insert('transfer', { id, amount });
    }, (outcome: Outcome) => {
      recordOutcome(history, handle, outcome, sim.nowMs, false);
      if (outcome.kind === 'ok') expected.acknowledged(node, id);
      again();
    });
  };
  for (let p = 0; p < (options.clients ?? 6); p++) sim.at(p, () => step(p));
  runPhases(cluster, options, () => void (stopped = true));
  const verdict = checkBank(history.events, { total: openingBalance * accounts.length, accounts });
  if (verdict.ok !== true) problems.push(`bank invariant broken: ${JSON.stringify(verdict).slice(0, 1500)}`);
  problems.push(...expected.problems(), ...transferRowsProblems(cluster, history));
  problems.push(...convergenceProblem(cluster));
  const transfers = history.events.filter((e) => e.type === 'ok' && e.f === 'transfer').length;
  return resultOf(options, cluster, history, problems, transfers);
}

/** Opens the accounts in one transaction before the faults start, retrying until it commits. */
function openAccounts(cluster: SimCluster, accounts: readonly string[]): boolean {
  let done = false;
  const attempt = () => {
    cluster.transact(cluster.dataNodes[0]!, (tx) => {
      for (const id of accounts) if (tx.get('account', id) === undefined) tx.insert('account', { id, balance: openingBalance });
    }, (outcome) => {
      if (outcome.kind === 'ok') done = true;
      else cluster.sim.at(50, attempt);
    });
  };
  attempt();
  const committed = cluster.sim.runUntil(() => done, setupMsMax);
  // Every node has applied it once the first node has and the cluster is quiet: give it a moment.
  cluster.sim.runFor(100);
  return committed;
}

/** Every live, recovered data node's transfer rows held against the history (checkTransferRows). */
function transferRowsProblems(cluster: SimCluster, history: HistoryRecorder): string[] {
  const operations = operationsOf(history.events, 'checkTransferRows');
  return finalStores(cluster).flatMap(({ node, store }) => {
    const rows = new Map<number, TransferRow>();
    store.read((tx) => tx.each('transfer', undefined, (row) => void rows.set(Number(row['id']), { amount: Number(row['amount']) })));
    const verdict = checkTransferRows(history.events, rows, operations);
    return verdict.ok ? [] : [`seed ${cluster.sim.seed}: transfer rows wrong on ${node} at the end: ${verdict.message.slice(0, 1500)}`];
  });
}

/**
 * The transfers each node acknowledged, which every later snapshot read on that node must show: its
 * tables held the row when it answered ok, and a node only serves reads once its tables hold at least
 * what they held before it restarted. Each read checks the transfers acknowledged there since its last
 * read, and `transfersRecheckedPerRead` earlier ones in turn (so that the cost stays linear in the run).
 */
class ExpectedTransfers {
  private readonly perNode = new Map<string, { acked: number[]; checked: number; cursor: number }>();
  private readonly missing: string[] = [];
  private missingTotal = 0;

  constructor(private readonly seed: number) {}

  acknowledged(node: string, id: number): void {
    this.of(node).acked.push(id);
  }

  check(node: string, tx: ReadTx, atMs: number): void {
    const state = this.of(node);
    const { acked } = state;
    let missing: Set<number> | undefined;
    const expect = (id: number) => void (tx.get('transfer', id) === undefined && (missing ??= new Set()).add(id));
    for (; state.checked < acked.length; state.checked++) expect(acked[state.checked]!);
    for (let i = 0; i < Math.min(transfersRecheckedPerRead, acked.length); i++) {
      state.cursor = (state.cursor + 1) % acked.length;
      expect(acked[state.cursor]!);
    }
    if (missing === undefined) return;
    this.missingTotal++;
    if (this.missing.length < missedRowsReportedMax) this.missing.push(`a read on ${node} at ${atMs.toFixed(3)} ms has no row for transfer(s) ${[...missing].join(', ')}`);
  }

  problems(): string[] {
    if (this.missingTotal === 0) return [];
    return [`seed ${this.seed}: ${this.missingTotal} snapshot read(s) missed the row of a transfer their node had acknowledged: ${this.missing.join('; ')}`];
  }

  private of(node: string): { acked: number[]; checked: number; cursor: number } {
    let state = this.perNode.get(node);
    if (state === undefined) this.perNode.set(node, (state = { acked: [], checked: 0, cursor: 0 }));
    return state;
  }
}
