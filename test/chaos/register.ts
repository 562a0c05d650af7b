/**
 * The chaos test's workload: clients of real node processes (chorusdb/client) running a register
 * workload — read (linearizable), write, compare-and-set on a few keys — and recording every operation
 * in the simulator's history format (simulate/history.ts), so that the simulator's checkers judge it.
 *
 * How outcomes are recorded (Jepsen's rule: `fail` only when it certainly did not happen):
 * - ok: the node answered with success (a read records the value it read);
 * - fail: PRECONDITION (the cas compare failed), CONFLICT / UNIQUE / VALIDATION (certified or refused
 *   alike on every node), NO_QUORUM and OVERLOADED (refused before anything entered the log);
 * - info: everything else (TIMEOUT, CONNECTION, STOPPED, CLOSED): it may have happened, or may yet.
 *
 * Values are unique integers per write (process * 1e6 + counter), stored as the row's `v` string.
 *
 * Beside the register, a sequence (row `sequenceKey`, outside the register's keys and its history):
 * process 0 counts it up by compare-and-set (1, 2, 3, ... in log order), and every process reads it
 * locally (the default consistency) from its own node now and then. A node's local reads must never go
 * back, across its crashes and power cuts too: it restarts holding at least what it applied before
 * (its journal syncs a commit index before it applies under it). `readsGoneBack` lists any that did.
 */
import type { HistoryRecorder, JsonValue } from '../../simulate/history.js';
import type { Rng } from '../../simulate/rng.js';
import type { Client, ClientError, ClientOptions } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';

const definiteFailures = new Set(['PRECONDITION', 'CONFLICT', 'UNIQUE', 'VALIDATION', 'NOT_FOUND', 'BAD_REQUEST', 'NO_QUORUM', 'OVERLOADED']);

export interface RegisterOptions {
  readonly processes: number;
  readonly keys: number;
  /** The client port process `p` uses. */
  readonly clientAddr: (p: number) => string;
  readonly client: ClientOptions;
  /** Pause between one process's operations (keeps the history small enough to check). */
  readonly thinkMs: number;
}

/** The sequence's row (the register uses keys 0 .. keys - 1). */
export const sequenceKey = 1_000_000;

export class RegisterWorkload {
  private stopped = false;
  /** Local reads of the sequence lower than one the same process (so the same node) read before. */
  readonly readsGoneBack: string[] = [];
  /** Local reads of the sequence, and steps process 0 counted it up by. */
  readonly sequence = { localReads: 0, steps: 0 };
  /** Process 0: the sequence's value as last confirmed (undefined: read it first). */
  private sequenceAt: number | undefined = 0;
  private readonly running: Promise<void>[] = [];
  /** Operations by outcome, for the test's log. */
  readonly outcomes: Record<string, number> = {};
  /** Waiting for the next acknowledged write (nextWriteAck). */
  private ackWaiters: (() => void)[] = [];

  constructor(
    private readonly options: RegisterOptions,
    private readonly history: HistoryRecorder,
    private readonly rng: Rng,
    private readonly startedMs: number,
  ) {}

  start(): void {
    for (let p = 0; p < this.options.processes; p++) this.running.push(this.process(p));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
  }

  /** Resolves as soon as a node acknowledges a write or a cas (the chaos schedule cuts power right then). */
  nextWriteAck(): Promise<void> {
    return new Promise((resolve) => this.ackWaiters.push(resolve));
  }

  private now(): number {
    return performance.now() - this.startedMs;
  }

  private async process(p: number): Promise<void> {
    let client: Client | undefined;
    const seen = new Map<string, number | null>();
    let counter = 0;
    let sequenceSeen = 0;
    while (!this.stopped) {
      if (client === undefined || client.closed) {
        client = await connect(this.options.clientAddr(p), { ...this.options.client, connectTimeoutMs: 2_000 }).catch(() => undefined);
        if (client === undefined) {
          await sleep(200);
          continue;
        }
      }
      if (this.rng.chance(0.2)) {
        const read = await client.read([{ op: 'get', table: 'kv', key: sequenceKey }]).then((r) => valueOf(r.results[0]) ?? 0, () => undefined);
        if (read !== undefined) {
          this.sequence.localReads++;
          if (read < sequenceSeen) this.readsGoneBack.push(`process ${p} (${this.options.clientAddr(p)}) read ${read} at ${Math.round(this.now())} ms after ${sequenceSeen}`);
          sequenceSeen = Math.max(sequenceSeen, read);
        }
      }
      if (p === 0) await this.countUp(client);
      const key = String(this.rng.int(this.options.keys));
      const roll = this.rng.next();
      if (roll < 0.4) {
        const read = await this.run(p, 'read', key, null, () => client!.read([{ op: 'get', table: 'kv', key: Number(key) }], { consistency: 'linearizable' }).then((r) => valueOf(r.results[0])));
        if (read !== undefined) seen.set(key, read as number | null);
      } else if (roll < 0.7 || !seen.has(key)) {
        const value = p * 1_000_000 + ++counter;
        await this.run(p, 'write', key, value, () => client!.write([{ op: 'upsert', table: 'kv', row: { k: Number(key), v: String(value) } }]).then(() => value));
      } else {
        const expected = seen.get(key) ?? null;
        const value = p * 1_000_000 + ++counter;
        const ops = [
          { op: 'expect' as const, table: 'kv', key: Number(key), row: expected === null ? null : { v: String(expected) } },
          { op: 'upsert' as const, table: 'kv', row: { k: Number(key), v: String(value) } },
        ];
        const done = await this.run(p, 'cas', key, [expected, value], () => client!.write(ops).then(() => [expected, value]));
        if (done !== undefined) seen.set(key, value);
      }
      await sleep(this.options.thinkMs);
    }
    await client?.close();
  }

  /** Process 0: the sequence one up, if it is still what was last confirmed (otherwise it is read again first). */
  private async countUp(client: Client): Promise<void> {
    try {
      if (this.sequenceAt === undefined) {
        const read = await client.read([{ op: 'get', table: 'kv', key: sequenceKey }], { consistency: 'linearizable' });
        this.sequenceAt = valueOf(read.results[0]) ?? 0;
      }
      const at = this.sequenceAt;
      this.sequenceAt = undefined; // unknown until this step is known to have happened
      await client.write([
        { op: 'expect', table: 'kv', key: sequenceKey, row: at === 0 ? null : { v: String(at) } },
        { op: 'upsert', table: 'kv', row: { k: sequenceKey, v: String(at + 1) } },
      ]);
      this.sequenceAt = at + 1;
      this.sequence.steps++;
    } catch {
      // refused, timed out, or the connection went: read it again next time
    }
  }

  /** Invokes, runs and completes one operation; returns what an ok read read. */
  private async run(p: number, f: 'read' | 'write' | 'cas', key: string, value: JsonValue, op: () => Promise<JsonValue>): Promise<JsonValue | undefined> {
    const handle = this.history.invoke({ process: p, f, key, value, time: this.now() });
    try {
      const result = await op();
      this.history.ok(handle, this.now(), f === 'read' ? result : undefined);
      this.count(`${f} ok`);
      if (f !== 'read') this.wakeAckWaiters();
      return result;
    } catch (error) {
      const code = (error as ClientError).code ?? 'ERROR';
      if (definiteFailures.has(code)) this.history.fail(handle, this.now());
      else this.history.info(handle, this.now());
      this.count(`${f} ${code}`);
      return undefined;
    }
  }

  private wakeAckWaiters(): void {
    const waiters = this.ackWaiters;
    this.ackWaiters = [];
    for (const wake of waiters) wake();
  }

  private count(what: string): void {
    this.outcomes[what] = (this.outcomes[what] ?? 0) + 1;
  }
}

function valueOf(row: unknown): number | null {
  const v = (row as { v?: unknown } | null)?.v;
  return typeof v === 'string' ? Number(v) : null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
