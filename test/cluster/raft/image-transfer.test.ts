/**
 * State transfer (§7) in the Raft core: which image a follower is sent, how long the leader keeps its log
 * for it, and what a follower agrees to install. What a user would notice if these went wrong: a node that
 * never catches up under steady writes, a leader whose memory grows without bound for a follower, or a
 * node whose tables cannot be loaded from the image it installed (restore fails, the node is lost).
 */
import { describe, expect, it } from 'vitest';
import { Raft } from '../../../src/cluster/raft/raft.js';
import type { RaftMessage, Snapshot } from '../../../src/cluster/raft/messages.js';
import { imageDigest } from '../../../src/cluster/raft/image-digest.js';
import { imageHoldTransLogSizesMax, imageStallElectionTimeouts, logTransactionHeapBytes } from '../../../src/limits.js';
import { Store } from '../../../src/store/store.js';
import type { SchemaDef } from '../../../src/store/schema.js';
import { RaftNet, equalVoters } from './net.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };

/** The distinct image indexes the leader sent `to` chunks of, in order. */
const imagesSentTo = (net: RaftNet, to: string): number[] => [...new Set(net.sent.flatMap((m) => (m.type === 'snapshot' && m.to === to ? [m.index] : [])))];

/** Delivers up to `count` messages, oldest first. */
const deliver = (net: RaftNet, count: number) => {
  for (let i = 0; i < count && net.deliverOne(); i++);
};

/** Delivers every message between a and b (c's wait: a slow link), until none is left. */
const deliverAB = (net: RaftNet) => {
  for (let i = 0; i < 10_000; i++) {
    const at = net.inFlight.findIndex((m) => m.to !== 'c' && m.from !== 'c');
    if (at < 0) return;
    net.deliverOne(at);
  }
};

/** A heartbeat from a finds c past its compacted log: delivers until the transfer has begun, and `more` messages after. */
const beginTransfer = (net: RaftNet, more: number) => {
  for (let i = 0; i < 100 && imagesSentTo(net, 'c').length === 0; i++) if (!net.deliverOne()) net.tick('a');
  expect(imagesSentTo(net, 'c')).toHaveLength(1);
  deliver(net, more);
};

/** a leads; c is cut off while a commits `entries` entries, and a compacts behind an image of them. */
function lagging(options: { logBytesRetained?: number; entries: number }): RaftNet {
  const net = new RaftNet({ voters: equalVoters('a', 'b', 'c'), logTransactionsRetained: 2, ...(options.logBytesRetained !== undefined ? { logBytesRetained: options.logBytesRetained } : {}) });
  net.elect('a');
  net.partition(['c'], ['a', 'b']);
  for (let i = 1; i <= options.entries; i++) net.propose('a', `x=${i}`);
  net.stabilize();
  net.compact('a');
  net.heal();
  return net;
}

describe('§7 state transfer: the image being sent', () => {
  it('stays the one a transfer began with while the leader takes later images, and the log is kept from it on', () => {
    const net = lagging({ entries: 300 }); // an image of 100 frames: more than one window of chunks
    beginTransfer(net, 0);
    const first = imagesSentTo(net, 'c')[0]!;
    for (let round = 0; round < 200 && net.inFlight.length > 0; round++) {
      net.propose('a', `y=${round}`); // steady writes, committed by a and b...
      deliverAB(net);
      net.compact('a'); // ...and an image after each, compacting what it can
      expect(net.node('a').log.compactedIndex).toBeLessThanOrEqual(first); // the log from the image sent on is kept
      const at = net.inFlight.findIndex((m) => m.to === 'c' || m.from === 'c');
      if (at >= 0) net.deliverOne(at); // c's link is slow: one message per write
    }
    expect(net.node('a').image!.index).toBeGreaterThan(first + 100); // a took many later images meanwhile
    net.stabilize();
    net.tickAll(3);
    expect(imagesSentTo(net, 'c')).toEqual([first]); // one transfer, never begun again
    expect(net.commands('c')).toEqual(net.commands('a'));
    expect(net.node('c').catchingUp?.image).toBe(true);
  });

  it('is given up, and a later one sent, when the log held for it would pass the bound in memory', () => {
    const logBytesRetained = 2000;
    const net = lagging({ entries: 300, logBytesRetained });
    beginTransfer(net, 20);
    const first = imagesSentTo(net, 'c');
    // Far more writes than the bound lets a leader hold for a transfer: ~530 bytes each as held.
    const heldMax = Math.ceil((imageHoldTransLogSizesMax * logBytesRetained) / logTransactionHeapBytes);
    for (let i = 0; i < 3 * heldMax; i++) {
      net.propose('a', `z=${i}`);
      deliverAB(net); // committed by a and b, while c's chunks crawl
      const at = net.inFlight.findIndex((m) => m.to === 'c' || m.from === 'c');
      if (at >= 0) net.deliverOne(at);
      net.compact('a');
      const log = net.node('a').log;
      expect(log.applied - log.compactedIndex).toBeLessThanOrEqual(heldMax + 2); // memory stays bounded (2: the usual retention)
    }
    net.stabilize();
    net.tickAll(3);
    expect(imagesSentTo(net, 'c').length).toBeGreaterThan(first.length); // started over with a later image
    expect(net.commands('c')).toEqual(net.commands('a'));
  });

  it('no longer holds the log once the follower stops acknowledging, and the follower is caught up when it is back', () => {
    const net = lagging({ entries: 300 });
    beginTransfer(net, 10);
    const imageIndex = imagesSentTo(net, 'c')[0]!;
    net.partition(['c'], ['a', 'b']); // gone in the middle of the transfer
    net.tickAll(imageStallElectionTimeouts * 10 + 2); // election timeouts of 10 ticks
    for (let i = 0; i < 5; i++) net.propose('a', `w=${i}`);
    net.stabilize();
    net.compact('a');
    expect(net.node('a').log.compactedIndex).toBeGreaterThan(imageIndex); // not held for a follower that went away
    net.heal();
    net.tickAll(30);
    expect(net.commands('c')).toEqual(net.commands('a'));
  });
});

describe('§7 state transfer: what a follower installs', () => {
  const voters = equalVoters('n1', 'n2', 'n3');
  const membership = { membership: { members: ['n1', 'n2', 'n3'] }, index: 0 };
  const follower = () => new Raft({ id: 'n3', voters, electionTicks: 10, heartbeatTicks: 1, random: () => 0.5, preVote: true, checkQuorum: true, appendEntriesMax: 64, inflightAppendsMax: 4, logTransactionsRetained: 10, readsPendingMax: 100, forwardedBytesMax: 1 << 20, incarnation: 1 });
  const tables = () => {
    const source = Store.open(schema);
    source.commit((tx) => {
      for (let i = 0; i < 12; i++) tx.upsert('kv', { k: `k${String(i).padStart(2, '0')}`, v: i });
    });
    return source;
  };
  const chunk = (from: string, term: number, frames: readonly Uint8Array[], i: number, digest = imageDigest(frames)): Snapshot => ({ type: 'snapshot', term, from, to: 'n3', index: 50, snapTerm: 1, chunk: i, chunks: frames.length, data: frames[i]!, membership, commit: 60, digest });
  /** Steps chunks as a leader sends what it is asked for, from `first` on; the frames installed, if any. */
  const sendFrom = (f: Raft, first: number, send: (i: number) => Snapshot): readonly Uint8Array[] | undefined => {
    let next: number | undefined = first;
    for (let i = 0; i < 100 && next !== undefined; i++) {
      f.step(send(next));
      const ready = f.ready();
      if (ready.image?.install === true) return ready.image.image.frames;
      next = (ready.messages as RaftMessage[]).find((m) => m.type === 'snapshotResp')?.next;
    }
    return undefined;
  };

  it('never an image spliced from two leaders’ chunks (a leader change mid-transfer, images cut differently)', () => {
    const source = tables();
    const a = [...source.snapshot({ frameRowsMax: 2 })]; // n1's syncMsgObjects
    const b = [...source.snapshot({ frameRowsMax: 3 })]; // n2's: the same tables, other frames
    const f = follower();
    f.step(chunk('n1', 2, a, 0));
    f.step(chunk('n1', 2, a, 1));
    f.ready();
    // n1 loses leadership; n2 (term 3) sends its own image at the same index.
    const installed = sendFrom(f, 0, (i) => chunk('n2', 3, b, i));
    expect(installed).toBeDefined();
    const target = Store.open(schema);
    target.restoreSync(installed!, 'installed image'); // threw CORRUPT on a spliced image
    expect(target.contentHash()).toBe(source.contentHash());
  });

  it('goes on gathering when a late chunk of an earlier image from the same leader comes in between', () => {
    const frames = [...tables().snapshot({ frameRowsMax: 2 })];
    const f = follower();
    f.step(chunk('n1', 2, frames, 0));
    f.step(chunk('n1', 2, frames, 1));
    f.step({ ...chunk('n1', 2, frames, 3), index: 40 }); // of the image n1 sent before this one, overtaken
    expect((f.ready().messages as RaftMessage[]).filter((m) => m.type === 'snapshotResp').map((m) => m.next)).toEqual([1, 2]); // none for the late one
    f.step(chunk('n1', 2, frames, 2));
    expect((f.ready().messages as RaftMessage[]).find((m) => m.type === 'snapshotResp')?.next).toBe(3); // not begun again from chunk 0
    expect(sendFrom(f, 3, (i) => chunk('n1', 2, frames, i))).toHaveLength(frames.length);
  });

  it('and, when a chunk is the first word from the leader after losing touch, is synced only at the leader’s commit index', () => {
    const frames = [...tables().snapshot({ frameRowsMax: 5 })];
    const f = follower();
    expect(sendFrom(f, 0, (i) => chunk('n1', 2, frames, i))).toBeDefined(); // an image at 50; the leader had committed 60
    expect(f.log.applied).toBe(50);
    expect(f.catchingUp).toEqual({ target: 60, image: true }); // `synced` once it applied 60, not 50
  });

  it('never an image whose chunks do not digest to the image’s digest; it gathers the image again', () => {
    const source = tables();
    const frames = [...source.snapshot({ frameRowsMax: 2 })];
    const digest = imageDigest(frames);
    const damaged = frames.map((frame, i) => (i === 2 ? frame.map((byte, j) => (j === 5 ? byte ^ 1 : byte)) : frame));
    const f = follower();
    expect(sendFrom(f, 0, (i) => chunk('n1', 2, damaged, i, digest))).toBeUndefined();
    expect(f.ready().image).toBeUndefined();
    const installed = sendFrom(f, 0, (i) => chunk('n1', 2, frames, i, digest));
    const target = Store.open(schema);
    target.restoreSync(installed!, 'installed image');
    expect(target.contentHash()).toBe(source.contentHash());
  });
});
