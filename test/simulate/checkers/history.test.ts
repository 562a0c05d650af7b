/**
 * The history model: the recorder keeps Jepsen's invoke/complete discipline and its bound, the JSON
 * lines round-trip exactly, and a bad file is rejected at its first bad line with the reason.
 */
import { describe, expect, it } from 'vitest';
import { HistoryFullError, HistoryRecorder, formatHistory, pairHistory, parseHistory } from '../../../simulate/history.js';

function recordSample(): HistoryRecorder {
  const recorder = new HistoryRecorder();
  const w = recorder.invoke({ process: 0, f: 'write', key: 'x', value: 1, time: 0 });
  const r = recorder.invoke({ process: 1, f: 'read', key: 'x', value: null, time: 1 });
  recorder.ok(w, 2);
  recorder.ok(r, 3, 1);
  const c = recorder.invoke({ process: 0, f: 'cas', key: 'x', value: [1, 2], time: 4 });
  recorder.info(c, 9);
  return recorder;
}

describe('HistoryRecorder', () => {
  it('records invoke and completion events, a write completing with its own value by default', () => {
    expect(recordSample().events).toEqual([
      { process: 0, type: 'invoke', f: 'write', key: 'x', value: 1, time: 0 },
      { process: 1, type: 'invoke', f: 'read', key: 'x', value: null, time: 1 },
      { process: 0, type: 'ok', f: 'write', key: 'x', value: 1, time: 2 },
      { process: 1, type: 'ok', f: 'read', key: 'x', value: 1, time: 3 },
      { process: 0, type: 'invoke', f: 'cas', key: 'x', value: [1, 2], time: 4 },
      { process: 0, type: 'info', f: 'cas', key: 'x', value: [1, 2], time: 9 },
    ]);
  });

  it('refuses, as programmer errors, a second open operation per process, a double completion and time going back', () => {
    const recorder = new HistoryRecorder();
    const h = recorder.invoke({ process: 0, f: 'read', key: 'x', value: null, time: 5 });
    expect(() => recorder.invoke({ process: 0, f: 'read', key: 'x', value: null, time: 5 })).toThrow(/process 0 already has an open operation/);
    expect(() => recorder.ok(h, 4, null)).toThrow(/time 4 is before the previous event's 5/);
    expect(() => recorder.ok(h, Number.NaN, null)).toThrow(/ok: time must be a finite number/);
    expect(() => recorder.ok(h, 6, { f: (() => 1) as never })).toThrow(/ok: value must be JSON/);
    expect(recorder.events).toHaveLength(1); // refused completions leave the history unchanged
    recorder.ok(h, 6, null);
    expect(() => recorder.fail(h, 7)).toThrow(/is not open \(completed twice\?\)/);
  });

  it('stops at its event bound with HISTORY_FULL, always leaving room to complete open operations', () => {
    const recorder = new HistoryRecorder({ eventsMax: 5 });
    const a = recorder.invoke({ process: 0, f: 'write', key: 'x', value: 1, time: 0 });
    const b = recorder.invoke({ process: 1, f: 'write', key: 'x', value: 2, time: 0 });
    let error: unknown;
    try {
      recorder.invoke({ process: 2, f: 'write', key: 'x', value: 3, time: 0 });
    } catch (e: unknown) {
      error = e;
    }
    expect(error).toBeInstanceOf(HistoryFullError);
    expect(error).toMatchObject({ code: 'HISTORY_FULL', limit: 5 });
    recorder.ok(a, 1);
    recorder.info(b, 1);
    expect(recorder.events).toHaveLength(4);
    expect(recorder.openOperations).toBe(0);
    expect(() => new HistoryRecorder({ eventsMax: 1 })).toThrow(/eventsMax must be an integer/);
  });
});

describe('JSON lines', () => {
  it('writes one event per line with exactly the documented fields, in order, and reads it back', () => {
    const text = recordSample().toJsonLines();
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toBe('{"process":0,"type":"invoke","f":"write","key":"x","value":1,"time":0}');
    expect(parseHistory(text)).toEqual({ ok: true, events: recordSample().events });
    expect(formatHistory(recordSample().events)).toBe(text);
  });

  it('skips blank lines but counts them in line numbers', () => {
    const text = '\n{"process":0,"type":"invoke","f":"read","key":"x","value":null,"time":0}\n\n{"process":0,"type":"ok","f":"read","key":"x","value":3}\n';
    expect(parseHistory(text)).toEqual({ ok: false, line: 4, reason: 'missing field "time"' });
  });

  const bad: readonly [string, string][] = [
    ['{"process":0,', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['{"process":0,"type":"invoke","f":"read","key":"x","value":null,"time":0,"extra":1}', 'unknown field "extra"'],
    ['{"process":-1,"type":"invoke","f":"read","key":"x","value":null,"time":0}', 'process must be a non-negative integer, got -1'],
    ['{"process":0,"type":"done","f":"read","key":"x","value":null,"time":0}', 'type must be one of invoke, ok, fail, info, got "done"'],
    ['{"process":0,"type":"invoke","f":"delete","key":"x","value":null,"time":0}', 'f must be one of read, write, cas, transfer, append, got "delete"'],
    ['{"process":0,"type":"invoke","f":"read","key":7,"value":null,"time":0}', 'key must be a string or null, got 7'],
    ['{"process":0,"type":"invoke","f":"read","key":"x","value":null,"time":"soon"}', 'time must be a finite number of ms >= 0, got "soon"'],
    [`{"process":0,"type":"invoke","f":"read","key":"x","value":${'['.repeat(40)}${']'.repeat(40)},"time":0}`, 'value must be JSON nested at most 32 deep'],
  ];
  for (const [line, reason] of bad) {
    it(`rejects a line with its number: ${reason}`, () => {
      const good = '{"process":9,"type":"invoke","f":"read","key":"x","value":null,"time":0}\n';
      const result = parseHistory(good + line + '\n');
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.line).toBe(2);
      expect(result.reason).toContain(reason);
    });
  }

  it('rejects a history whose events do not pair up, at the offending line', () => {
    const lines = [
      '{"process":0,"type":"invoke","f":"write","key":"x","value":1,"time":0}',
      '{"process":0,"type":"ok","f":"write","key":"y","value":1,"time":1}',
    ];
    expect(parseHistory(lines.join('\n'))).toEqual({ ok: false, line: 2, reason: 'ok write "y" does not match the open write "x" of process 0' });
    const early = [lines[0], '{"process":1,"type":"invoke","f":"read","key":"x","value":null,"time":5}', '{"process":0,"type":"ok","f":"write","key":"x","value":1,"time":4}'];
    expect(parseHistory(early.join('\n'))).toEqual({ ok: false, line: 3, reason: "time 4 is before the previous event's 5" });
  });

  it('respects an event bound while parsing', () => {
    expect(parseHistory(recordSample().toJsonLines(), { eventsMax: 3 })).toEqual({ ok: false, line: 4, reason: 'more than 3 events (historyEventsMax)' });
  });
});

describe('pairHistory', () => {
  it('pairs operations in invoke order; one never completed counts as info with no completion', () => {
    const events = recordSample().events.slice(0, 5);
    const paired = pairHistory(events);
    expect(paired.ok).toBe(true);
    if (!paired.ok) return;
    expect(paired.operations.map((op) => [op.id, op.process, op.f, op.type, op.value, op.invokeIndex, op.completeIndex])).toEqual([
      [0, 0, 'write', 'ok', 1, 0, 2],
      [1, 1, 'read', 'ok', 1, 1, 3],
      [2, 0, 'cas', 'info', [1, 2], 4, null],
    ]);
  });

  it('names the event of a process invoking twice', () => {
    const events = recordSample().events;
    expect(pairHistory([events[0]!, events[0]!])).toEqual({ ok: false, index: 1, reason: 'process 0 invokes while its write from event 1 is still open' });
  });
});
