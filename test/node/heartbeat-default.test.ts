/**
 * The leader's heartbeat interval when `heartbeatTicks` is not given: a third of `electionTicks`, at
 * least one tick (docs/parameters.md). Every tick cost an idle node about a third more CPU (each
 * heartbeat is a message each way per follower); measured by CPU counters, which a unit test cannot
 * assert without flaking under load. Writes no longer fail in the elections load causes more often at
 * this rate (they wait for the next leader: leader-wait.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { resolveParams } from '../../src/node/params.js';
import type { NodeParams } from '../../src/node/params.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';

const base = (extra: Partial<NodeParams>): NodeParams => ({
  nodeId: 0, nodes: [{ addr: 'h1' }, { addr: 'h2' }, { addr: 'h3' }], network: new InProcessNetwork(),
  schema: { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }], primaryKey: ['k'] }] }, ...extra,
});

describe('heartbeatTicks', () => {
  it('defaults to a third of the election timeout: 3 ticks of the default 10', () => {
    expect(resolveParams(base({})).heartbeatTicks).toBe(3);
    expect(resolveParams(base({ electionTicks: 30 })).heartbeatTicks).toBe(10);
    expect(resolveParams(base({ electionTicks: 8 })).heartbeatTicks).toBe(2);
  });

  it('is at least one tick, so that a short election timeout alone is still accepted', () => {
    for (const electionTicks of [2, 3, 5]) expect(resolveParams(base({ electionTicks })).heartbeatTicks).toBe(1);
  });

  it('is what the user gives, and refused at open when not below the election timeout', () => {
    expect(resolveParams(base({ heartbeatTicks: 1 })).heartbeatTicks).toBe(1);
    expect(() => resolveParams(base({ heartbeatTicks: 10 }))).toThrow(/heartbeatTicks \(10\) must be less than electionTicks \(10\)/);
  });
});
