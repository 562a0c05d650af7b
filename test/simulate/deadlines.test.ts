/**
 * Deadlines: each call runs once, at its own deadline, in the order added, with one simulation event
 * pending for all of them.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../simulate/simulation.js';
import { Deadlines } from '../../simulate/deadlines.js';

describe('Deadlines', () => {
  it('runs each call once, at add time plus the delay, in the order added', () => {
    const sim = new Simulation({ seed: 1 });
    const deadlines = new Deadlines(sim, 500);
    const ran: [number, number][] = [];
    const addAt = [0, 0.3, 0.3, 7.25, 120, 499.9, 1000.1];
    addAt.forEach((atMs, n) => sim.at(atMs, () => deadlines.add(() => ran.push([n, sim.nowMs]))));
    sim.runFor(1001);
    expect(deadlines.length).toBe(1); // the one added at 1000.1 is still waiting
    sim.runFor(10_000);
    expect(ran).toEqual(addAt.map((atMs, n) => [n, atMs + 500]));
    expect(deadlines.length).toBe(0);
  });

  it('runs calls due at the same moment from one event', () => {
    const sim = new Simulation({ seed: 2 });
    const deadlines = new Deadlines(sim, 100);
    let ran = 0;
    sim.at(5, () => {
      for (let i = 0; i < 1000; i++) deadlines.add(() => ran++);
    });
    sim.runFor(50);
    expect(deadlines.length).toBe(1000);
    const before = sim.stats().events;
    sim.runFor(200);
    expect(ran).toBe(1000);
    expect(sim.stats().events - before).toBe(1);
  });

  it('takes calls added by a call that runs, for their own later deadline', () => {
    const sim = new Simulation({ seed: 3 });
    const deadlines = new Deadlines(sim, 10);
    const times: number[] = [];
    const again = () => {
      times.push(sim.nowMs);
      if (times.length < 5) deadlines.add(again);
    };
    deadlines.add(again);
    sim.runFor(1000);
    expect(times).toEqual([10, 20, 30, 40, 50]);
  });
});
