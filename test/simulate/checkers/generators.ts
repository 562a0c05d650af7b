/**
 * Test helpers for the checkers: a transcript notation for hand-written histories, and a generator of
 * histories that are correct by construction: clients run against a deliberately simple sequential
 * reference with random concurrency windows. Each operation takes effect at one random moment between
 * its invoke and its completion (or, for an `info` outcome, possibly later or never), so the history is
 * linearizable with those moments as the witness.
 */
import type { CompletionType, History, HistoryEvent, JsonValue, OpFunction } from '../../../simulate/history.js';
import { HistoryRecorder } from '../../../simulate/history.js';
import { Rng } from '../../../simulate/rng.js';

/**
 * One event per line: `process type f key value`, with `-` for a null key and the value as JSON
 * (spaces allowed); the time is the line number unless the line ends in `@ms`. `#` starts a comment.
 */
export function transcript(text: string): History {
  const events: HistoryEvent[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const match = /^(\d+)\s+(invoke|ok|fail|info)\s+(\w+)\s+(\S+)\s*(.*?)\s*(?:@(\d+))?$/.exec(line);
    if (match === null) throw new Error(`bad transcript line: ${line}`);
    const [, process, type, f, key, value, time] = match;
    events.push({
      process: Number(process),
      type: type as HistoryEvent['type'],
      f: f as OpFunction,
      key: key === '-' ? null : (key as string),
      value: value === '' || value === undefined ? null : (JSON.parse(value) as JsonValue),
      time: time === undefined ? events.length : Number(time),
    });
  }
  return events;
}

export interface Invocation {
  readonly f: OpFunction;
  readonly key: string | null;
  readonly value: JsonValue;
}

/** A sequential reference: it draws the next request and applies a request atomically. */
export interface Reference {
  request(rng: Rng): Invocation;
  /** The outcome if the request takes effect now: `ok` with the value to report, or `fail` (no effect). */
  apply(request: Invocation): { readonly type: 'ok' | 'fail'; readonly value: JsonValue };
}

export interface RunOptions {
  readonly processes: number;
  readonly operations: number;
  /** Chance that an operation ends `info` (it may then take effect later, or never). */
  readonly infoRate: number;
  /** Chance that an operation that has not taken effect ends `fail`. */
  readonly failRate: number;
}

interface Client {
  handle: ReturnType<HistoryRecorder['invoke']> | undefined;
  request: Invocation | undefined;
  outcome: { readonly type: 'ok' | 'fail'; readonly value: JsonValue } | undefined;
}

/** Runs clients against the reference with random interleavings; returns the history they saw. */
export function runConcurrently(seed: number, reference: Reference, options: RunOptions): History {
  const rng = new Rng(seed);
  const recorder = new HistoryRecorder();
  const clients: Client[] = Array.from({ length: options.processes }, () => ({ handle: undefined, request: undefined, outcome: undefined }));
  const limbo: Invocation[] = []; // info operations that may still take effect
  let invoked = 0;
  let time = 0;
  while (invoked < options.operations || clients.some((c) => c.handle !== undefined)) {
    time += rng.int(3);
    if (limbo.length > 0 && rng.chance(0.1)) {
      const late = limbo.splice(rng.int(limbo.length), 1)[0];
      if (late !== undefined && rng.chance(0.5)) reference.apply(late);
    }
    const process = rng.int(options.processes);
    const client = clients[process] as Client;
    if (client.handle === undefined || client.request === undefined) {
      if (invoked === options.operations) continue;
      client.request = reference.request(rng);
      client.handle = recorder.invoke({ process, ...client.request, time });
      invoked++;
    } else if (client.outcome === undefined && rng.chance(0.5)) {
      client.outcome = reference.apply(client.request);
    } else {
      complete(recorder, client, rng, options, time, limbo);
    }
  }
  return recorder.events;
}

function complete(recorder: HistoryRecorder, client: Client, rng: Rng, options: RunOptions, time: number, limbo: Invocation[]): void {
  const handle = client.handle;
  const request = client.request;
  if (handle === undefined || request === undefined) return;
  let type: CompletionType;
  if (rng.chance(options.infoRate)) type = 'info';
  else if (client.outcome !== undefined) type = client.outcome.type;
  else if (rng.chance(options.failRate)) type = 'fail';
  else return; // not taken effect yet and not failing: it stays open
  if (type === 'info') {
    if (client.outcome === undefined) limbo.push(request);
    recorder.info(handle, time);
  } else if (type === 'fail') recorder.fail(handle, time);
  else recorder.ok(handle, time, client.outcome?.value ?? null);
  client.handle = undefined;
  client.request = undefined;
  client.outcome = undefined;
}

/** A register per key: reads, blind writes of fresh values (never null), and cas that often matches. */
export function registerReference(keys: readonly string[]): Reference & { readonly values: ReadonlyMap<string, number | null> } {
  const state = new Map<string, number | null>();
  let fresh = 1;
  return {
    values: state,
    request(rng) {
      const key = keys[rng.int(keys.length)] as string;
      const roll = rng.int(3);
      if (roll === 0) return { f: 'read', key, value: null };
      if (roll === 1) return { f: 'write', key, value: fresh++ };
      const current = state.get(key) ?? null;
      const expected = rng.chance(0.6) ? current : rng.int(fresh);
      return { f: 'cas', key, value: [expected, fresh++] };
    },
    apply(request) {
      const key = request.key as string;
      const current = state.get(key) ?? null;
      if (request.f === 'read') return { type: 'ok', value: current };
      if (request.f === 'write') {
        state.set(key, request.value as number);
        return { type: 'ok', value: request.value };
      }
      const [expected, next] = request.value as [number | null, number];
      if (current !== expected) return { type: 'fail', value: request.value };
      state.set(key, next);
      return { type: 'ok', value: request.value };
    },
  };
}

/** Bank accounts: transfers that fail on insufficient funds, and snapshot reads of every account. */
export function bankReference(accounts: readonly string[], opening: number): Reference {
  const balances = new Map(accounts.map((a) => [a, opening]));
  return {
    request(rng) {
      if (rng.chance(0.4)) return { f: 'read', key: null, value: null };
      const from = accounts[rng.int(accounts.length)] as string;
      const to = accounts[rng.int(accounts.length)] as string;
      return { f: 'transfer', key: null, value: { from, to, amount: 1 + rng.int(opening) } };
    },
    apply(request) {
      if (request.f === 'read') return { type: 'ok', value: Object.fromEntries(balances) };
      const { from, to, amount } = request.value as { from: string; to: string; amount: number };
      const available = balances.get(from) ?? 0;
      if (available < amount) return { type: 'fail', value: request.value };
      balances.set(from, available - amount);
      balances.set(to, (balances.get(to) ?? 0) + amount);
      return { type: 'ok', value: request.value };
    },
  };
}

/** A list per key: appends of fresh unique elements, and reads of the whole list. */
export function listReference(keys: readonly string[]): Reference & { readonly lists: ReadonlyMap<string, readonly number[]> } {
  const lists = new Map<string, number[]>();
  let fresh = 1;
  return {
    lists,
    request(rng) {
      const key = keys[rng.int(keys.length)] as string;
      return rng.chance(0.5) ? { f: 'append', key, value: fresh++ } : { f: 'read', key, value: null };
    },
    apply(request) {
      const key = request.key as string;
      let list = lists.get(key);
      if (list === undefined) lists.set(key, (list = []));
      if (request.f === 'read') return { type: 'ok', value: [...list] };
      list.push(request.value as number);
      return { type: 'ok', value: request.value };
    },
  };
}
