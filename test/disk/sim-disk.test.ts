import { expect, test } from 'vitest';
import { Rng } from '../../simulate/rng.js';
import { SimDisk } from '../../simulate/sim-disk.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

test('synced bytes survive a crash; unsynced appends survive as a prefix, possibly torn', async () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const rng = new Rng(seed);
    const disk = new SimDisk({ random: () => rng.next() });
    const file = await disk.open('f', { create: true });
    await file.append(bytes(1, 2));
    await file.sync();
    await disk.syncDir();
    await file.append(bytes(3, 4, 5));
    await file.append(bytes(6, 7));
    disk.crash();
    const after = [...disk.contents('f')!];
    expect(after.slice(0, 2)).toEqual([1, 2]);
    expect([1, 2, 3, 4, 5, 6, 7].slice(0, after.length)).toEqual(after);
    seen.add(after.length);
    await expect(file.append(bytes(9))).rejects.toThrow(/crashed/);
  }
  expect(seen.size).toBeGreaterThan(4); // whole, lost and torn outcomes all occur
});

test('creations and renames are durable only after syncDir; the same seed crashes the same way', async () => {
  const outcome = async (seed: number): Promise<readonly string[]> => {
    const rng = new Rng(seed);
    const disk = new SimDisk({ random: () => rng.next() });
    await (await disk.open('a', { create: true })).sync();
    await disk.syncDir();
    await disk.open('b', { create: true });
    await disk.rename('a', 'c');
    disk.crash();
    return disk.list();
  };
  const all = new Set<string>();
  for (let seed = 1; seed <= 50; seed++) {
    const names = await outcome(seed);
    expect(await outcome(seed)).toEqual(names);
    expect(names.includes('a') !== names.includes('c')).toBe(true); // a rename is atomic
    all.add(names.join(','));
  }
  expect(all.size).toBeGreaterThan(1);
});
