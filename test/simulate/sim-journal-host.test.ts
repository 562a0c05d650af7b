/**
 * How the simulator hosts journals: about half the seeds offer syncThen (the choice a pure function of
 * the seed), a background sync's answer reaches the actor through the event queue as from itself, later
 * than the request, held while its node is paused and never delivered to a later run of a crashed node;
 * what the disks do for power losses (stall, drop unsynced tails) and how endFaults calms them.
 */
import { describe, expect, it } from 'vitest';
import type { Address, Message } from '../../src/runtime/actor.js';
import { APP, defineActor } from '../../src/runtime/actor.js';
import { Simulation } from '../../simulate/simulation.js';
import { drawBackgroundSync } from '../../simulate/sim-journals.js';
import { simBackgroundSlowSyncMs } from '../../simulate/limits.js';

type WriterMessage = { type: 'write'; n: number } | { type: 'written'; n: number };
interface Durable {
  readonly type: 'durable';
  readonly n: number;
  readonly from: Address;
  readonly atMs: number;
}

/** Appends a record per write and asks for a background sync (or syncs); tells the application when it is durable. */
const writer = defineActor<WriterMessage, undefined>({
  kind: 'test/journal-writer',
  module: import.meta.url,
  create(ctx) {
    const journal = ctx.journal!;
    ctx.send({ node: ctx.self.node, actor: APP }, { type: 'recovered', records: journal.recovered.map((r) => r[0]!) });
    return {
      receive(message, from) {
        if (message.type === 'write') {
          journal.append(new Uint8Array([message.n]));
          const written: WriterMessage = { type: 'written', n: message.n };
          if (journal.syncThen !== undefined) return journal.syncThen(written);
          journal.sync(); // a run without background syncs
          ctx.send({ node: ctx.self.node, actor: APP }, { type: 'durable', n: message.n, from: ctx.self, atMs: ctx.now() } satisfies Durable);
        } else {
          ctx.send({ node: ctx.self.node, actor: APP }, { type: 'durable', n: message.n, from, atMs: ctx.now() } satisfies Durable);
        }
      },
    };
  },
});

function run(seed: number) {
  const sim = new Simulation({ seed, backgroundSync: true });
  const heard: Message[] = [];
  sim.on('appMessage', (message) => heard.push(message));
  sim.addNode({ node: 'a', actors: [{ name: 'w', kind: writer }] });
  const durable = () => heard.filter((m): m is Durable => m.type === 'durable').map((m) => m.n);
  return { sim, heard, durable, write: (n: number) => sim.send({ node: 'a', actor: 'w' }, { type: 'write', n }) };
}

describe('Simulation journals', () => {
  it('offer syncThen on about half the seeds, the same way for a seed every time, unless told', () => {
    const seeds = [...Array(400).keys()];
    const drawn = seeds.filter((seed) => drawBackgroundSync(seed));
    expect(drawn.length).toBeGreaterThan(150);
    expect(drawn.length).toBeLessThan(250);
    expect(seeds.filter((seed) => drawBackgroundSync(seed))).toEqual(drawn);
    expect(drawn.every((seed) => new Simulation({ seed }).backgroundSync)).toBe(true);
    expect(new Simulation({ seed: drawn[0]!, backgroundSync: false }).backgroundSync).toBe(false);
    const offered = (seed: number) => {
      const sim = new Simulation({ seed });
      let syncThen: unknown;
      const probe = defineActor<Message, undefined>({ kind: 'test/probe', module: import.meta.url, create: (ctx) => ((syncThen = ctx.journal?.syncThen), { receive() {} }) });
      sim.addNode({ node: 'a', actors: [{ name: 'p', kind: probe }] });
      return syncThen !== undefined;
    };
    expect(seeds.slice(0, 20).map(offered)).toEqual(seeds.slice(0, 20).map((seed) => drawBackgroundSync(seed)));
  });

  it('answer a background sync later, as a message from the actor itself, in request order', () => {
    const { sim, heard, durable, write } = run(1);
    for (let n = 1; n <= 5; n++) write(n);
    sim.runFor(2 * simBackgroundSlowSyncMs[1]);
    expect(durable()).toEqual([1, 2, 3, 4, 5]);
    const answers = heard.filter((m): m is Durable => m.type === 'durable');
    expect(answers.every((m) => m.from.node === 'a' && m.from.actor === 'w')).toBe(true);
  });

  it('hold the answer while the node is paused, and deliver it on resume', () => {
    const { sim, durable, write } = run(2);
    write(1);
    sim.runFor(0.1); // the write is in the journal; its sync is under way
    sim.pause('a');
    sim.runFor(2 * simBackgroundSlowSyncMs[1]);
    expect(durable()).toEqual([]);
    sim.resume('a');
    sim.runFor(0.1);
    expect(durable()).toEqual([1]);
  });

  it('never deliver an answer to a later run of a crashed node, and recover only what was durable', () => {
    let lostSome = false;
    for (let seed = 1; seed <= 40; seed++) {
      const { sim, heard, durable, write } = run(seed);
      write(1);
      sim.runFor(2 * simBackgroundSlowSyncMs[1]);
      write(2);
      sim.runFor(0.02); // written, its sync not yet complete (the fastest takes longer than this)
      sim.crash('a');
      sim.restart('a');
      sim.runFor(2 * simBackgroundSlowSyncMs[1]);
      expect(durable()).toEqual([1]);
      const recovered = (heard.filter((m) => m.type === 'recovered').at(-1) as unknown as { records: number[] }).records;
      expect(recovered.slice(0, 1)).toEqual([1]);
      if (!recovered.includes(2)) lostSome = true;
    }
    expect(lostSome).toBe(true);
  });

  it('crash only the armed node mid-write, background sync or not (power losses are faults of the schedule)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (let seed = 1; seed <= 20; seed++) {
      const sim = new Simulation({ seed, backgroundSync: seed % 2 === 0 });
      for (const node of names) sim.addNode({ node, actors: [{ name: 'w', kind: writer }] });
      const down: string[] = [];
      sim.on('crashed', (node) => down.push(node));
      const writes = (n: number) => {
        for (const node of names) if (sim.isUp(node)) sim.send({ node, actor: 'w' }, { type: 'write', n });
        if (n < 200) sim.at(0.5, () => writes(n + 1));
      };
      writes(1);
      sim.runFor(10);
      sim.crashAtNextSync('a', 50);
      expect(sim.runUntil(() => !sim.isUp('a'), 50)).toBe(true); // inside its next (background) sync
      sim.runFor(50);
      expect(down).toEqual(['a']);
    }
  });

  it('stall a disk: every background sync it starts takes the stall\'s time, until its node goes down', () => {
    const { sim, durable, write } = run(5);
    write(1);
    sim.runFor(2 * simBackgroundSlowSyncMs[1]); // a sync started before the stall keeps its own time
    sim.disks.stall('a', [300, 300]);
    write(2);
    sim.runFor(299);
    expect(durable()).toEqual([1]);
    sim.runFor(2);
    expect(durable()).toEqual([1, 2]);
    sim.crash('a');
    sim.restart('a');
    write(3);
    sim.runFor(simBackgroundSlowSyncMs[1] + 1); // the stall went with the crash
    expect(durable()).toEqual([1, 2, 3]);
  });

  it('drop every unsynced record at a crash a power loss marked, where an unmarked crash keeps a random part', () => {
    const recoveredAfterCrash = (seed: number, drop: boolean) => {
      const { sim, heard, write } = run(seed);
      write(1);
      sim.runFor(2 * simBackgroundSlowSyncMs[1]);
      sim.disks.stall('a', [100, 100]);
      for (let n = 2; n <= 9; n++) write(n); // written, their sync 100 ms away
      sim.runFor(1);
      if (drop) sim.disks.dropUnsyncedAtCrash('a');
      sim.crash('a');
      expect(sim.disks.counts.tailsDropped).toBe(drop ? 1 : 0);
      sim.restart('a');
      return (heard.filter((m) => m.type === 'recovered').at(-1) as unknown as { records: number[] }).records;
    };
    const kept = Array.from({ length: 20 }, (_, seed) => recoveredAfterCrash(seed, false).length - 1);
    expect(kept.some((n) => n > 0)).toBe(true); // some unsynced records survive an unmarked crash
    for (let seed = 0; seed < 20; seed++) expect(recoveredAfterCrash(seed, true)).toEqual([1]);
  });

  it('calm every disk when the faults end: an armed crash strikes no more, no disk stalls, no crash drops tails', () => {
    const { sim, heard, durable, write } = run(6);
    write(1);
    sim.runFor(2 * simBackgroundSlowSyncMs[1]);
    sim.disks.stall('a', [300, 300]);
    sim.disks.dropUnsyncedAtCrash('a');
    sim.crashAtNextSync('a', 50);
    sim.disks.calm();
    write(2);
    sim.runFor(100);
    expect(sim.isUp('a')).toBe(true);
    expect(durable()).toEqual([1, 2]); // a normal sync, not a stalled one
    expect(heard.filter((m) => m.type === 'recovered')).toHaveLength(1);
    sim.crash('a');
    expect(sim.disks.counts).toMatchObject({ crashes: 1, tailsDropped: 0 });
  });
});
