/**
 * The trace hash behind --check-determinism: equal runs hash equal, and anything a run could do
 * differently — an event's time, its ends, any part of its message — changes the hash.
 */
import { describe, expect, it } from 'vitest';
import { TraceHash } from '../../simulate/trace.js';
import { determinismProblems, parseSimArgs, runSeed } from '../../src/cli/sim.js';
import type { WorkloadResult } from '../../simulate/workload.js';

const hashOf = (...messages: unknown[]) => {
  const hash = new TraceHash();
  for (const message of messages) hash.addEvent('d', 1.5, 'n0', 'replicator', 'n1', 'replicator', message);
  return hash.digest();
};

describe('TraceHash', () => {
  it('hashes equal messages alike and tells apart what JSON would write alike', () => {
    const message = { type: 'raft', entries: [{ index: 1n, data: new Uint8Array([1, 2, 3, 4, 5]) }], m: new Map([['a', 1]]), s: new Set([2]), u: undefined };
    const copy = { type: 'raft', entries: [{ index: 1n, data: new Uint8Array([1, 2, 3, 4, 5]) }], m: new Map([['a', 1]]), s: new Set([2]), u: undefined };
    expect(hashOf(message)).toBe(hashOf(copy));
    const variants: unknown[] = [
      { ...copy, type: 'raft2' }, { ...copy, entries: [{ index: 2n, data: new Uint8Array([1, 2, 3, 4, 5]) }] },
      { ...copy, entries: [{ index: 1n, data: new Uint8Array([1, 2, 3, 4, 6]) }] }, { ...copy, m: new Map([['a', 2]]) },
      { ...copy, s: new Set([3]) }, { ...copy, u: null }, { u: undefined, type: 'raft', entries: copy.entries, m: copy.m, s: copy.s }, 1, '1', 1.5, -0, 0, [], {}, [[]], [[], []], ['ab'], ['a', 'b'],
    ];
    const hashes = new Set([hashOf(message), ...variants.map((v) => hashOf(v))]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('hashes where, when and in what order events happened', () => {
    const one = new TraceHash();
    one.addEvent('d', 1, 'a', 'x', 'b', 'y', { n: 1 });
    one.addEvent('t', 2, 'b', 'y', 'b', 'y', { n: 2 });
    const variants = [
      (h: TraceHash) => (h.addEvent('t', 2, 'b', 'y', 'b', 'y', { n: 2 }), h.addEvent('d', 1, 'a', 'x', 'b', 'y', { n: 1 })),
      (h: TraceHash) => (h.addEvent('d', 1.0001, 'a', 'x', 'b', 'y', { n: 1 }), h.addEvent('t', 2, 'b', 'y', 'b', 'y', { n: 2 })),
      (h: TraceHash) => (h.addEvent('d', 1, 'a', 'x', 'c', 'y', { n: 1 }), h.addEvent('t', 2, 'b', 'y', 'b', 'y', { n: 2 })),
      (h: TraceHash) => (h.addEvent('d', 1, 'a', 'xb', '', 'y', { n: 1 }), h.addEvent('t', 2, 'b', 'y', 'b', 'y', { n: 2 })),
    ];
    const digests = variants.map((play) => {
      const h = new TraceHash();
      play(h);
      return h.digest();
    });
    expect(new Set([one.digest(), ...digests]).size).toBe(variants.length + 1);
    expect(one.events).toBe(2);
  });
});

describe('--check-determinism', () => {
  it('runs a seed twice with its trace hashed, and passes a deterministic run', () => {
    const args = parseSimArgs(['--nodes', '3', '--time', '500ms', '--check-determinism']);
    const run = runSeed(args, 4);
    expect(run.problems).toEqual([]);
    expect(run.result?.traceHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('fails a seed whose second run traced other events, even with the same history', () => {
    const result = (traceHash: string): WorkloadResult => ({ seed: 1, problems: [], history: [], okOps: 0, events: 10, delivered: 5, simMs: 100, journalTears: 0, imageSyncs: 0, traceHash });
    expect(determinismProblems(result('00000000000000aa'), result('00000000000000aa'))).toEqual([]);
    expect(determinismProblems(result('00000000000000aa'), result('00000000000000ab'))).toEqual(['the same seed gave a different trace on a second run (trace hash 00000000000000aa, then 00000000000000ab)']);
  });
});
