/**
 * The Raft core's state and its output protocol (the etcd-io/raft `Ready` shape): the fields every role
 * shares, and `ready()` / `advance()` through which the host persists, sends and applies. The roles and
 * what they do with messages are in raft.ts, which extends this class.
 *
 * The host's rules for a Ready:
 *   1. persist `image` (if any), `hardState` and `entries` (entries replace any persisted entries from
 *      their first index);
 *   2. only then send `messages` (votes and acknowledgements must not outrun the disk);
 *   3. apply `committed` in order; then call `advance(ready)`.
 * Or, with a journal that syncs in the background (thesis §10.2.1): write `image`, `hardState` and
 * `entries`, call `advance(ready, false)`, send the leader's appends and image chunks at once (the leader
 * counts itself toward a commit only once its own sync is done) and every other message only after the
 * sync; then `persisted(index, commit)` with the last index and the commit index that sync covered
 * (entries are applied only under a synced commit index: RaftLog.durableCommit).
 */
import { assert } from '../../runtime/assert.js';
import { RaftLog } from './log.js';
import type { RaftMessage } from './messages.js';
import { ReadIndexQueue } from './read-index.js';
import type { NodeId, QuorumRule } from './quorum.js';
import { QuorumHolders } from './quorum.js';
import { Progress } from './progress.js';
import type { VersionedMembership } from './membership.js';
import { MembershipTracker, involved, membershipQuorum } from './membership.js';
import { ImageAssembler } from './image-transfer.js';
import type { HardState, ProposalRefused, RaftConfig, ReadState, Ready, Role, SoftState, StateImage } from './types.js';
import { ForwardedBytes } from './forwarded-bytes.js';

/**
 * An empty output of a Ready, shared (readonly by type: a host must not add to it). Not frozen: V8's
 * for-of over a frozen array takes a slow path that allocates per step (measured).
 */
const none: readonly never[] = [];

/** Committed entries handed out per ready(); the rest wait for the next one. */
const applyBatchEntriesMax = 4096;

export class RaftState {
  readonly id: NodeId;
  readonly log: RaftLog;
  term = 0;
  vote: NodeId | undefined;
  leader: NodeId | undefined;
  role: Role = 'follower';
  /** The quorum rule of the current membership (both sides while joint). */
  protected isQuorum: QuorumRule;
  /** Nodes this one sends to: those of the current membership and of the committed one, but itself. */
  protected peers: readonly NodeId[] = [];
  /** The memberships in this node's log (§6). */
  readonly members: MembershipTracker;
  /**
   * Which current membership entry `isQuorum` and `peers` were computed for, and the commit index then
   * (-1 once that entry is committed: later commits change nothing).
   */
  private membershipAt = -1;
  private membershipCommit = -2;
  protected readonly customQuorum: QuorumRule | undefined;
  /** This node is an arbiter: no state machine, so its images carry no frames (see quorum.ts Voter). */
  readonly dataless: boolean;
  protected readonly arbiters: ReadonlySet<NodeId>;
  protected electionElapsed = 0;
  protected heartbeatElapsed = 0;
  protected randomizedElectionTicks = 0;
  protected votes = new Map<NodeId, boolean>();
  protected progress = new Map<NodeId, Progress>();
  protected transferee: NodeId | undefined;
  protected outbox: RaftMessage[] = [];
  protected lastHard: HardState;
  protected lastSoft: SoftState;
  /** The latest state image (taken here, or installed from a leader); the log is compacted behind it. */
  image: StateImage | undefined;
  protected newImage: Ready['image'];
  /**
   * Follower: set when this node found itself behind its leader (an append it could not take, an image
   * installed, or a first contact after (re)start or lost touch, with commits it lacks); `target` is the leader's commit
   * index then. The host reports catch-up done once it applied that far, and clears it.
   */
  catchingUp: { target: number; image: boolean } | undefined;
  protected heardLeader = false;
  /** Leader: linearizable reads waiting for a quorum to confirm its leadership. */
  protected readonly reads = new ReadIndexQueue();
  /** Index of the leader's first entry of its term (its noop): a read may not be served from before it. */
  protected termStartIndex = 0;
  protected readStates: ReadState[] = [];
  protected readsFailed: number[] = [];
  protected readsRefused: number[] = [];
  /** Leader: other nodes' proposals it holds uncommitted (`clusterRecvBuf`). */
  protected forwarded: ForwardedBytes;
  /** This node's forwarded proposals that the leader refused, for the next ready(). */
  protected proposalsRefused: ProposalRefused[] = [];
  /** Follower: chunks of a leader's image received so far. */
  protected readonly incoming = new ImageAssembler();

  constructor(
    protected readonly config: RaftConfig,
    restored?: { readonly hardState: HardState; readonly log: RaftLog; readonly image?: StateImage | undefined; readonly membership?: VersionedMembership | undefined },
  ) {
    assert(config.voters.some((v) => v.id === config.id), `raft: ${config.id} is not among the voters`);
    assert(config.heartbeatTicks >= 1 && config.electionTicks > config.heartbeatTicks, 'raft: need 1 <= heartbeatTicks < electionTicks');
    this.id = config.id;
    this.arbiters = new Set(config.voters.filter((v) => v.arbiter === true).map((v) => v.id));
    this.dataless = this.arbiters.has(config.id);
    assert(this.arbiters.size < config.voters.length, 'raft: a cluster of arbiters only has no state to replicate');
    this.customQuorum = config.quorum;
    this.forwarded = new ForwardedBytes(config.forwardedBytesMax);
    this.log = restored?.log ?? new RaftLog();
    this.members = new MembershipTracker(restored?.membership ?? { membership: { members: config.voters.map((v) => v.id) }, index: 0 });
    if (this.log.lastIndex() > this.log.compactedIndex) this.members.appended(this.log.slice(this.log.firstIndex(), Number.MAX_SAFE_INTEGER));
    this.isQuorum = membershipQuorum(this.members.current(), config.voters, config.quorum);
    if (restored) {
      this.term = restored.hardState.term;
      this.vote = restored.hardState.vote;
      this.log.commitTo(restored.hardState.commit);
      this.image = restored.image;
      assert(this.image === undefined || this.image.index >= this.log.compactedIndex, 'raft: the log is compacted beyond its image');
    }
    if (config.backgroundSync === true) this.log.durableCommit = this.log.committed; // a restored journal is durable
    this.lastHard = this.hardState();
    this.lastSoft = this.softState();
    this.refreshMembership();
    this.resetElection();
  }

  /** A follower that heard from its leader since it last lost touch (its catch-up is then known). */
  get inTouch(): boolean {
    return this.heardLeader;
  }

  /**
   * After the log or the commit index moved: the quorum rule follows the current membership; the nodes
   * sent to are those of the current and of the committed membership, so that a node being taken out
   * still hears of the change until it commits. A leader keeps progress for exactly those.
   */
  protected refreshMembership(): void {
    // Runs on every append a node takes or makes: compared as numbers, not as a key built each time.
    const at = this.members.currentIndex();
    const commit = this.log.committed >= at ? -1 : this.log.committed;
    if (at === this.membershipAt && commit === this.membershipCommit) return;
    this.membershipAt = at;
    this.membershipCommit = commit;
    const current = this.members.current();
    this.isQuorum = membershipQuorum(current, this.config.voters, this.customQuorum);
    const committed = this.members.at(this.log.committed).membership;
    const peers = new Set([...involved(current), ...involved(committed)]);
    peers.delete(this.id);
    this.peers = this.config.voters.map((v) => v.id).filter((id) => peers.has(id));
    if (this.role !== 'leader') return;
    for (const id of this.peers) if (!this.progress.has(id)) this.progress.set(id, new Progress(this.log.lastIndex() + 1));
    for (const id of [...this.progress.keys()]) if (!peers.has(id)) this.progress.delete(id);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { role: this.role, leader: this.leader, term: this.term };
  }

  /** Match index per voter as the leader sees it (undefined when not leader). */
  matchIndexes(): ReadonlyMap<NodeId, number> | undefined {
    if (this.role !== 'leader') return undefined;
    const match = new Map<NodeId, number>([[this.id, this.log.stableIndex]]);
    for (const [id, p] of this.progress) match.set(id, p.match);
    return match;
  }

  /** maybeCommit's working set, refilled on every acknowledgement rather than allocated. */
  private readonly commitHolders = new QuorumHolders();

  // ---- outputs ------------------------------------------------------------------------------------

  hasReady(): boolean {
    return this.outbox.length > 0 || this.newImage !== undefined || this.readStates.length > 0 || this.readsFailed.length > 0 || this.readsRefused.length > 0 || this.proposalsRefused.length > 0 || this.log.hasUnstable() || this.log.hasToApply() || this.hardChanged() || this.softChanged();
  }

  ready(): Ready {
    const hard = this.hardChanged() ? this.hardState() : undefined;
    const soft = this.softChanged() ? this.softState() : undefined;
    // Most readies carry a message or two and nothing else: an empty output is the one frozen empty
    // array, and a list is handed over (and replaced) only when it holds something.
    const ready: Ready = {
      hardState: hard, softState: soft, entries: this.log.hasUnstable() ? this.log.unstable() : none, messages: this.outbox.length > 0 ? this.outbox : none,
      committed: this.log.hasToApply() ? this.log.toApply(applyBatchEntriesMax) : none, image: this.newImage, reads: this.readStates.length > 0 ? this.readStates : none,
      readsFailed: this.readsFailed.length > 0 ? this.readsFailed : none, readsRefused: this.readsRefused.length > 0 ? this.readsRefused : none, proposalsRefused: this.proposalsRefused.length > 0 ? this.proposalsRefused : none,
    };
    if (this.outbox.length > 0) this.outbox = [];
    this.newImage = undefined;
    if (this.readStates.length > 0) this.readStates = [];
    if (this.readsFailed.length > 0) this.readsFailed = [];
    if (this.readsRefused.length > 0) this.readsRefused = [];
    if (this.proposalsRefused.length > 0) this.proposalsRefused = [];
    if (hard) this.lastHard = hard;
    if (soft) this.lastSoft = soft;
    return ready;
  }

  /**
   * The host persisted `ready.entries` (with `durable` false: wrote them, and will say `persisted` once
   * they are durable) and applied `ready.committed`.
   */
  advance(ready: Ready, durable = true): void {
    const lastEntry = ready.entries[ready.entries.length - 1];
    // Entries may have been truncated and replaced since this ready was taken: only a matching term counts.
    if (lastEntry !== undefined && this.log.term(lastEntry.index) === lastEntry.term) {
      this.log.writtenIndex = Math.max(this.log.writtenIndex, lastEntry.index);
      if (durable) this.log.stableIndex = Math.max(this.log.stableIndex, lastEntry.index);
    }
    const lastApplied = ready.committed[ready.committed.length - 1];
    if (lastApplied !== undefined) this.log.applied = Math.max(this.log.applied, lastApplied.index);
    if (this.role === 'leader') this.maybeCommit();
  }

  /**
   * A background sync finished: every entry up to `index` that the host had written before it started is
   * durable, and so is the commit index `commit` it had written last (the hard state). The host lowers
   * `index` below any entry it replaced since (a later write that truncated).
   */
  persisted(index: number, commit: number): void {
    if (this.log.durableCommit !== undefined) this.log.durableCommit = Math.max(this.log.durableCommit, Math.min(commit, this.log.committed));
    const stable = Math.min(index, this.log.writtenIndex);
    if (stable <= this.log.stableIndex) return;
    this.log.stableIndex = stable;
    if (this.role === 'leader') this.maybeCommit();
  }

  protected behind(target: number, image: boolean): void {
    this.catchingUp = { target: Math.max(target, this.catchingUp?.target ?? 0), image: image || this.catchingUp?.image === true };
  }

  /** §5.3, §5.4.2: commit the highest index a quorum has persisted, if it is of this term. */
  protected maybeCommit(): boolean {
    assert(this.role === 'leader', 'maybeCommit: not leader');
    const holders = this.commitHolders;
    holders.clear();
    holders.add(this.id, this.log.stableIndex);
    // A leader keeps progress for exactly its peers (refreshMembership): walked through that array, as
    // the map's entry iterator costs an array per entry on every acknowledgement.
    for (const id of this.peers) holders.add(id, this.progress.get(id)!.match);
    let index = holders.quorumIndex(this.isQuorum);
    if (this.dataless) {
      // An arbiter leading commits only what a data node holds too: what it commits it may compact away,
      // and it has no image to give a data node that lacks it.
      let held = 0;
      for (const [id, pr] of this.progress) if (!this.arbiters.has(id)) held = Math.max(held, pr.match);
      index = Math.min(index, held);
    }
    if (!(index > this.log.committed && this.log.term(index) === this.term && this.log.commitTo(index))) return false;
    this.leaderCommitted();
    return true;
  }

  /** The leader's commit index moved (raft.ts carries membership changes on from there). */
  protected leaderCommitted(): void {}

  protected resetElection(): void {
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    // An arbiter waits one election timeout more: a data node that can lead should win first.
    const base = this.config.electionTicks * (this.dataless ? 2 : 1);
    this.randomizedElectionTicks = base + Math.floor(this.config.random() * this.config.electionTicks);
  }

  protected send(m: RaftMessage): void {
    this.outbox.push(m);
  }

  private hardChanged(): boolean {
    return this.term !== this.lastHard.term || this.vote !== this.lastHard.vote || this.log.committed !== this.lastHard.commit;
  }

  private softChanged(): boolean {
    return this.role !== this.lastSoft.role || this.leader !== this.lastSoft.leader || this.term !== this.lastSoft.term;
  }
}
