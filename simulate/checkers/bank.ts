/**
 * The bank invariant: transfers move money between accounts and never create or destroy it, so every
 * successful snapshot read of all accounts sums to the same total. Also checked, because a sum can
 * hide them: a read that misses an account or shows one that should not exist (when the accounts are
 * given), and a negative balance (unless the workload allows them).
 *
 * Operations: `transfer` with value `{ from, to, amount }`; `read` whose ok value maps each account to
 * its balance (integers: money in the smallest unit, so sums are exact). Keys are null by convention
 * and ignored. Only `ok` reads are checked; transfers are validated but a transfer's outcome does not
 * matter to the invariant, which must hold whichever transfers happened.
 *
 * A total cannot show an acknowledged transfer that vanished whole (both balances back as they were):
 * when each transfer also writes a row of its own (`id` in its value, the row in the same transaction),
 * checkTransferRows holds a node's final rows against the history: every ok transfer's row is there, no
 * failed transfer's row is (it certainly did not happen), every row is a transfer some client made.
 */
import type { History, JsonValue, Operation } from '../history.js';
import { operationsOf } from '../history.js';
import { assertNever } from '../../src/runtime/assert.js';
import { invalidArgument } from '../../src/runtime/errors.js';
import { AnomalyList, describeOp } from './internal/ops.js';

export interface BankOptions {
  /** The sum of all balances, constant for the whole run. */
  readonly total: number;
  /** Every account; when given, a read must show exactly these. */
  readonly accounts?: readonly string[];
  /** Whether a balance may go below zero (default false). */
  readonly negativeBalancesAllowed?: boolean;
}

export type BankAnomaly =
  | { readonly kind: 'wrong-total'; readonly read: Operation; readonly total: number; readonly expected: number }
  | { readonly kind: 'missing-accounts'; readonly read: Operation; readonly accounts: readonly string[] }
  | { readonly kind: 'unexpected-accounts'; readonly read: Operation; readonly accounts: readonly string[] }
  | { readonly kind: 'negative-balance'; readonly read: Operation; readonly account: string; readonly balance: number };

/** A transfer's own row, as the workload writes it (keyed by the transfer's id). */
export interface TransferRow {
  readonly amount: number;
}

export type TransferRowAnomaly =
  | { readonly kind: 'lost-transfer'; readonly id: number; readonly transfer: Operation }
  | { readonly kind: 'failed-transfer-applied'; readonly id: number; readonly transfer: Operation }
  | { readonly kind: 'unknown-transfer'; readonly id: number; readonly row: TransferRow }
  | { readonly kind: 'wrong-transfer'; readonly id: number; readonly row: TransferRow; readonly transfer: Operation };

export type TransferRowsResult =
  | { readonly ok: true; readonly rows: number }
  | { readonly ok: false; readonly rows: number; readonly anomalies: readonly TransferRowAnomaly[]; readonly anomaliesTotal: number; readonly message: string };

export type BankResult =
  | { readonly ok: true; readonly reads: number }
  | {
      readonly ok: false;
      readonly reads: number;
      /** The first `checkerAnomaliesReportedMax`, in history order. */
      readonly anomalies: readonly BankAnomaly[];
      readonly anomaliesTotal: number;
      readonly message: string;
    };

const api = 'checkBank';

export function checkBank(history: History, options: BankOptions): BankResult {
  if (!Number.isSafeInteger(options.total)) throw invalidArgument(api, `total must be a safe integer, got ${options.total}`);
  const accounts = options.accounts === undefined ? undefined : new Set(options.accounts);
  const ops = operationsOf(history, api);
  const anomalies = new AnomalyList<BankAnomaly>();
  let reads = 0;
  for (const op of ops) {
    validate(op);
    if (op.f !== 'read' || op.type !== 'ok') continue;
    reads++;
    const balances = op.value as Readonly<Record<string, number>>;
    checkRead(op, balances, options, accounts, anomalies);
  }
  if (anomalies.total === 0) return { ok: true, reads };
  const message = [
    `bank invariant broken in ${anomalies.total} place(s) over ${reads} ok reads (total must stay ${options.total}):`,
    ...anomalies.reported.slice(0, 10).map(describeAnomaly),
  ].join('\n');
  return { ok: false, reads, anomalies: anomalies.reported, anomaliesTotal: anomalies.total, message };
}

function checkRead(
  read: Operation,
  balances: Readonly<Record<string, number>>,
  options: BankOptions,
  accounts: ReadonlySet<string> | undefined,
  anomalies: AnomalyList<BankAnomaly>,
): void {
  const seen = Object.keys(balances);
  let total = 0;
  for (const account of seen) total += balances[account] ?? 0;
  if (total !== options.total) anomalies.add({ kind: 'wrong-total', read, total, expected: options.total });
  if (accounts !== undefined) {
    const missing = [...accounts].filter((a) => !Object.hasOwn(balances, a));
    const unexpected = seen.filter((a) => !accounts.has(a));
    if (missing.length > 0) anomalies.add({ kind: 'missing-accounts', read, accounts: missing });
    if (unexpected.length > 0) anomalies.add({ kind: 'unexpected-accounts', read, accounts: unexpected });
  }
  if (options.negativeBalancesAllowed !== true) {
    for (const account of seen) {
      const balance = balances[account] ?? 0;
      if (balance < 0) anomalies.add({ kind: 'negative-balance', read, account, balance });
    }
  }
}

/**
 * Holds a node's final transfer rows (by id) against the history: every ok transfer's row is there with
 * its amount; no failed transfer's row is; every row's id is a transfer's (info transfers may
 * or may not have happened). `operations`: operationsOf(history), when the caller has it already.
 */
export function checkTransferRows(history: History, rows: ReadonlyMap<number, TransferRow>, operations?: readonly Operation[]): TransferRowsResult {
  const byId = new Map<number, Operation>();
  for (const op of operations ?? operationsOf(history, 'checkTransferRows')) {
    if (op.f !== 'transfer') continue;
    const id = (op.invokeValue as Readonly<Record<string, JsonValue>> | null)?.['id'];
    if (typeof id !== 'number' || !isTransfer(op.invokeValue)) throw invalidArgument('checkTransferRows', `operation at event ${op.invokeIndex}: a transfer's value must be { from, to, amount, id }`);
    if (byId.has(id)) throw invalidArgument('checkTransferRows', `operation at event ${op.invokeIndex}: transfer id ${id} is used twice`);
    byId.set(id, op);
  }
  const anomalies = new AnomalyList<TransferRowAnomaly>();
  for (const [id, transfer] of byId) {
    const row = rows.get(id);
    if (transfer.type === 'ok' && row === undefined) anomalies.add({ kind: 'lost-transfer', id, transfer });
    if (transfer.type === 'fail' && row !== undefined) anomalies.add({ kind: 'failed-transfer-applied', id, transfer });
    const made = transfer.invokeValue as unknown as TransferRow;
    if (row !== undefined && row.amount !== made.amount) anomalies.add({ kind: 'wrong-transfer', id, row, transfer });
  }
  for (const [id, row] of rows) if (!byId.has(id)) anomalies.add({ kind: 'unknown-transfer', id, row });
  if (anomalies.total === 0) return { ok: true, rows: rows.size };
  const message = [`${anomalies.total} transfer row(s) wrong over ${rows.size} rows and ${byId.size} transfers:`, ...anomalies.reported.slice(0, 10).map(describeTransferRowAnomaly)].join('\n');
  return { ok: false, rows: rows.size, anomalies: anomalies.reported, anomaliesTotal: anomalies.total, message };
}

export function describeTransferRowAnomaly(a: TransferRowAnomaly): string {
  switch (a.kind) {
    case 'lost-transfer':
      return `  transfer ${a.id} was acknowledged but its row is missing: ${describeOp(a.transfer)}`;
    case 'failed-transfer-applied':
      return `  transfer ${a.id} failed but its row is there: ${describeOp(a.transfer)}`;
    case 'unknown-transfer':
      return `  transfer row ${a.id} (${JSON.stringify(a.row)}) is no transfer any client made`;
    case 'wrong-transfer':
      return `  transfer row ${a.id} holds ${JSON.stringify(a.row)}, not what was made: ${describeOp(a.transfer)}`;
    default:
      return assertNever(a, 'transfer row anomaly');
  }
}

function validate(op: Operation): void {
  const where = `operation at event ${op.invokeIndex}`;
  if (op.f === 'transfer') {
    if (!isTransfer(op.invokeValue)) throw invalidArgument(api, `${where}: a transfer's value must be { from, to, amount }`);
    return;
  }
  if (op.f !== 'read') throw invalidArgument(api, `${where}: f "${op.f}" is not a bank operation`);
  if (op.type === 'ok' && !isBalances(op.value)) throw invalidArgument(api, `${where}: a read must return { account: integer balance }`);
}

function isTransfer(value: JsonValue): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const t = value as Readonly<Record<string, JsonValue>>;
  return typeof t['from'] === 'string' && typeof t['to'] === 'string' && typeof t['amount'] === 'number';
}

function isBalances(value: JsonValue): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((b) => typeof b === 'number' && Number.isSafeInteger(b));
}

export function describeAnomaly(a: BankAnomaly): string {
  switch (a.kind) {
    case 'wrong-total':
      return `  read sums to ${a.total}, not ${a.expected}: ${describeOp(a.read)}`;
    case 'missing-accounts':
      return `  read misses account(s) ${a.accounts.join(', ')}: ${describeOp(a.read)}`;
    case 'unexpected-accounts':
      return `  read shows unknown account(s) ${a.accounts.join(', ')}: ${describeOp(a.read)}`;
    case 'negative-balance':
      return `  account ${a.account} is at ${a.balance}: ${describeOp(a.read)}`;
    default:
      return assertNever(a, 'bank anomaly');
  }
}
