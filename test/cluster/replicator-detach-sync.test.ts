/**
 * Detach with a journal that syncs in the background (FileJournal: the inline and thread hosts with a
 * dataDir). A follower may learn that its removal committed while entries it knows committed are
 * written but not yet synced, and only synced entries are applied. The application keeps its tables as
 * the attach point when the replicator reports `detached`; an entry handed on after that report lands
 * on tables whose attach point is already saved, and after attach() (which restores that point) the
 * node differs from the others for good (found in review).
 *
 * What a user would notice: a detached node that lacks a write committed before it left, or holds it
 * in its standalone tables but not after it attaches again. Checked here on the real replicator actor:
 * everything committed is handed on before `detached`, and nothing after.
 */
import { describe, expect, it } from 'vitest';
import { replicator } from '../../src/actors/replicator.js';
import type { Committed, MembershipDone, ReplicatorMessage } from '../../src/actors/replicator.js';
import type { ActorContext, Address, Message } from '../../src/runtime/actor.js';
import type { Journal } from '../../src/runtime/journal.js';
import type { RaftMessage } from '../../src/cluster/raft/messages.js';

const ids = ['n1', 'n2', 'n3'];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A journal whose background syncs finish only when the test says so. */
class SlowJournal implements Journal {
  readonly recovered: Uint8Array[] = [];
  pending: Message[] = [];
  append(): void {}
  sync(): void {}
  rewrite(): void {}
  readonly syncThen = (message: Message): void => void this.pending.push(message);
}

function cluster() {
  const net: { from: string; to: string; msg: RaftMessage }[] = [];
  const journals = new Map<string, SlowJournal>();
  const actors = new Map<string, { receive(m: ReplicatorMessage, from: Address): void }>();
  /** What each replicator handed to its application, in order. */
  const toApp = new Map<string, string[]>(ids.map((id) => [id, []]));
  let r = 0.1;
  for (const id of ids) {
    const journal = new SlowJournal();
    journals.set(id, journal);
    const ctx: ActorContext<ReplicatorMessage> = {
      self: { node: id, actor: 'replicator' }, journal, now: () => 0, random: () => (r = (r * 9301 + 0.49297) % 1), log: quiet,
      setTimer: () => 1, cancelTimer: () => {},
      send: (to, message) => {
        if (message.type === 'raft') net.push({ from: id, to: to.node, msg: (message as unknown as { msg: RaftMessage }).msg });
        else if (message.type === 'committed') for (const e of (message as unknown as Committed).entries) toApp.get(id)!.push(e.data.kind === 'command' ? `apply ${String(e.data.payload)}` : `apply ${e.data.kind}`);
        else if (message.type === 'membership') toApp.get(id)!.push((message as unknown as MembershipDone).state);
        return undefined;
      },
    };
    actors.set(id, replicator.create(ctx, {
      voters: ids.map((v) => ({ id: v, qrank: 1 })), tickMs: 10, electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: false,
      appendEntriesMax: 64, inflightAppendsMax: 4, logTransactionsRetained: 1_000_000, forwardedBytesMax: 1 << 30, imageFrameRowsMax: 100, imageFrameBytesMax: 1 << 20,
    }));
  }
  const self = (id: string): Address => ({ node: id, actor: 'replicator' });
  const finishSyncs = (id: string) => {
    const journal = journals.get(id)!;
    const done = journal.pending;
    journal.pending = [];
    for (const m of done) actors.get(id)!.receive(m as ReplicatorMessage, self(id));
  };
  /** Delivers every message, finishing the syncs of `syncing` nodes, until nothing moves. */
  const flush = (syncing: readonly string[], roundsMax = 10_000) => {
    for (let round = 0; round < roundsMax; round++) {
      const m = net.shift();
      if (m !== undefined) {
        actors.get(m.to)!.receive({ type: 'raft', msg: m.msg }, self(m.from));
        continue;
      }
      const next = syncing.find((id) => journals.get(id)!.pending.length > 0);
      if (next === undefined) return;
      finishSyncs(next);
    }
  };
  const tick = (id: string) => actors.get(id)!.receive({ type: 'tick' }, self(id));
  const app = (id: string): Address => ({ node: id, actor: 'app' });
  const propose = (payload: string) => actors.get('n1')!.receive({ type: 'propose', payloads: [payload], bytes: 0, replyTo: app('n1') }, app('n1'));
  return { net, actors, toApp, flush, finishSyncs, tick, propose, app };
}

describe('detach while the journal syncs in the background', () => {
  it('hands on every entry committed before it reports the node detached, and none after', () => {
    const c = cluster();
    for (let i = 0; i < 40; i++) {
      c.tick('n1'); // n1 times out first and leads
      c.flush(ids);
    }
    for (let i = 0; i < 3; i++) {
      for (const id of ids) c.tick(id);
      c.flush(ids);
    }
    c.propose('a');
    c.flush(ids);
    expect(c.toApp.get('n3')).toContain('apply a');
    c.toApp.get('n3')!.length = 0;

    // n3 asks to leave; the leader starts the joint change at once, and a write c1 follows it.
    c.actors.get('n3')!.receive({ type: 'detach' }, c.app('n3'));
    c.flush([], 1); // just the request, to n1
    c.propose('c1');
    // n3 asks again on its next tick (not done yet); that copy is slow on the network.
    c.tick('n3');
    const slowAt = c.net.findIndex((m) => m.from === 'n3' && m.msg.type === 'membersChange');
    expect(slowAt).toBeGreaterThanOrEqual(0);
    const [slow] = c.net.splice(slowAt, 1);
    // Everything else flows; n3's disk is slow: its syncs do not finish.
    c.flush(['n1', 'n2']);
    // The slow request reaches n1 after the final membership committed: its answer tells n3 it is out.
    c.net.push(slow!);
    c.flush(['n1', 'n2']);
    c.tick('n3');
    const reported = [...c.toApp.get('n3')!];
    expect(reported.at(-1)).toBe('detached');
    expect(reported).toContain('apply c1'); // committed before n3 knew it was out: in its attach point
    c.finishSyncs('n3'); // the disk catches up
    c.tick('n3');
    expect(c.toApp.get('n3')!.slice(reported.length)).toEqual([]); // nothing lands on the tables after their attach point was kept
  });
});
