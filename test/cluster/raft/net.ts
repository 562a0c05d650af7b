/**
 * A deterministic in-memory network of Raft state machines for protocol tests (the shape of
 * etcd-io/raft's rafttest): no actors, no timers; the test ticks nodes, delivers or drops messages,
 * cuts links, crashes and restarts nodes. Each node "persists" hard state and entries in a plain object
 * that survives its crash, exactly what Ready says must be on disk before messages leave.
 *
 * The state machine is the list of applied entries; its image (for compaction and state transfer, §7)
 * is that list, msgpack-encoded a few entries per frame so that transfers take several chunks.
 */
import { decode, encode } from '@msgpack/msgpack';
import { Raft } from '../../../src/cluster/raft/raft.js';
import type { RaftConfig, StateImage } from '../../../src/cluster/raft/raft.js';
import { RaftLog } from '../../../src/cluster/raft/log.js';
import type { Entry, RaftMessage } from '../../../src/cluster/raft/messages.js';
import type { NodeId, Voter } from '../../../src/cluster/raft/quorum.js';
import type { VersionedMembership } from '../../../src/cluster/raft/membership.js';
import { Rng } from '../../../simulate/rng.js';

interface Disk {
  term: number;
  vote: NodeId | undefined;
  commit: number;
  /** Entries after `base` (the compaction point). */
  entries: Entry[];
  base: { index: number; term: number };
  /** The membership at the compaction point (§6). */
  membership: VersionedMembership | undefined;
  image: StateImage | undefined;
}

export interface NetOptions {
  readonly voters: readonly Voter[];
  readonly seed?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  /** Entries kept behind an image (default: plenty, so that compaction rarely forces a transfer). */
  readonly logTransactionsRetained?: number;
  /** The leader's bound on other nodes' uncommitted proposals, in the bytes each proposal names (default: plenty). */
  readonly forwardedBytesMax?: number;
  /** Bytes of entries per append, counting a command as its payload's string length (default: unbounded). */
  readonly appendBytesMax?: number;
  /** Bytes of entries kept behind an image, counted the same way (default: unbounded). */
  readonly logBytesRetained?: number;
  /** Reads a leader holds waiting for confirmation (default 100). */
  readonly readsPendingMax?: number;
}

const imageEntriesPerFrame = 3;

function imageFrames(applied: readonly Entry[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < applied.length; i += imageEntriesPerFrame) frames.push(encode(applied.slice(i, i + imageEntriesPerFrame)));
  return frames;
}

function imageEntries(image: StateImage | undefined): Entry[] {
  return image === undefined ? [] : image.frames.flatMap((f) => decode(f) as Entry[]);
}

export class RaftNet {
  readonly nodes = new Map<NodeId, Raft>();
  readonly disks = new Map<NodeId, Disk>();
  /** Linearizable reads each node had confirmed (id and index to wait for), and those that failed. */
  readonly reads = new Map<NodeId, { id: number; index: number }[]>();
  readonly readsFailed = new Map<NodeId, number[]>();
  /** Reads each node asked that the leader refused (it held readsPendingMax already). */
  readonly readsRefused = new Map<NodeId, number[]>();
  /** Payloads of each node's proposals its leader refused (clusterRecvBuf). */
  readonly refused = new Map<NodeId, unknown[]>();
  /** What each node's state machine applied, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly down = new Set<NodeId>();
  /** Nodes out of the membership (§6) and standing still, as a detached node does; they keep their state. */
  readonly frozen = new Set<NodeId>();
  /** Nodes that asked to leave or rejoin, asking again at every tick until their log shows it. */
  readonly asking = new Map<NodeId, 'detach' | 'attach'>();
  private readonly attachAfter = new Set<NodeId>();
  inFlight: RaftMessage[] = [];
  /** Every message a node sent (cut or not), in order. */
  readonly sent: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  readonly rng: Rng;
  /** Raft instances built so far: each gets its own incarnation. */
  private boots = 0;
  /** Leaders seen, per term (election safety: never two). */
  readonly leadersByTerm = new Map<number, Set<NodeId>>();
  /**
   * Per committed index: its entry's term, and the lowest term in which any node saw it committed (an
   * upper bound on the term it was committed in). Leaders of later terms must hold it (§5.4).
   */
  readonly committedAt = new Map<number, { readonly entryTerm: number; readonly seenInTerm: number }>();

  constructor(private readonly options: NetOptions) {
    this.rng = new Rng(options.seed ?? 1);
    for (const v of options.voters) {
      this.disks.set(v.id, { term: 0, vote: undefined, commit: 0, entries: [], base: { index: 0, term: 0 }, membership: undefined, image: undefined });
      this.applied.set(v.id, []);
      this.boot(v.id);
    }
  }

  ids(): NodeId[] {
    return this.options.voters.map((v) => v.id);
  }

  node(id: NodeId): Raft {
    return this.nodes.get(id)!;
  }

  /** The live leader with the highest term (a deposed leader may not know it yet). */
  leader(): NodeId | undefined {
    const leaders = this.ids().filter((id) => !this.down.has(id) && this.node(id).role === 'leader');
    return leaders.sort((a, b) => this.node(b).term - this.node(a).term)[0];
  }

  liveLeaders(): NodeId[] {
    return this.ids().filter((id) => !this.down.has(id) && this.node(id).role === 'leader');
  }

  config(id: NodeId): RaftConfig {
    return {
      id, voters: this.options.voters, electionTicks: 10, heartbeatTicks: 1, random: () => this.rng.next(),
      preVote: this.options.preVote ?? true, checkQuorum: this.options.checkQuorum ?? true, appendEntriesMax: 64, inflightAppendsMax: 8,
      ...(this.options.appendBytesMax !== undefined ? { appendBytesMax: this.options.appendBytesMax } : {}),
      ...(this.options.logBytesRetained !== undefined ? { logBytesRetained: this.options.logBytesRetained } : {}),
      ...(this.options.appendBytesMax !== undefined || this.options.logBytesRetained !== undefined ? { entryBytes: ({ data }: Entry) => (data.kind === 'command' ? String(data.payload).length : 0) } : {}),
      logTransactionsRetained: this.options.logTransactionsRetained ?? 1000, readsPendingMax: this.options.readsPendingMax ?? 100, forwardedBytesMax: this.options.forwardedBytesMax ?? 1 << 30, incarnation: ++this.boots,
    };
  }

  /** Builds a node from what its disk holds (its volatile state is lost). */
  boot(id: NodeId): void {
    const disk = this.disks.get(id)!;
    const log = RaftLog.restore(disk.entries, disk.commit, disk.base, disk.image?.index ?? disk.base.index);
    this.nodes.set(id, new Raft(this.config(id), { hardState: { term: disk.term, vote: disk.vote, commit: disk.commit }, log, image: disk.image, membership: disk.membership }));
    this.applied.set(id, imageEntries(disk.image)); // the state machine: its image, then the log applied again
    this.down.delete(id);
  }

  crash(id: NodeId): void {
    this.down.add(id);
    this.inFlight = this.inFlight.filter((m) => m.to !== id);
  }

  /** Cuts both directions between every node of `a` and every node of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) this.cut.add(`${x}>${y}`).add(`${y}>${x}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Runs every node's Ready: persist, then queue its messages, then apply. */
  flush(): void {
    for (const id of this.ids()) {
      if (this.down.has(id)) continue;
      const raft = this.node(id);
      while (raft.hasReady()) {
        const ready = raft.ready();
        const disk = this.disks.get(id)!;
        if (ready.image !== undefined) {
          // The image and the log behind it replace what is stored (entries up to the stable index).
          const base = { index: raft.log.compactedIndex, term: raft.log.compactedTerm };
          const stable = Math.min(raft.log.stableIndex, raft.log.lastIndex());
          Object.assign(disk, { image: ready.image.image, base, membership: raft.members.at(base.index), entries: stable > base.index ? raft.log.slice(base.index + 1, stable - base.index) : [] });
          if (ready.image.install) this.applied.set(id, imageEntries(ready.image.image));
        }
        if (ready.hardState) Object.assign(disk, ready.hardState);
        const first = ready.entries[0];
        if (first !== undefined) disk.entries = [...disk.entries.slice(0, first.index - 1 - disk.base.index), ...ready.entries];
        this.sent.push(...ready.messages);
        for (const m of ready.messages) if (!this.cut.has(`${m.from}>${m.to}`)) this.inFlight.push(m);
        this.applied.get(id)!.push(...ready.committed);
        for (const e of ready.committed) {
          const seen = this.committedAt.get(e.index);
          this.committedAt.set(e.index, { entryTerm: e.term, seenInTerm: Math.min(seen?.seenInTerm ?? Infinity, raft.term) });
        }
        if (ready.softState?.role === 'leader') this.noteLeader(ready.softState.term, id);
        this.reads.set(id, [...(this.reads.get(id) ?? []), ...ready.reads]);
        this.readsFailed.set(id, [...(this.readsFailed.get(id) ?? []), ...ready.readsFailed]);
        this.readsRefused.set(id, [...(this.readsRefused.get(id) ?? []), ...ready.readsRefused]);
        this.refused.set(id, [...(this.refused.get(id) ?? []), ...ready.proposalsRefused.flatMap((r) => r.payloads)]);
        raft.advance(ready);
      }
    }
  }

  /** Delivers one in-flight message (the oldest, or the one at `at`); false when none. */
  deliverOne(at = 0): boolean {
    const m = this.inFlight.splice(at, 1)[0];
    if (m === undefined) return false;
    if (!this.down.has(m.to) && !this.frozen.has(m.to) && !this.cut.has(`${m.from}>${m.to}`)) this.node(m.to).step(m);
    this.flush();
    return true;
  }

  /** Delivers messages until none is left (bounded, so a livelock fails loudly). */
  stabilize(stepsMax = 100_000): void {
    this.flush();
    for (let i = 0; i < stepsMax; i++) if (!this.deliverOne()) return;
    throw new Error(`stabilize: still busy after ${stepsMax} deliveries`);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.tickOne(id);
    this.flush();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.ids()) this.tickOne(id);
      this.stabilize();
    }
  }

  /** `id` asks to leave the membership; once its log (or the leader) says it is out, it stands still. */
  detach(id: NodeId): void {
    if (this.frozen.has(id)) return;
    this.asking.set(id, 'detach');
    this.ask(id);
  }

  /**
   * A node that left comes back and asks to rejoin (it is a member again once its log says so). As in
   * the node's API, an attach asked while the node is still leaving waits until it has left.
   */
  attach(id: NodeId): void {
    if (this.asking.get(id) === 'detach') {
      this.attachAfter.add(id);
      return;
    }
    this.frozen.delete(id);
    this.asking.set(id, 'attach');
    this.ask(id);
  }

  private tickOne(id: NodeId): void {
    if (this.down.has(id) || this.frozen.has(id)) return;
    this.node(id).tick();
    this.ask(id);
  }

  private ask(id: NodeId): void {
    const op = this.asking.get(id);
    if (op === undefined || this.down.has(id)) return;
    const raft = this.node(id);
    const done = raft.membershipDone(op);
    if (!done) raft.requestMembership(op);
    else {
      this.asking.delete(id);
      if (op === 'detach') this.frozen.add(id);
      if (this.attachAfter.delete(id)) this.attach(id);
    }
    this.flush();
  }

  /** Ticks one node until it campaigns, then lets the election run. */
  elect(id: NodeId): void {
    const raft = this.node(id);
    for (let i = 0; i < 100 && raft.role === 'follower'; i++) raft.tick();
    this.stabilize();
  }

  /** The node's state machine hands Raft an image of everything it applied, and the log is compacted. */
  compact(id: NodeId): void {
    const raft = this.node(id);
    if (raft.log.applied === 0) return;
    raft.takeImage(raft.log.applied, raft.dataless ? [] : imageFrames(this.applied.get(id)!));
    this.flush();
  }

  propose(id: NodeId, payload: unknown, bytes = 0): string {
    const result = this.node(id).propose([payload], bytes);
    this.flush();
    return result;
  }

  /** The payloads a node applied, in order (noops left out). */
  commands(id: NodeId): unknown[] {
    return this.applied.get(id)!.flatMap((e) => (e.data.kind === 'command' ? [e.data.payload] : []));
  }

  private noteLeader(term: number, id: NodeId): void {
    const set = this.leadersByTerm.get(term) ?? new Set<NodeId>();
    set.add(id);
    this.leadersByTerm.set(term, set);
  }
}

export const equalVoters = (...ids: NodeId[]): Voter[] => ids.map((id) => ({ id, qrank: 1 }));
