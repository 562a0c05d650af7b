/**
 * What a command entry holds and how large it is on the wire. logEntryBytes must never count an entry
 * smaller than it encodes (kept bytes and all): the leader fills appends up to a frame by it, so an
 * undercount of a few bytes an entry, times 256 entries, would make an append too large for any frame.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { commandPayloads, logEntryBytes, logItemOverheadBytes } from '../../src/actors/log-payload.js';
import type { LogPayload } from '../../src/actors/log-payload.js';
import type { Entry } from '../../src/cluster/raft/messages.js';
import { encodeMsgpack } from '../../src/store/codec.js';
import { keepBytes } from '../../src/store/msgpack-encode.js';

const payload: fc.Arbitrary<LogPayload> = fc.record({
  origin: fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
  id: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  changeSet: fc.uint8Array({ maxLength: 300 }),
  schema: fc.option(fc.record({ tables: fc.array(fc.record({ name: fc.string(), fields: fc.array(fc.string(), { maxLength: 4 }) }), { maxLength: 3 }) }), { nil: undefined }),
}).map((p) => (p.schema === undefined ? { origin: p.origin, id: p.id, changeSet: p.changeSet } : p));

/** The entry's bytes as a leader sends them: its own bytes, kept and wrapped (replicator.ts: keepBytes). */
function wireBytes(entry: Entry): number {
  keepBytes([entry]);
  return encodeMsgpack([entry]).byteLength - 1; // less the one-byte array header around it
}

describe('log payloads', () => {
  it('counts no command entry smaller than it encodes, one transaction or a batch, whatever term, index and origin', () => {
    fc.assert(
      fc.property(fc.array(payload, { minLength: 1, maxLength: 20 }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.nat({ max: Number.MAX_SAFE_INTEGER }), (items, term, index) => {
        const entry: Entry = { term, index, data: { kind: 'command', payload: items.length === 1 ? items[0] : items } };
        expect(logEntryBytes(entry.data)).toBeGreaterThanOrEqual(wireBytes(entry));
      }),
      { numRuns: 300 },
    );
  });

  it('counts no noop or membership entry smaller than it encodes', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }), { minLength: 1, maxLength: 9 }), fc.option(fc.array(fc.string({ maxLength: 60 }), { maxLength: 9 }), { nil: undefined }), fc.nat(), (members, old, index) => {
        const membership = old === undefined ? { members } : { members, old };
        for (const data of [{ kind: 'noop' as const }, { kind: 'members' as const, membership }]) {
          expect(logEntryBytes(data)).toBeGreaterThanOrEqual(wireBytes({ term: index, index, data }));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('counts a transaction near what it takes: its change-set and schema plus a bounded overhead', () => {
    const item: LogPayload = { origin: '127.0.0.1:7001', id: 12, changeSet: new Uint8Array(1000) };
    const entry: Entry = { term: 3, index: 9, data: { kind: 'command', payload: [item, item] } };
    expect(logEntryBytes(entry.data) - wireBytes(entry)).toBeLessThan(2 * logItemOverheadBytes(item.origin));
  });

  it('gives the transactions of an entry in order, from a batch or a lone one, and from journals that held change-sets as maps', () => {
    const a: LogPayload = { origin: 'n1', id: 1, changeSet: new Uint8Array([1]) };
    const b: LogPayload = { origin: 'n2', id: 7, changeSet: new Uint8Array([2]) };
    expect(commandPayloads([a, b])).toEqual([a, b]);
    expect(commandPayloads(a)).toEqual([a]);
    const old = commandPayloads({ origin: 'n1', id: 2, changeSet: { snapshot: 4, writes: [] } })[0]!;
    expect(old.changeSet).toEqual(encodeMsgpack({ snapshot: 4, writes: [] }));
  });
});
