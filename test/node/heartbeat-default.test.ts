/**
 * The leader's heartbeat interval when `heartbeatTicks` is not given: a third of `electionTicks`, at
 * least one tick (docs/parameters.md). Every tick (the old default) cost an idle node ~0.1 CPU-s per
 * second on a shared 2-core VM against ~0.06 at three ticks: each heartbeat is a message each way per
 * follower. (Measured by CPU counters, which a unit test cannot assert without flaking under load.)
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
  });

  it('is at least one tick, so that a short election timeout alone is still accepted', () => {
    for (const electionTicks of [2, 3, 5]) expect(resolveParams(base({ electionTicks })).heartbeatTicks).toBe(1);
    expect(resolveParams(base({ electionTicks: 6 })).heartbeatTicks).toBe(2);
  });

  it('is what the user gives, and refused at open when not below the election timeout', () => {
    expect(resolveParams(base({ heartbeatTicks: 1 })).heartbeatTicks).toBe(1);
    expect(() => resolveParams(base({ heartbeatTicks: 10 }))).toThrow(/heartbeatTicks \(10\) must be less than electionTicks \(10\)/);
  });
});
