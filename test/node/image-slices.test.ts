/**
 * State images for the replicator are taken a slice per event-loop turn (src/node/image-slices.ts): the
 * application's thread keeps serving meanwhile, and the image is still exactly the tables as they were
 * when it was asked for, whatever was written after.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { ImageSlicer } from '../../src/node/image-slices.js';
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
