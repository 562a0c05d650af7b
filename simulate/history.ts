/**
 * Client-operation histories, recorded as Jepsen records them: every operation is an `invoke` event
 * followed by exactly one completion: `ok` (it happened), `fail` (it certainly did not happen) or `info`
 * (unknown: it may take effect at any later moment, even after the history ends).
 *
 * Owns: the event model, the `HistoryRecorder`, the JSON-lines codec (one event per line with exactly
 * the fields `process`, `type`, `f`, `key`, `value`, `time`), and pairing events into operations.
 *
 * Invariants:
 * - event order is real-time order: times never decrease, and a checker decides "A finished before B
 *   started" by the events' positions, so equal times are ordered by position;
 * - a process has at most one open operation; a completion names the same `f` and `key` as its invoke;
 * - an invoke with no completion by the end of the history is treated exactly like `info`;
 * - decoded input is `unknown` until `eventProblem` has found nothing wrong with it.
 */
import { assert } from '../src/runtime/assert.js';
import { ChorusError, invalidArgument } from '../src/runtime/errors.js';
import { historyEventsMax, historyValueDepthMax } from '../src/limits.js';

export { historyEventsMax, historyValueDepthMax };

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [field: string]: JsonValue };

export const eventTypes = ['invoke', 'ok', 'fail', 'info'] as const;
export type EventType = (typeof eventTypes)[number];
export type CompletionType = Exclude<EventType, 'invoke'>;

/** Register: read, write, cas. Bank: transfer, read. List-append: append, read. */
export const opFunctions = ['read', 'write', 'cas', 'transfer', 'append'] as const;
export type OpFunction = (typeof opFunctions)[number];

export interface HistoryEvent {
  /** The client, a non-negative integer. */
  readonly process: number;
  readonly type: EventType;
  readonly f: OpFunction;
  /** The key the operation touches; null when it spans keys (bank transfers and reads). */
  readonly key: string | null;
  /** What was asked for (invoke) or what came back (completion); see docs/checkers.md per workload. */
  readonly value: JsonValue;
  /** Simulated milliseconds. */
  readonly time: number;
}

export type History = readonly HistoryEvent[];

/** One operation: an invoke paired with its completion. */
export interface Operation {
  /** Position among the history's operations, in invoke order. */
  readonly id: number;
  readonly process: number;
  readonly f: OpFunction;
  readonly key: string | null;
  /** `info` also for an operation that never completed. */
  readonly type: CompletionType;
  readonly invokeValue: JsonValue;
  /** The completion's value; for `info` and never-completed operations, the invoke's value. */
  readonly value: JsonValue;
  readonly invokeIndex: number;
  /** Null when the operation never completed. */
  readonly completeIndex: number | null;
  readonly invokeTime: number;
  readonly completeTime: number | null;
}

/** A recorded history reached its bound; the workload should stop invoking operations. */
export class HistoryFullError extends ChorusError {
  override readonly name = 'HistoryFullError';
  constructor(readonly limit: number) {
    super('HISTORY_FULL', `history holds its maximum of ${limit} events (historyEventsMax); no more operations can be invoked`);
  }
}

/** Returned by `HistoryRecorder.invoke`; completes that one operation exactly once. */
export interface OpHandle {
  readonly id: number;
  readonly process: number;
}

interface OpenOp {
  readonly process: number;
  readonly f: OpFunction;
  readonly key: string | null;
  readonly value: JsonValue;
}

export interface InvokeArgs {
  readonly process: number;
  readonly f: OpFunction;
  readonly key: string | null;
  readonly value: JsonValue;
  readonly time: number;
}

/**
 * Records a history as a workload runs. Every invoke reserves room for its completion, so that the
 * bound is only ever hit at an invoke (a `HistoryFullError`) and never strands an open operation.
 */
export class HistoryRecorder {
  private readonly recorded: HistoryEvent[] = [];
  private readonly open = new Map<number, OpenOp>();
  private readonly busyProcesses = new Set<number>();
  private readonly eventsMax: number;
  private nextId = 0;
  private lastTime = 0;

  constructor(options: { readonly eventsMax?: number } = {}) {
    const eventsMax = options.eventsMax ?? historyEventsMax;
    if (!Number.isSafeInteger(eventsMax) || eventsMax < 2 || eventsMax > historyEventsMax) {
      throw invalidArgument('HistoryRecorder', `eventsMax must be an integer in [2, ${historyEventsMax}], got ${eventsMax}`);
    }
    this.eventsMax = eventsMax;
  }

  /** The events so far, in order. The array is the recorder's own: read it, do not change it. */
  get events(): History {
    return this.recorded;
  }

  /** Operations invoked and not yet completed. */
  get openOperations(): number {
    return this.open.size;
  }

  invoke(args: InvokeArgs): OpHandle {
    // Messages are built only when a check fails: these run for every operation.
    if (!(Number.isSafeInteger(args.process) && args.process >= 0)) assert(false, `invoke: process must be a non-negative integer, got ${args.process}`);
    if (this.busyProcesses.has(args.process)) assert(false, `invoke: process ${args.process} already has an open operation`);
    if (this.recorded.length + this.open.size + 2 > this.eventsMax) throw new HistoryFullError(this.eventsMax);
    this.push({ process: args.process, type: 'invoke', f: args.f, key: args.key, value: args.value, time: args.time });
    const handle: OpHandle = { id: this.nextId++, process: args.process };
    this.open.set(handle.id, { process: args.process, f: args.f, key: args.key, value: args.value });
    this.busyProcesses.add(args.process);
    return handle;
  }

  /** It happened. `value` defaults to the invoke's (right for writes); a read passes what it read. */
  ok(handle: OpHandle, time: number, value?: JsonValue): void {
    this.complete(handle, 'ok', time, value);
  }

  /** It certainly did not happen. */
  fail(handle: OpHandle, time: number, value?: JsonValue): void {
    this.complete(handle, 'fail', time, value);
  }

  /** Its outcome is unknown (a timeout, a lost connection): it may take effect at any later moment. */
  info(handle: OpHandle, time: number): void {
    this.complete(handle, 'info', time, undefined);
  }

  toJsonLines(): string {
    return formatHistory(this.recorded);
  }

  private complete(handle: OpHandle, type: CompletionType, time: number, value: JsonValue | undefined): void {
    const op = this.open.get(handle.id);
    if (op === undefined) assert(false, `${type}: operation ${handle.id} of process ${handle.process} is not open (completed twice?)`);
    // The process, f and key were checked at the invoke: only what is new needs checking here.
    if (!(Number.isFinite(time) && time >= 0)) assert(false, `${type}: time must be a finite number of ms >= 0, got ${time}`);
    if (value !== undefined && !isJsonValue(value, 0)) assert(false, `${type}: value must be JSON nested at most ${historyValueDepthMax} deep`);
    this.append({ process: op.process, type, f: op.f, key: op.key, value: value ?? op.value, time });
    this.open.delete(handle.id);
    this.busyProcesses.delete(op.process);
  }

  /** Checks, then appends: an event that breaks a rule leaves the recorder unchanged. */
  private push(event: HistoryEvent): void {
    const problem = eventProblem(event);
    if (problem !== undefined) assert(false, `history event: ${problem}`);
    this.append(event);
  }

  private append(event: HistoryEvent): void {
    if (event.time < this.lastTime) assert(false, `history event: time ${event.time} is before the previous event's ${this.lastTime}`);
    this.lastTime = event.time;
    this.recorded.push(event);
  }
}

const eventFields: readonly string[] = ['process', 'type', 'f', 'key', 'value', 'time'];

/** Why `input` is not a well-formed history event, or undefined if it is one. */
export function eventProblem(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'not a JSON object';
  const record = input as Record<string, unknown>;
  for (const field of Object.keys(record)) if (!eventFields.includes(field)) return `unknown field "${field}"`;
  for (const field of eventFields) if (!(field in record)) return `missing field "${field}"`;
  const { process, type, f, key, value, time } = record;
  if (typeof process !== 'number' || !Number.isSafeInteger(process) || process < 0) return `process must be a non-negative integer, got ${show(process)}`;
  if (!(eventTypes as readonly unknown[]).includes(type)) return `type must be one of ${eventTypes.join(', ')}, got ${show(type)}`;
  if (!(opFunctions as readonly unknown[]).includes(f)) return `f must be one of ${opFunctions.join(', ')}, got ${show(f)}`;
  if (key !== null && typeof key !== 'string') return `key must be a string or null, got ${show(key)}`;
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return `time must be a finite number of ms >= 0, got ${show(time)}`;
  if (!isJsonValue(value, 0)) return `value must be JSON nested at most ${historyValueDepthMax} deep`;
  return undefined;
}

export function isHistoryEvent(input: unknown): input is HistoryEvent {
  return eventProblem(input) === undefined;
}

function isJsonValue(value: unknown, depth: number): value is JsonValue {
  if (depth > historyValueDepthMax) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJsonValue(item, depth + 1));
  if (typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value).every((item) => isJsonValue(item, depth + 1));
}

function show(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value);
}

/** JSON lines: one event per line, fields in the documented order, ending in a newline. */
export function formatHistory(events: History): string {
  let text = '';
  for (const e of events) {
    text += JSON.stringify({ process: e.process, type: e.type, f: e.f, key: e.key, value: e.value, time: e.time }) + '\n';
  }
  return text;
}

export type ParseResult =
  | { readonly ok: true; readonly events: History }
  | { readonly ok: false; readonly line: number; readonly reason: string };

/**
 * Decodes JSON lines into a history, checking each line and the history as a whole (pairing, time
 * order). The first problem is returned with its 1-based line number; blank lines are skipped.
 */
export function parseHistory(text: string, options: { readonly eventsMax?: number } = {}): ParseResult {
  const eventsMax = options.eventsMax ?? historyEventsMax;
  const events: HistoryEvent[] = [];
  const lineOfEvent: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '') continue;
    if (events.length === eventsMax) return { ok: false, line: i + 1, reason: `more than ${eventsMax} events (historyEventsMax)` };
    let decoded: unknown;
    try {
      decoded = JSON.parse(line);
    } catch (error: unknown) {
      return { ok: false, line: i + 1, reason: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
    }
    const problem = eventProblem(decoded);
    if (problem !== undefined) return { ok: false, line: i + 1, reason: problem };
    events.push(decoded as HistoryEvent);
    lineOfEvent.push(i + 1);
  }
  const paired = pairHistory(events);
  if (!paired.ok) return { ok: false, line: lineOfEvent[paired.index] ?? 0, reason: paired.reason };
  return { ok: true, events };
}

export type PairResult =
  | { readonly ok: true; readonly operations: readonly Operation[] }
  | { readonly ok: false; readonly index: number; readonly reason: string };

/** Pairs each invoke with its completion, or names the first event (0-based index) that breaks the rules. */
export function pairHistory(events: History): PairResult {
  type Building = { -readonly [K in keyof Operation]: Operation[K] };
  const operations: Building[] = [];
  const openByProcess = new Map<number, Building>();
  let lastTime = 0;
  for (let index = 0; index < events.length; index++) {
    const e = events[index];
    assert(e !== undefined, 'pairHistory: index within bounds');
    if (e.time < lastTime) return { ok: false, index, reason: `time ${e.time} is before the previous event's ${lastTime}` };
    lastTime = e.time;
    const open = openByProcess.get(e.process);
    if (e.type === 'invoke') {
      if (open !== undefined) return { ok: false, index, reason: `process ${e.process} invokes while its ${open.f} from event ${open.invokeIndex + 1} is still open` };
      const op: Building = {
        id: operations.length, process: e.process, f: e.f, key: e.key, type: 'info', invokeValue: e.value, value: e.value,
        invokeIndex: index, completeIndex: null, invokeTime: e.time, completeTime: null,
      };
      operations.push(op);
      openByProcess.set(e.process, op);
      continue;
    }
    if (open === undefined) return { ok: false, index, reason: `${e.type} for process ${e.process}, which has no open operation` };
    if (open.f !== e.f || open.key !== e.key) {
      return { ok: false, index, reason: `${e.type} ${e.f} ${show(e.key)} does not match the open ${open.f} ${show(open.key)} of process ${e.process}` };
    }
    open.type = e.type;
    open.value = e.type === 'info' ? open.invokeValue : e.value;
    open.completeIndex = index;
    open.completeTime = e.time;
    openByProcess.delete(e.process);
  }
  return { ok: true, operations };
}

/** Pairs a history for a checker; a malformed one is the caller's mistake, reported under `api`. */
export function operationsOf(events: History, api: string): readonly Operation[] {
  const paired = pairHistory(events);
  if (!paired.ok) throw invalidArgument(api, `history event ${paired.index}: ${paired.reason}`);
  return paired.operations;
}
