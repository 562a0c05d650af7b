/**
 * The simulated network's faults, as the actors on either side see them.
 */
import { describe, expect, it } from 'vitest';
import { APP, defineActor } from '../../src/runtime/actor.js';
import { Simulation, simEpochMs } from '../../simulate/simulation.js';
import { SimNetwork } from '../../simulate/network.js';
import { Rng } from '../../simulate/rng.js';
import { simReorderHoldMsMax } from '../../simulate/limits.js';

type ShooterMsg = { type: 'fire'; to: string; n: number };
type CounterMsg = { type: 'shot'; seq: number } | { type: 'report' } | { type: 'clock' };

/** Fires `n` numbered shots at the counter on another node. */
const shooter = defineActor<ShooterMsg, undefined>({
  kind: 'test/shooter',
  module: import.meta.url,
  create(ctx) {
    let seq = 0;
    return {
      receive(m) {
        for (let i = 0; i < m.n; i++) ctx.send({ node: m.to, actor: 'counter' }, { type: 'shot', seq: ++seq });
      },
    };
  },
});

/** Records the shots it received, in arrival order; reports them (and its clock) to its application. */
const counter = defineActor<CounterMsg, undefined>({
  kind: 'test/counter',
  module: import.meta.url,
  create(ctx) {
    const seqs: number[] = [];
    return {
      receive(m) {
        if (m.type === 'shot') seqs.push(m.seq);
        else if (m.type === 'report') ctx.send({ node: ctx.self.node, actor: APP }, { type: 'seen', seqs: [...seqs] });
        else ctx.send({ node: ctx.self.node, actor: APP }, { type: 'clock', nowMs: ctx.now() });
      },
    };
  },
});

function twoNodes(seed = 3) {
  const sim = new Simulation({ seed });
  const reports: { node: string; message: Record<string, unknown> }[] = [];
  sim.on('appMessage', (message, _from, node) => reports.push({ node, message: message as unknown as Record<string, unknown> }));
  for (const node of ['a', 'b']) sim.addNode({ node, actors: [{ name: 'shooter', kind: shooter }, { name: 'counter', kind: counter }] });
  const fire = (from: string, to: string, n: number) => sim.send({ node: from, actor: 'shooter' }, { type: 'fire', to, n });
  const seen = (node: string): number[] => {
    reports.length = 0;
    sim.send({ node, actor: 'counter' }, { type: 'report' });
    sim.runFor(1);
    return reports.find((r) => r.message['type'] === 'seen')!.message['seqs'] as number[];
  };
  return { sim, fire, seen, reports };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('simulated network faults', () => {
  it('partitions cut both ways until healed; packets already in flight are cut too', () => {
    const { sim, fire, seen } = twoNodes();
    fire('a', 'b', 5);
    sim.runFor(0.05); // on the wire (delays are 0.1–2 ms)
    sim.network.partition([['a'], ['b']]);
    fire('b', 'a', 5);
    sim.runFor(10);
    expect(seen('b')).toEqual([]);
    expect(seen('a')).toEqual([]);
    sim.network.heal();
    fire('a', 'b', 3);
    sim.runFor(10);
    expect(seen('b')).toEqual([6, 7, 8]);
  });

  it('cuts one way only', () => {
    const { sim, fire, seen } = twoNodes();
    sim.network.cutOneWay('a', 'b');
    fire('a', 'b', 3);
    fire('b', 'a', 3);
    sim.runFor(10);
    expect(seen('b')).toEqual([]);
    expect(seen('a')).toEqual([1, 2, 3]);
  });

  it('loses, duplicates and reorders packets at the rates asked, FIFO otherwise', () => {
    const lossy = twoNodes();
    lossy.sim.network.setFaults({ lossRate: 0.3 });
    lossy.fire('a', 'b', 2000);
    lossy.sim.runFor(10);
    const kept = lossy.seen('b');
    expect(kept.length).toBeGreaterThan(1300);
    expect(kept.length).toBeLessThan(1500);
    expect(kept).toEqual([...kept].sort((x, y) => x - y)); // survivors keep their order

    const doubled = twoNodes();
    doubled.sim.network.setFaults({ duplicateRate: 1 });
    doubled.fire('a', 'b', 50);
    doubled.sim.runFor(10);
    expect(doubled.seen('b')).toEqual(range(1, 50).flatMap((n) => [n, n]));

    const shuffled = twoNodes();
    shuffled.sim.network.setFaults({ reorderRate: 1, delayMs: [0.1, 5] });
    shuffled.fire('a', 'b', 200);
    shuffled.sim.runFor(10 + simReorderHoldMsMax);
    const arrived = shuffled.seen('b');
    expect([...arrived].sort((x, y) => x - y)).toEqual(range(1, 200));
    expect(arrived).not.toEqual(range(1, 200));
  });

  it('reorders about the share of packets asked even when a path carries one packet at a time', () => {
    // One packet every 3 ms, each delayed at most 2 ms: a packet that only ignored FIFO would never be passed.
    const { sim, fire, seen } = twoNodes();
    sim.network.setFaults({ reorderRate: 0.2 });
    for (let i = 0; i < 600; i++) {
      fire('a', 'b', 1);
      sim.runFor(3);
    }
    sim.runFor(simReorderHoldMsMax);
    const arrived = seen('b');
    expect([...arrived].sort((x, y) => x - y)).toEqual(range(1, 600));
    // Packets that came after one sent later than them: the held-back ones that were passed.
    let passed = 0;
    let highest = 0;
    for (const n of arrived) {
      if (n < highest) passed++;
      highest = Math.max(highest, n);
    }
    expect(passed / 600).toBeGreaterThan(0.12);
    expect(passed / 600).toBeLessThan(0.25);
  });

  it('delays a slow path by its own range until the network heals, FIFO still', () => {
    const { sim, fire, seen } = twoNodes();
    sim.network.slowPath('a', 'b', [40, 60]);
    fire('a', 'b', 20);
    fire('b', 'a', 3);
    sim.runFor(35);
    expect(seen('b')).toEqual([]); // none can have arrived before 40 ms
    expect(seen('a')).toEqual([1, 2, 3]); // the other way is not slow
    sim.runFor(25);
    expect(seen('b')).toEqual(range(1, 20));
    sim.network.heal();
    fire('a', 'b', 2);
    sim.runFor(2.5);
    expect(seen('b')).toEqual(range(1, 22));
    expect(() => sim.network.slowPath('a', 'b', [5, 1])).toThrow('delayMs must be [min, max]');
  });

  it('drops packets past the path capacity', () => {
    const { sim, fire, seen } = twoNodes();
    sim.network.setFaults({ pathPacketsMax: 10 });
    fire('a', 'b', 100);
    sim.runFor(10);
    expect(seen('b')).toEqual(range(1, 10));
    expect(sim.network.stats().overCapacity).toBe(90);
    fire('a', 'b', 5); // the path drained: room again
    sim.runFor(10);
    expect(seen('b')).toEqual([...range(1, 10), ...range(101, 105)]);
  });

  it('holds a clogged link until it clears, then delivers in a burst', () => {
    const { sim, fire, seen } = twoNodes();
    sim.network.clog('a', 'b', 50);
    fire('a', 'b', 4);
    sim.runFor(49);
    expect(seen('b')).toEqual([]);
    sim.runFor(2);
    expect(seen('b')).toEqual([1, 2, 3, 4]);
  });

  it('freezes a paused node and runs what came due, in order, when it resumes', () => {
    const { sim, fire, seen } = twoNodes();
    sim.pause('b');
    fire('a', 'b', 5);
    sim.runFor(100);
    sim.resume('b');
    sim.runFor(0);
    expect(seen('b')).toEqual([1, 2, 3, 4, 5]);
  });

  it('skews and drifts a node clock without touching virtual time', () => {
    const { sim, reports } = twoNodes();
    sim.setClockOffset('a', -250);
    sim.setClockRate('b', 1.5);
    sim.runFor(1000);
    for (const node of ['a', 'b']) sim.send({ node, actor: 'counter' }, { type: 'clock' });
    sim.runFor(0.1);
    const clock = (node: string) => reports.find((r) => r.node === node && r.message['type'] === 'clock')!.message['nowMs'] as number;
    expect(clock('a') - simEpochMs).toBeCloseTo(sim.nowMs - 250, 0);
    expect(clock('b') - simEpochMs).toBeCloseTo(sim.nowMs * 1.5, 0);
  });
});

describe('paused nodes and path capacity', () => {
  it('counts a packet held by a paused node off its path exactly once', () => {
    const { sim, fire, seen } = twoNodes();
    sim.network.setFaults({ pathPacketsMax: 10 });
    sim.pause('b');
    fire('a', 'b', 10);
    sim.runFor(10);
    sim.resume('b');
    sim.runFor(1);
    fire('a', 'b', 15); // the path holds 10 again, no more and no fewer
    sim.runFor(10);
    expect(seen('b')).toEqual(range(1, 20));
    expect(sim.network.stats().overCapacity).toBe(5);
  });
});

describe('partition shapes', () => {
  /** Whom each node can send to and hear from (itself included), after `shape` cut the network. */
  const views = (names: readonly string[], shape: (net: SimNetwork) => void) => {
    const net = new SimNetwork(new Rng(1));
    shape(net);
    return new Map(names.map((a) => {
      const sees = names.filter((b) => a === b || (!net.isCut(a, b) && !net.isCut(b, a)));
      for (const b of names) expect(net.isCut(a, b), `${a} -> ${b} and back`).toBe(net.isCut(b, a)); // both ways
      return [a, sees.join(' ')] as const;
    }));
  };

  it('a majorities ring: every node sees a majority, its ring neighbours, and no two see the same one', () => {
    const seen = views(['n0', 'n1', 'n2', 'n3', 'n4'], (net) => net.partitionRing(['n2', 'n0', 'n4', 'n1', 'n3']));
    expect(seen).toEqual(new Map([['n0', 'n0 n2 n4'], ['n1', 'n1 n3 n4'], ['n2', 'n0 n2 n3'], ['n3', 'n1 n2 n3'], ['n4', 'n0 n1 n4']]));
    for (const size of [4, 6, 7, 9]) {
      const names = Array.from({ length: size }, (_, i) => `m${i}`);
      const sets = [...views(names, (net) => net.partitionRing(names)).values()];
      for (const set of sets) expect(set.split(' ').length).toBeGreaterThan(size / 2);
      expect(new Set(sets).size).toBe(size);
      expect(sets.every((set) => set.split(' ').length < size)).toBe(true);
    }
    const three = [...views(['a', 'b', 'c'], (net) => net.partitionRing(['a', 'b', 'c'])).values()];
    expect(three).toEqual(['a b c', 'a b c', 'a b c']); // a ring of three is whole
  });

  it('a bridge: the sides cannot reach each other, the bridge node reaches both', () => {
    const seen = views(['a', 'b', 'm', 'c', 'd'], (net) => net.partitionBridge(['a', 'b'], 'm', ['c', 'd']));
    expect(seen).toEqual(new Map([['a', 'a b m'], ['b', 'a b m'], ['m', 'a b m c d'], ['c', 'm c d'], ['d', 'm c d']]));
    expect(() => new SimNetwork(new Rng(1)).partitionBridge(['a', 'm'], 'm', ['c'])).toThrow('one place only');
  });
});
