/**
 * The leader's heartbeat interval (docs/parameters.md): every tick unless `heartbeatTicks` says
 * otherwise, and refused at open when not below the election timeout.
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
  it('defaults to every tick, whatever the election timeout', () => {
    for (const electionTicks of [2, 10, 30]) expect(resolveParams(base({ electionTicks })).heartbeatTicks).toBe(1);
  });

  it('is what the user gives, and refused at open when not below the election timeout', () => {
    expect(resolveParams(base({ heartbeatTicks: 3 })).heartbeatTicks).toBe(3);
    expect(() => resolveParams(base({ heartbeatTicks: 10 }))).toThrow(/heartbeatTicks \(10\) must be less than electionTicks \(10\)/);
  });
});
