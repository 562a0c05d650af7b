/**
 * PortLink, the thread host's link between two actors: what one turn sends leaves as one post, and a
 * sender can never have more than `limit` unprocessed messages at the receiver.
 */
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PortLink } from '../../src/transport/port-link.js';
import { portBatchMessagesMax } from '../../src/limits.js';

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
/** Waits (a bounded number of turns: the machine may be loaded) until `done()` holds. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await turn();
}
const links: PortLink[] = [];
/** Items structured clone refused, as each sender reported them. */
const refused: { readonly error: string; readonly items: readonly unknown[] }[] = [];
const unsendable = (error: Error, items: readonly unknown[]) => void refused.push({ error: error.name, items });

function pair(limit: number) {
  const channel = new MessageChannel();
  const batches: number[] = [];
  const got: unknown[] = [];
  const sender = new PortLink(channel.port1, limit, () => 0, unsendable);
  const receiver = new PortLink(channel.port2, limit, (items) => {
    batches.push(items.length);
    got.push(...items);
    return items.length;
  }, unsendable);
  links.push(sender, receiver);
  return { sender, receiver, batches, got };
}

afterEach(() => {
  for (const link of links.splice(0)) link.close();
  refused.length = 0;
});

describe('PortLink', () => {
  it('sends what one turn queued in one post, in order', async () => {
    const { sender, batches, got } = pair(10_000);
    for (let i = 0; i < 100; i++) expect(sender.trySend(i)).toBe(true);
    await until(() => got.length >= 100);
    expect(batches).toEqual([100]);
    expect(got).toEqual([...Array(100).keys()]);
  });

  it('splits a burst larger than portBatchMessagesMax into several posts', async () => {
    const { sender, batches, got } = pair(10_000);
    const n = portBatchMessagesMax * 2 + 5;
    for (let i = 0; i < n; i++) sender.trySend(i);
    await until(() => got.length >= n);
    expect(batches).toEqual([portBatchMessagesMax, portBatchMessagesMax, 5]);
    expect(got).toHaveLength(n);
  });

  it('refuses a send past the limit until the receiver has processed and returned credit', async () => {
    const { sender, receiver, got } = pair(8);
    const accepted = Array.from({ length: 12 }, (_, i) => sender.trySend(i));
    expect(accepted).toEqual([...Array(8).fill(true), ...Array(4).fill(false)]);
    await turn();
    expect(got).toHaveLength(8);
    expect(receiver.received).toBe(8);
    // Credit comes back without any reply traffic, in a credit-only post: a turn or a few under load.
    let again = sender.trySend('again');
    for (let i = 0; i < 200 && !again; i++) {
      await turn();
      again = sender.trySend('again');
    }
    expect(again).toBe(true);
    for (let i = 0; i < 200 && got.length < 9; i++) await turn();
    expect(got).toHaveLength(9);
  });

  it('delivers plain data and anything else structured clone carries alike, in order', async () => {
    const { sender, got } = pair(100);
    const plainItem = { type: 'commit', id: -0, bytes: new Uint8Array([1, 2]), nested: [{ k: undefined }] };
    const other = { type: 'odd', when: new Date(5), seen: new Map([['a', 1]]) };
    sender.trySend(plainItem);
    await until(() => got.length >= 1);
    sender.trySend(plainItem);
    sender.trySend(other); // this turn's batch goes by structured clone
    await until(() => got.length >= 3);
    sender.trySend(plainItem);
    await until(() => got.length >= 4);
    expect(got).toStrictEqual([plainItem, plainItem, other, plainItem].map((item) => structuredClone(item)));
    expect(Object.is((got[0] as typeof plainItem).id, -0)).toBe(true);
    expect((got[2] as typeof other).seen).toBeInstanceOf(Map);
  });

  it('never counts uncounted control items against the limit', async () => {
    const { sender, got } = pair(1);
    expect(sender.trySend('data')).toBe(true);
    expect(sender.trySend('more')).toBe(false);
    sender.post({ type: 'stopping' });
    await turn();
    expect(got).toEqual(['data', { type: 'stopping' }]);
  });

  it('reports what structured clone refuses instead of throwing, and sends the rest of its batch', async () => {
    const { sender, receiver, got } = pair(4);
    const fn = () => 1;
    sender.trySend({ type: 'a' });
    sender.trySend({ type: 'bad', fn });
    sender.post({ type: 'control', fn });
    sender.trySend({ type: 'b' });
    await until(() => got.length >= 2);
    expect(got).toEqual([{ type: 'a' }, { type: 'b' }]);
    expect(refused).toEqual([{ error: 'DataCloneError', items: [{ type: 'bad', fn }, { type: 'control', fn }] }]);
    // The refused counted item is not counted as sent, nor does it hold a place at the receiver: a stop
    // that waits for `sent` items would otherwise wait for ever.
    expect(sender.sent).toBe(2);
    await until(() => receiver.received >= 2 && (sender as unknown as { inFlight: number }).inFlight === 0);
    const accepted = Array.from({ length: 5 }, (_, i) => sender.trySend(i));
    expect(accepted).toEqual([true, true, true, true, false]); // the whole limit is free again
  });
});
