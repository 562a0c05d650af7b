/**
 * Fault schedules as `chorus sim` draws them (simulate/faults.ts): narrowing the kinds, the clock faults
 * of the swarm, correlated crashes (power losses), fault counts that grow with the run, partitions that
 * cut something on small clusters, and a node whose clock runs fast firing its timers sooner.
 */
import { describe, expect, it } from 'vitest';
import { endFaults, faultKinds, parseFaultKinds, scheduleFaults, simPathCapacityMin, simSlowLinkMsMax, swarmFaults, swarmFaultsMax } from '../../simulate/faults.js';
import type { Fault } from '../../simulate/faults.js';
import { Simulation } from '../../simulate/simulation.js';
import { ticker } from '../../src/actors/examples/ticker.js';
import type { Message } from '../../src/runtime/actor.js';
import { simClockDriftMax, simClockSkewMsMax } from '../../src/limits.js';
import { simDetachMsMax, simPowerLossStaggerMsMax, simPowerLossStallMsMax, simStallMsMax, simSwarmFaultsPerSecondMax } from '../../simulate/limits.js';

describe('swarm fault schedules', () => {
  it('draw only the kinds they are given, at the same times as the full mix', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const all = swarmFaults(seed, 5, 10_000);
      const crashes = swarmFaults(seed, 5, 10_000, ['crash']);
      expect(crashes.map((f) => f.atMs)).toEqual(all.map((f) => f.atMs));
      expect(crashes.every((f) => f.fault.kind === 'crash')).toBe(true);
      const lossOnly = swarmFaults(seed, 5, 10_000, ['loss']);
      for (const { fault } of lossOnly) expect(fault).toMatchObject({ kind: 'rates', duplicate: 0, reorder: 0 });
    }
  });

  it('give nodes clock skew and drift within their bounds, and some seeds draw them', () => {
    const clocks = Array.from({ length: 200 }, (_, i) => swarmFaults(i + 1, 5, 10_000)).flat().map((f) => f.fault).filter((f) => f.kind === 'clock');
    expect(clocks.length).toBeGreaterThan(20);
    for (const f of clocks) {
      expect(Math.abs(f.offsetMs)).toBeLessThanOrEqual(simClockSkewMsMax);
      expect(Math.abs(f.rate - 1)).toBeLessThanOrEqual(simClockDriftMax);
    }
    expect(clocks.some((f) => f.offsetMs !== 0 && f.rate !== 1)).toBe(true);
    const skewOnly = Array.from({ length: 200 }, (_, i) => swarmFaults(i + 1, 5, 10_000, ['skew'])).flat().map((f) => f.fault);
    expect(skewOnly.every((f) => f.kind === 'clock' && f.rate === 1)).toBe(true);
  });

  it('draw partitions of every shape: halves, single nodes cut off, majority rings and bridges', () => {
    const partitions = Array.from({ length: 300 }, (_, i) => swarmFaults(i + 1, 5, 10_000, ['partition'])).flat().map((f) => f.fault);
    const shapes = new Set(partitions.map((f) => (f.kind === 'partition' ? `halves, ${smallerSide(f.mask)} against the rest` : f.kind)));
    expect(shapes).toEqual(new Set(['halves, 1 against the rest', 'halves, 2 against the rest', 'ring', 'bridge', 'heal']));
    for (const f of partitions) if (f.kind === 'ring') expect([...f.order].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('draw partitions and faults on a path that change something, on 2 to 5 nodes', () => {
    for (const nodes of [2, 3, 4, 5]) {
      const names = Array.from({ length: nodes }, (_, i) => `n${i}`);
      const drawn = Array.from({ length: 150 }, (_, i) => swarmFaults(i + 1, nodes, 3_000, ['partition', 'one-way', 'latency', 'clog'])).flat().map((f) => f.fault);
      const partitions = drawn.filter((f) => f.kind === 'partition' || f.kind === 'ring' || f.kind === 'bridge');
      expect(partitions.length).toBeGreaterThan(50);
      for (const fault of partitions) {
        const sim = new Simulation({ seed: 1 });
        scheduleFaults(sim, names, [{ atMs: 0, fault }]);
        sim.runFor(1);
        const cut = names.flatMap((a) => names.filter((b) => a !== b && sim.network.isCut(a, b)));
        expect(cut.length, JSON.stringify(fault)).toBeGreaterThan(0);
      }
      for (const f of drawn) if (f.kind === 'cutOneWay' || f.kind === 'slowLink' || f.kind === 'clog') expect(f.from, JSON.stringify(f)).not.toBe(f.to);
    }
  });

  it('crash a majority of the nodes, or all of them, at once or in quick succession on many seeds', () => {
    for (const nodes of [3, 5]) {
      const majority = Math.floor(nodes / 2) + 1;
      const schedules = Array.from({ length: 200 }, (_, i) => swarmFaults(i + 1, nodes, 3_000));
      const losses = schedules.map((s) => s.flatMap(({ atMs, fault }) => (fault.kind === 'powerLoss' ? [{ atMs, fault }] : [])));
      expect(losses.filter((l) => l.length > 0).length).toBeGreaterThan(200 / 4); // a quarter of the seeds at least
      const all = losses.flat();
      for (const { atMs, fault } of all) {
        const down = Array.from({ length: nodes }, (_, i) => i).filter((i) => (fault.mask & (1 << i)) !== 0).length;
        expect(down).toBeGreaterThanOrEqual(majority);
        expect(atMs + (fault.stallMs ?? 0) + (down - 1) * fault.staggerMs).toBeLessThan(3_000); // the last one goes down in the safety phase
        expect(fault.staggerMs).toBeLessThan(simPowerLossStaggerMsMax);
        expect(fault.stallMs ?? 1).toBeGreaterThan(0);
        expect(fault.stallMs ?? 0).toBeLessThanOrEqual(simPowerLossStallMsMax);
      }
      expect(all.some(({ fault }) => fault.mask === (1 << nodes) - 1)).toBe(true);
      expect(all.some(({ fault }) => fault.staggerMs === 0) && all.some(({ fault }) => fault.staggerMs > 0)).toBe(true);
      // Half each: mid-write, after a disk stall, dropping every unsynced record.
      for (const key of ['midWrite', 'stallMs', 'dropUnsynced'] as const) {
        const share = all.filter(({ fault }) => fault[key] !== undefined).length / all.length;
        expect(share > 0.35 && share < 0.65, `${key}: ${share}`).toBe(true);
      }
    }
  });

  it('play a power loss with a disk stall first: the stalled nodes go down after it, dropping what they had not synced', () => {
    const sim = new Simulation({ seed: 4, backgroundSync: true });
    const names = ['n0', 'n1', 'n2'];
    for (const node of names) sim.addNode({ node, actors: [{ name: 'tick', kind: ticker, params: { intervalMs: 10, ticks: 1_000 } }] });
    scheduleFaults(sim, names, [{ atMs: 10, fault: { kind: 'powerLoss', mask: 0b011, staggerMs: 0, forMs: 100, stallMs: 15, dropUnsynced: true } }]);
    sim.runFor(24);
    expect(names.map((n) => sim.isUp(n))).toEqual([true, true, true]); // stalled disks, power still on
    expect(names.map((n) => sim.disks.isStalled(n))).toEqual([true, true, false]);
    sim.runFor(2);
    expect(names.map((n) => sim.isUp(n))).toEqual([false, false, true]); // down at 25 ms
    expect(sim.disks.counts).toMatchObject({ crashes: 2, tailsDropped: 2 });
    expect(names.map((n) => sim.disks.isStalled(n))).toEqual([false, false, false]); // the stall went with the power
    sim.runFor(100);
    expect(names.map((n) => sim.isUp(n))).toEqual([true, true, true]);
  });

  it('draw as many faults per second of a long safety phase as of a short one', () => {
    expect(swarmFaultsMax(3_000)).toBe(16);
    expect(swarmFaultsMax(60_000)).toBe(60 * simSwarmFaultsPerSecondMax);
    const counts = (ms: number) => Array.from({ length: 100 }, (_, i) => swarmFaults(i + 1, 3, ms));
    const mean = (schedules: unknown[][]) => schedules.reduce((sum, s) => sum + s.length, 0) / schedules.length;
    expect(mean(counts(60_000))).toBeGreaterThan(15 * mean(counts(3_000)));
    const late = counts(60_000).flat().filter((f) => f.atMs >= 50_000);
    expect(late.length).toBeGreaterThan(1_000); // the last sixth of the run has its share
  });

  it('play a power loss: every node in it down, one after another, each back after its time', () => {
    const sim = new Simulation({ seed: 3 });
    const names = ['n0', 'n1', 'n2', 'n3', 'n4'];
    for (const node of names) sim.addNode({ node, actors: [{ name: 'tick', kind: ticker, params: { intervalMs: 10, ticks: 1_000 } }] });
    scheduleFaults(sim, names, [{ atMs: 10, fault: { kind: 'powerLoss', mask: 0b10110, staggerMs: 5, forMs: 100 } }]);
    const up = () => names.filter((n) => sim.isUp(n)).join(' ');
    sim.runFor(9);
    expect(up()).toBe('n0 n1 n2 n3 n4');
    sim.runFor(2);
    expect(up()).toBe('n0 n2 n3 n4'); // n1 first, at 10 ms
    sim.runFor(10);
    expect(up()).toBe('n0 n3'); // n2 at 15 ms, n4 at 20 ms
    sim.runFor(100); // 121 ms: n1 back at 110 ms, n2 at 115 ms, n4 at 120 ms
    expect(up()).toBe('n0 n1 n2 n3 n4');
  });

  it('draw node stalls, crashes inside a journal sync, and detaches with their attach, within their bounds', () => {
    const faults = Array.from({ length: 200 }, (_, i) => swarmFaults(i + 1, 5, 10_000, ['stall', 'crash', 'detach'])).flat().map((f) => f.fault);
    const stalls = faults.filter((f) => f.kind === 'stall');
    const detaches = faults.filter((f) => f.kind === 'detach');
    const crashes = faults.filter((f) => f.kind === 'crash');
    expect(stalls.length > 50 && detaches.length > 50).toBe(true);
    for (const f of stalls) expect(f.forMs >= 10 && f.forMs < 10 + simStallMsMax).toBe(true);
    for (const f of detaches) expect(f.forMs >= simDetachMsMax / 10 && f.forMs < 1.1 * simDetachMsMax).toBe(true);
    expect(crashes.some((f) => f.midWrite === true) && crashes.some((f) => f.midWrite !== true)).toBe(true);
  });

  it('stall a node: nothing to or from it arrives until the stall ends, then all of it does', () => {
    const sim = new Simulation({ seed: 2 });
    const names = ['n0', 'n1', 'n2'];
    scheduleFaults(sim, names, [{ atMs: 0, fault: { kind: 'stall', node: 1, forMs: 100 } }]);
    sim.runFor(1);
    const arrivals = (from: string, to: string) => sim.network.plan(from, to, sim.nowMs);
    expect(arrivals('n0', 'n1')[0]).toBeGreaterThanOrEqual(100);
    expect(arrivals('n1', 'n2')[0]).toBeGreaterThanOrEqual(100);
    expect(arrivals('n0', 'n2')[0]).toBeLessThan(10);
  });

  it('strike no more once the faults end: a power loss armed mid-write crashes no node in the liveness phase', () => {
    const sim = new Simulation({ seed: 5 });
    const names = ['n0', 'n1', 'n2'];
    // Tickers never write their journal: an armed crash would strike only at its deadline.
    for (const node of names) sim.addNode({ node, actors: [{ name: 'tick', kind: ticker, params: { intervalMs: 10, ticks: 1_000 } }] });
    scheduleFaults(sim, names, [{ atMs: 10, fault: { kind: 'powerLoss', mask: 0b111, staggerMs: 0, forMs: 100, midWrite: true } }]);
    sim.runFor(20);
    endFaults(sim);
    sim.runFor(200);
    expect(names.map((n) => sim.isUp(n))).toEqual([true, true, true]);
    expect(sim.disks.counts.crashes).toBe(0);
  });

  it('strike no more once the faults end: a power loss under way crashes no further node', () => {
    const sim = new Simulation({ seed: 3 });
    const names = ['n0', 'n1', 'n2'];
    for (const node of names) sim.addNode({ node, actors: [{ name: 'tick', kind: ticker, params: { intervalMs: 10, ticks: 1_000 } }] });
    scheduleFaults(sim, names, [
      { atMs: 10, fault: { kind: 'powerLoss', mask: 0b111, staggerMs: 50, forMs: 300 } },
      { atMs: 150, fault: { kind: 'crash', node: 2, forMs: 100 } },
    ]);
    sim.runFor(70); // n0 down at 10 ms, n1 at 60 ms
    expect(names.map((n) => sim.isUp(n))).toEqual([false, false, true]);
    endFaults(sim);
    sim.runFor(100); // n2 would have gone at 110 ms, and again at 150 ms
    expect(names.map((n) => sim.isUp(n))).toEqual([false, false, true]);
    sim.runFor(300); // the restarts still came: n0 at 310 ms, n1 at 360 ms
    expect(names.map((n) => sim.isUp(n))).toEqual([true, true, true]);
  });

  it('play a ring and a bridge on the network, healing what an earlier partition cut', () => {
    const sim = new Simulation({ seed: 1 });
    const names = ['n0', 'n1', 'n2', 'n3', 'n4'];
    const play = (fault: Fault) => {
      scheduleFaults(sim, names, [{ atMs: 0, fault }]);
      sim.runFor(1);
    };
    const open = () => names.flatMap((a) => names.filter((b) => a < b && !sim.network.isCut(a, b)).map((b) => `${a}-${b}`));
    play({ kind: 'partition', mask: 0b00001 });
    expect(open()).toEqual(['n1-n2', 'n1-n3', 'n1-n4', 'n2-n3', 'n2-n4', 'n3-n4']);
    // Repeats dropped and numbers wrapped (7 is n2); missing n3 and n4 join at the end: n1 n0 n2 n3 n4.
    play({ kind: 'ring', order: [1, 0, 1, 7] });
    expect(open()).toEqual(['n0-n1', 'n0-n2', 'n1-n4', 'n2-n3', 'n3-n4']);
    play({ kind: 'bridge', mask: 0b00011, bridge: 1 }); // n0 | n1 | n2 n3 n4
    expect(open()).toEqual(['n0-n1', 'n1-n2', 'n1-n3', 'n1-n4', 'n2-n3', 'n2-n4', 'n3-n4']);
  });

  it('draw slow links with their own delay range, and on harsh seeds with loss, a small capacity per path', () => {
    const faults = Array.from({ length: 200 }, (_, i) => swarmFaults(i + 1, 5, 10_000)).flat().map((f) => f.fault);
    const slow = faults.filter((f) => f.kind === 'slowLink');
    expect(slow.length).toBeGreaterThan(20);
    for (const f of slow) expect(f.minMs <= f.maxMs && f.minMs >= 0.1 && f.maxMs <= simSlowLinkMsMax).toBe(true);
    expect(slow.some((f) => f.maxMs > 20)).toBe(true);
    const capacities = faults.flatMap((f) => (f.kind === 'rates' && f.capacity !== undefined ? [f.capacity] : []));
    expect(capacities.length).toBeGreaterThan(5);
    for (const c of capacities) expect(c >= simPathCapacityMin && c < 9 * simPathCapacityMin).toBe(true);
    const latencyOnly = Array.from({ length: 50 }, (_, i) => swarmFaults(i + 1, 5, 10_000, ['latency'])).flat();
    expect(latencyOnly.every((f) => f.fault.kind === 'slowLink')).toBe(true);
  });

  it('play a slow link and a path capacity on the network', () => {
    const sim = new Simulation({ seed: 4 });
    scheduleFaults(sim, ['n0', 'n1'], [
      { atMs: 0, fault: { kind: 'slowLink', from: 0, to: 1, minMs: 30, maxMs: 30 } },
      { atMs: 0, fault: { kind: 'rates', loss: 0, duplicate: 0, reorder: 0, capacity: 4 } },
    ]);
    sim.runFor(1);
    expect(sim.network.plan('n0', 'n1', sim.nowMs)).toEqual([31]);
    const arrivals = Array.from({ length: 5 }, () => sim.network.plan('n1', 'n0', sim.nowMs).length);
    expect(arrivals).toEqual([1, 1, 1, 1, 0]); // four packets in flight on the path, the fifth dropped
    expect(sim.network.stats().overCapacity).toBe(1);
  });

  it('refuses unknown kinds by name and lists the valid ones', () => {
    expect(parseFaultKinds('t', 'partition, crash,loss')).toEqual(['partition', 'crash', 'loss']);
    expect(() => parseFaultKinds('t', 'partition,meteor')).toThrow(`unknown fault kind "meteor"; valid kinds: ${faultKinds.join(', ')}`);
    expect(() => parseFaultKinds('t', '')).toThrow('valid kinds');
  });
});

/** Nodes on the smaller side of a halves partition of five: 1 (one node cut off) or 2 (0 would cut nothing). */
function smallerSide(mask: number): number {
  let n = 0;
  for (let i = 0; i < 5; i++) if (mask & (1 << i)) n++;
  return Math.min(n, 5 - n);
}

describe('a node clock running fast', () => {
  it('fires its timers sooner in virtual time, while its own clock sees every interval kept', () => {
    const finishedAt = (rate: number) => {
      const sim = new Simulation({ seed: 1 });
      let report: { atMs: number; message: Message } | undefined;
      sim.on('appMessage', (message) => void (report = { atMs: sim.nowMs, message }));
      sim.addNode({ node: 'a', actors: [{ name: 'tick', kind: ticker, params: { intervalMs: 10, ticks: 5 } }] });
      sim.setClockRate('a', rate);
      sim.runFor(1_000);
      return report!;
    };
    const normal = finishedAt(1);
    const fast = finishedAt(2);
    // The first timer was set at creation, before the rate changed: 10 ms, then four at 5 ms each.
    expect(normal.atMs).toBe(50);
    expect(fast.atMs).toBe(30);
    expect(fast.message).toMatchObject({ ticks: 5, intervalsKept: true, clockWentBack: false });
  });
});
