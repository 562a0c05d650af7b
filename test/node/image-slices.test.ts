/**
 * State images for the replicator are taken a slice per event-loop turn (src/node/image-slices.ts): the
 * application's thread keeps serving meanwhile, and the image is still exactly the tables as they were
 * when it was asked for, whatever was written after. An image from the leader (or the journal) is loaded
 * the same way: the tables stay as they were, serving reads, until the whole image replaces them, and what
 * must follow the image (applies, reads made ready) waits for it, in order.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { ImageRestorer, ImageSlicer } from '../../src/node/image-slices.js';
import type { Message } from '../../src/runtime/actor.js';
import type { ImageTaken, ImageWanted } from '../../src/actors/replicator.js';

const schema: SchemaDef = {
  tables: [{ name: 'kv', fields: [{ name: 'k', type: 'int32' }, { name: 'v', type: 'string' }], primaryKey: ['k'] }],
};
const rows = 60_000;

function filled(): Store {
  const store = Store.open(schema);
  store.commit((tx) => {
    for (let k = 0; k < rows; k++) tx.upsert('kv', { k, v: `value ${k}` });
  });
  return store;
}
const wanted: ImageWanted = { type: 'imageWanted', index: 42, frameRowsMax: 100, frameBytesMax: 64 * 1024, replyTo: { node: 'n1', actor: 'replicator' } };

describe('ImageSlicer', () => {
  it('lets the thread run between slices, and the image is the tables as they were when asked, not after later writes', async () => {
    const store = filled();
    const expected = [...store.snapshot({ frameRowsMax: wanted.frameRowsMax, frameBytesMax: wanted.frameBytesMax })];
    const slicer = new ImageSlicer();
    let turns = 0;
    const taken = await new Promise<ImageTaken>((resolve) => {
      slicer.take(store, wanted, resolve);
      expect(slicer.busy).toBe(true);
      // Other work runs while the image is taken: here, writes that change every row the image holds.
      const other = () => {
        turns++;
        store.commit((tx) => void tx.upsert('kv', { k: turns % rows, v: 'changed after the image was asked for' }));
        if (slicer.busy) setImmediate(other);
      };
      setImmediate(other);
    });
    expect(turns).toBeGreaterThan(1);
    expect(taken.index).toBe(42);
    expect(taken.frames.length).toBe(expected.length);
    expect(Buffer.concat(taken.frames).equals(Buffer.concat(expected))).toBe(true);
    // And it restores to the tables of that moment.
    const copy = Store.open(schema);
    copy.restoreSync(taken.frames, 'test image');
    expect(copy.read((tx) => tx.get('kv', 1)?.['v'])).toBe('value 1');
    expect(copy.read((tx) => tx.count('kv'))).toBe(rows);
  });

  it('sends nothing once cancelled (the node stopped); a request while one is being taken is dropped', async () => {
    const store = filled();
    const slicer = new ImageSlicer();
    const heard: number[] = [];
    slicer.take(store, wanted, (t) => heard.push(t.index));
    slicer.cancel();
    expect(slicer.busy).toBe(false);
    slicer.take(store, { ...wanted, index: 7 }, (t) => heard.push(t.index));
    slicer.take(store, { ...wanted, index: 9 }, (t) => heard.push(t.index));
    while (slicer.busy) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    expect(heard).toEqual([7]);
  });
});

describe('ImageRestorer', () => {
  const imageOf = (store: Store) => [...store.snapshot({ frameRowsMax: 100, frameBytesMax: 64 * 1024 })];

  it('keeps the thread running and the old tables readable while a large image loads; what follows it waits, in order', async () => {
    const image = imageOf(filled());
    const store = Store.open(schema);
    store.commit((tx) => void tx.upsert('kv', { k: 1, v: 'before the image' }));
    const restorer = new ImageRestorer();
    const replayed: string[] = [];
    let loaded = false;
    let turns = 0;
    let readsMeanwhile = 0;
    const done = new Promise<unknown>((resolve) => {
      restorer.load(store, 'test image', image, (error) => { loaded = true; resolve(error); }, (m) => replayed.push(m.type));
    });
    expect(loaded, 'a large image loads over several turns').toBe(false);
    // Ordered after the image: held. Not ordered with applies (a refusal, a peer event): not held.
    for (const type of ['apply', 'readReady', 'synced']) expect(restorer.holds({ type } as Message)).toBe(true);
    expect(restorer.holds({ type: 'commitRefused' } as Message)).toBe(false);
    const other = () => {
      turns++;
      if (!loaded) {
        expect(store.read((tx) => tx.get('kv', 1)?.['v'])).toBe('before the image');
        readsMeanwhile++;
        setImmediate(other);
      }
    };
    setImmediate(other);
    expect(await done).toBeUndefined();
    expect(turns).toBeGreaterThan(1);
    expect(readsMeanwhile).toBeGreaterThan(0);
    expect(store.read((tx) => tx.get('kv', 1)?.['v'])).toBe('value 1');
    expect(store.read((tx) => tx.count('kv'))).toBe(rows);
    expect(replayed).toEqual(['apply', 'readReady', 'synced']);
    expect(restorer.holds({ type: 'apply' } as Message), 'nothing held once loaded').toBe(false);
  });

  it('loads a small image before load returns, as at once', () => {
    const small = Store.open(schema);
    small.commit((tx) => void tx.upsert('kv', { k: 5, v: 'five' }));
    const store = Store.open(schema);
    let outcome: unknown = 'not yet';
    new ImageRestorer().load(store, 'small image', imageOf(small), (error) => (outcome = error), () => {});
    expect(outcome).toBeUndefined();
    expect(store.read((tx) => tx.get('kv', 5)?.['v'])).toBe('five');
  });

  it('a held image loads in its turn, and what was held after it waits for it too', async () => {
    const first = imageOf(filled());
    const second = filled(); // large too: it loads over several turns
    second.commit((tx) => void tx.upsert('kv', { k: 2, v: 'second image' }));
    const store = Store.open(schema);
    const restorer = new ImageRestorer();
    const order: string[] = [];
    const replay = (m: Message) => {
      order.push(m.type);
      if (m.type === 'restore') restorer.load(store, 'second', (m as unknown as { frames: Uint8Array[] }).frames, () => order.push('second loaded'), replay);
    };
    restorer.load(store, 'first', first, () => order.push('first loaded'), replay);
    restorer.holds({ type: 'apply' } as Message);
    restorer.holds({ type: 'restore', frames: imageOf(second) } as unknown as Message);
    restorer.holds({ type: 'readReady' } as Message);
    while (!order.includes('readReady')) await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['first loaded', 'apply', 'restore', 'second loaded', 'readReady']);
    expect(store.read((tx) => tx.get('kv', 2)?.['v'])).toBe('second image');
  });

  it('leaves the tables as they were when the image is damaged, and says so', () => {
    const image = imageOf(filled()).slice(0, 3);
    image[1] = image[1]!.slice(0, 10); // cut short
    const store = Store.open(schema);
    store.commit((tx) => void tx.upsert('kv', { k: 1, v: 'kept' }));
    let outcome: unknown;
    new ImageRestorer().load(store, 'damaged image', image, (error) => (outcome = error), () => {});
    expect(String(outcome)).toMatch(/damaged image/);
    expect(store.read((tx) => tx.get('kv', 1)?.['v'])).toBe('kept');
  });

  it('replays nothing once cancelled (the node stopped)', async () => {
    const store = Store.open(schema);
    const restorer = new ImageRestorer();
    const heard: string[] = [];
    restorer.load(store, 'image', imageOf(filled()), () => heard.push('loaded'), (m) => heard.push(m.type));
    restorer.holds({ type: 'apply' } as Message);
    restorer.cancel();
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual([]);
    expect(store.read((tx) => tx.count('kv'))).toBe(0);
  });

  it('loads the rest at once once as many messages wait as it may hold, so what waits stays bounded', async () => {
    const store = Store.open(schema);
    const restorer = new ImageRestorer(3);
    let loaded = false;
    const replayed: Message[] = [];
    restorer.load(store, 'image', imageOf(filled()), () => (loaded = true), (m) => replayed.push(m));
    expect(loaded).toBe(false);
    for (let i = 0; i < 3; i++) restorer.holds({ type: 'apply' } as Message);
    await new Promise((r) => setImmediate(r)); // the next slice: the whole rest
    expect(loaded).toBe(true);
    expect(replayed.length).toBe(3);
    expect(store.read((tx) => tx.count('kv'))).toBe(rows);
  });

  it('replays nothing more once a replayed message stopped the node', async () => {
    const store = Store.open(schema);
    const restorer = new ImageRestorer();
    const replayed: string[] = [];
    const done = new Promise<void>((resolve) => {
      restorer.load(store, 'image', imageOf(filled()), () => resolve(), (m) => {
        replayed.push(m.type);
        if (m.type === 'apply') restorer.cancel(); // the apply failed the node (ClusterNode.fail stops it)
      });
    });
    for (const type of ['apply', 'membership', 'recovered']) restorer.holds({ type } as Message);
    await done;
    expect(replayed).toEqual(['apply']);
  });
});

