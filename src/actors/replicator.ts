/**
 * The replicator actor: owns the replicated log. It hosts the Raft state machine (src/cluster/raft),
 * drives it with ticks from its timer, feeds it the peers' messages and local proposals, and carries
 * out each Ready in the order Raft requires: persist, then send, then hand committed entries on.
 *
 * Persistence (Raft §5.1, Figure 2: "updated on stable storage before responding to RPCs"): when the
 * host gives this actor a journal, every Ready's entries and hard state are appended and synced before
 * any of its messages leave, and on start the journal is replayed into the log. Without a journal the
 * log lives in memory only, and a node must not come back under the same address.
 *
 * Compaction and state transfer (§7): every `logTransactionsRetained` applied transactions (or
 * `logBytesRetained` bytes of entries, whichever comes first: log-retention.ts) the replicator asks
 * the state machine (through the committer, so that the request follows every entry applied before it)
 * for an image of its tables cut into frames of at most `imageFrameRowsMax` rows and `imageFrameBytesMax`
 * bytes (the seeds' syncMsgObjects / syncMsgSize); Raft keeps the image, compacts its log to
 * that retention behind it (an arbiter: only what every data node holds, within a bound;
 * raft-images.ts), and sends the image chunk by chunk to a follower that needs compacted entries. The journal is rewritten at each image, so it stays bounded too.
 *
 * A journal that syncs in the background (FileJournal: the thread and inline hosts) is written at once
 * and synced off the event loop, several Readies per sync; what may leave before the sync and what must
 * wait is in raft-journal.ts, with the journal's records.
 */
import type { Address, SendResult } from '../runtime/actor.js';
import { APP, defineActor } from '../runtime/actor.js';
import { assert, assertNever } from '../runtime/assert.js';
import { Raft } from '../cluster/raft/raft.js';
import type { Ready } from '../cluster/raft/raft.js';
import type { Entry, RaftMessage } from '../cluster/raft/messages.js';
import type { NodeId, Voter } from '../cluster/raft/quorum.js';
import type { ReadState } from '../cluster/raft/raft.js';
import { SyncQueue, formatRecord, identityRecord, persist, replay, write } from './raft-journal.js';
import type { JournalIdentity } from './raft-journal.js';
import type { LocalStatus, NodeStatus } from './quorum-watcher.js';
import { tableRule } from '../cluster/raft/custom-quorum.js';
import { readsPendingMax } from '../limits.js';
import { keepBytes } from '../store/msgpack-encode.js';
import { logEntryBytes, logEntryTransactions } from './log-payload.js';
import { peerRaftProblem } from './peer-guards.js';

export const REPLICATOR = 'replicator';

/** An entry's size on the wire, for Raft's appendBytesMax (log-payload.ts). */
const entryBytes = (entry: Entry): number => logEntryBytes(entry.data);
/** How many transactions an entry holds, for the retention (log-payload.ts). */
const entryTransactions = (entry: Entry): number => logEntryTransactions(entry.data);

import type { PeerRaft, Tick, Persisted, ReplicatorMessage, MembershipDone, ReadReady, ReadFailed, ProposeRefused, Committed, Recovered, ImageWanted, Restore, Synced, RaftStateChanged } from './replicator-messages.js';
export type { PeerRaft, Tick, ProposeRequest, TransferLeadership, ImageTaken, ReadIndexRequest, MembershipRequest, Persisted, ReplicatorMessage, MembershipDone, ReadReady, ReadFailed, ProposeRefused, Committed, Recovered, ImageWanted, Restore, Synced, RaftStateChanged } from './replicator-messages.js';

const tick: Tick = { type: 'tick' }; // the timer's message, the same every time (read only)

export interface ReplicatorParams {
  readonly voters: readonly Voter[];
  /** Milliseconds per Raft tick. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly appendEntriesMax: number;
  /** Bytes of entries in one append (log-payload.ts counts them); one larger entry still goes alone. Unbounded when absent. */
  readonly appendBytesMax?: number;
  readonly inflightAppendsMax: number;
  /** `transLogLength`: transactions kept behind the latest image (a window batch holds many); also how many applied ones make a new image. */
  readonly logTransactionsRetained: number;
  /** `transLogSize`: the same in bytes of entries (log-payload.ts counts them), whichever is reached first. Unbounded when absent. */
  readonly logBytesRetained?: number;
  /** `clusterRecvBuf`: as leader, bytes of other nodes' proposals held uncommitted; more are refused to their origin. */
  readonly forwardedBytesMax: number;
  /** `syncMsgObjects` / `syncMsgSize`: bounds of one image frame, so of one state-transfer message. */
  readonly imageFrameRowsMax: number;
  readonly imageFrameBytesMax: number;
  /** A custom quorum rule as a table over subsets of `voters` (custom-quorum.ts); the qrank rule when absent. */
  readonly quorumTable?: Uint8Array | undefined;
  /** The local quorum watcher, told this node's status when it changes (none when absent). */
  readonly watcher?: string;
  /** The local actor that applies committed entries (the committer); APP when absent. */
  readonly applyTo?: string;
  /** Start out of touch (modeMask.startDetached): replay the journal, then stand still until `attach`. */
  readonly startDetached?: boolean;
  /** Whose journal this is: one that holds another identity is refused at start (FOREIGN_DATA). Unchecked when absent. */
  readonly identity?: JournalIdentity;
}

export const replicator = defineActor<ReplicatorMessage, ReplicatorParams>({
  kind: 'chorus/replicator',
  module: import.meta.url,
  create(ctx, params) {
    const self = ctx.self;
    assert(params.tickMs > 0, 'replicator: tickMs must be positive');
    const journal = ctx.journal;
    const raft = new Raft({
      id: self.node, voters: params.voters, ...(params.quorumTable !== undefined ? { quorum: tableRule(params.voters.map((v) => v.id), params.quorumTable) } : {}), electionTicks: params.electionTicks, heartbeatTicks: params.heartbeatTicks,
      random: () => ctx.random(), preVote: params.preVote, checkQuorum: params.checkQuorum,
      appendEntriesMax: params.appendEntriesMax, ...(params.appendBytesMax !== undefined ? { appendBytesMax: params.appendBytesMax } : {}), entryBytes, entryTransactions, inflightAppendsMax: params.inflightAppendsMax, logTransactionsRetained: params.logTransactionsRetained, ...(params.logBytesRetained !== undefined ? { logBytesRetained: params.logBytesRetained } : {}), readsPendingMax, forwardedBytesMax: params.forwardedBytesMax,
      incarnation: ctx.now(), // a restarted node starts later: its proposals are told from its earlier run's
      backgroundSync: journal?.syncThen !== undefined,
    }, journal === undefined ? undefined : replay(journal, { membership: { members: params.voters.map((v) => v.id) }, index: 0 }, params.identity));
    if (journal !== undefined) {
      if (journal.tailCut !== undefined) ctx.log.warn('journal: a torn or unsynced tail was cut off at start (nothing in it had been synced)', { journal: journal.path, ...journal.tailCut });
      journal.releaseRecovered?.();
      journal.append(formatRecord()); // what this run writes is of this format (replay refused a later one)
      if (params.identity !== undefined) journal.append(identityRecord(params.identity)); // a journal from before it adopts it
    }
    const applyTo: Address = { node: self.node, actor: params.applyTo ?? APP };
    const app: Address = { node: self.node, actor: APP };
    const recoveredIndex = raft.log.committed;
    let recoveryAnnounced = false;
    /** The applied index an image was last asked at (one request at a time; a new one after as many entries again). */
    // Nodes applying in step would all take their images at the same index: in one process (several
    // nodes on one thread, inline) that is one stall long enough for the quorum watchers to call peers
    // silent. A node's first image comes early by a part of an interval drawn from its name (not from
    // ctx.random: the simulator's stream of draws stays as it was), which keeps them apart.
    let imageAskedAt = raft.image?.index ?? 0;
    const imageHeadStart = Math.floor((nameFraction(self.node) * params.logTransactionsRetained) / 2);
    /** Ticks since an image was last asked for a follower's sake (Raft.imageWanted); one request per election timeout. */
    let ticksSinceImageAsked = Number.POSITIVE_INFINITY;
    /** Confirmed reads waiting for their index to be applied (bounded by the leader's readsPendingMax per round). */
    let waitingReads: ReadState[] = [];
    /**
     * Membership: 'in' (normal), 'out' (standing still), or a request under way, asked again every tick
     * until a leader confirms it. On every start a node asks to be in: its log may be stale (taken out,
     * or let back in, while it was down), and only a leader can tell.
     */
    let membership: 'in' | 'out' | 'detach' | 'attach' = params.startDetached === true ? 'out' : 'attach';
    /** Asking back in on its own (see keepMembership): the application was never told it left, so it hears nothing. */
    let rejoining = false;
    /** Ticks this member has known no leader (see keepMembership). */
    let ticksLeaderless = 0;

    /** Readies waiting for a background sync (journals that offer one), and the messages they hold. */
    const syncs = journal?.syncThen !== undefined ? new SyncQueue() : undefined;
    const sendRaft = (msg: RaftMessage) => {
      const error = ctx.send({ node: msg.to, actor: REPLICATOR }, { type: 'raft', msg } satisfies PeerRaft);
      // A proposal forwarded past the leader's mailbox is in no log: its writers hear OVERLOADED, not TIMEOUT.
      if (error?.code === 'MAILBOX_FULL' && msg.type === 'propose') ctx.send(applyTo, { type: 'proposeRefused', payloads: msg.payloads, reason: 'overloaded', detail: `forwarding to ${msg.to}: ${error.message}` } satisfies ProposeRefused);
    };
    /** The hard state last written (a new term, vote or commit index is synced: raft-journal.ts write). */
    let writtenHard = raft.hardState();
    const syncDone = (seq: number) => {
      for (const { index, commit, messages } of syncs!.done(seq)) {
        raft.persisted(index, commit);
        for (const msg of messages) sendRaft(msg);
      }
    };
    /** What is applied must reach the tables: lost, the node would fall silently behind the others. */
    const handOn = (error: SendResult, what: string) => assert(error === undefined || error.code === 'STOPPED', `replicator: ${what} not handed on (${error?.message}); skipped, this node would diverge`);
    const handleReady = () => {
      while (raft.hasReady()) {
        const ready: Ready = raft.ready();
        // Entries are encoded once, by the first encoder they meet (journal or wire), and keep those bytes.
        keepBytes(ready.entries);
        // 1. persist (or write, and sync in the background); 2. send what may go now
        let syncSeq: number | undefined;
        if (journal !== undefined && syncs === undefined) persist(journal, raft, ready, params.identity);
        else if (journal !== undefined && write(journal, raft, ready, writtenHard, params.identity)) syncSeq = syncs!.written(ready.entries[ready.entries.length - 1]?.index ?? raft.log.writtenIndex, ready.entries[0]?.index, (ready.hardState ?? writtenHard).commit);
        if (ready.hardState !== undefined) writtenHard = ready.hardState;
        for (const msg of ready.messages) if (syncs === undefined || syncs.mayGo(msg)) sendRaft(msg);
        // 3. apply (an arbiter has no tables: it keeps the log, and nothing is applied)
        if (ready.image?.install && !raft.dataless) handOn(ctx.send(applyTo, { type: 'restore', index: ready.image.image.index, frames: ready.image.image.frames } satisfies Restore), 'an image');
        if (ready.committed.length > 0 && !raft.dataless) handOn(ctx.send(applyTo, { type: 'committed', entries: ready.committed } satisfies Committed), 'committed entries');
        if (ready.softState) ctx.send(app, { type: 'raftState', ...ready.softState } satisfies RaftStateChanged);
        for (const id of ready.readsFailed) ctx.send(applyTo, { type: 'readFailed', id } satisfies ReadFailed);
        for (const id of ready.readsRefused) ctx.send(applyTo, { type: 'readFailed', id, overloaded: true } satisfies ReadFailed);
        for (const r of ready.proposalsRefused) ctx.send(applyTo, { type: 'proposeRefused', payloads: r.payloads, reason: 'overloaded', detail: r.reason } satisfies ProposeRefused);
        if (ready.reads.length > 0) waitingReads = waitingReads.concat(ready.reads);
        raft.advance(ready, syncs === undefined);
        if (syncSeq !== undefined && syncs!.full) {
          journal!.sync(); // bounded: too many syncs outstanding, so make everything durable now
          syncDone(syncs!.latest);
        } else if (syncSeq !== undefined) {
          const persisted: Persisted = { type: 'persisted', seq: syncSeq };
          journal!.syncThen!(persisted);
        }
      }
      if (waitingReads.length > 0) {
        // Sent after the committed entries up to the read's index, so the tables hold them when it runs.
        const applied = raft.log.applied;
        for (const read of waitingReads) if (read.index <= applied) ctx.send(applyTo, { type: 'readReady', id: read.id } satisfies ReadReady);
        waitingReads = waitingReads.filter((read) => read.index > applied);
      }
      if (!recoveryAnnounced && raft.log.applied >= recoveredIndex) {
        recoveryAnnounced = true;
        ctx.send(applyTo, { type: 'recovered', index: recoveredIndex } satisfies Recovered);
      }
      const catchingUp = raft.catchingUp;
      if (catchingUp !== undefined && raft.log.applied >= catchingUp.target) {
        raft.catchingUp = undefined;
        ctx.send(applyTo, { type: 'synced', index: raft.log.applied, via: catchingUp.image ? 'image' : 'log' } satisfies Synced);
      }
      if (raft.imageWanted) {
        raft.imageWanted = false;
        if (ticksSinceImageAsked >= params.electionTicks) {
          ticksSinceImageAsked = 0; // asked again if it does not come
          raft.imageTakingAt ??= raft.log.applied; // compaction holds there until it comes (raft-images.ts)
          ctx.send(applyTo, { type: 'imageWanted', index: raft.log.applied, frameRowsMax: params.imageFrameRowsMax, frameBytesMax: params.imageFrameBytesMax, replyTo: self } satisfies ImageWanted);
        }
      }
      // A new image does not replace one a follower is being sent (the transfer keeps its own), and neither
      // compaction path goes past an image being taken or sent for a follower (raft-images.ts).
      if (raft.imageIntervalReached(imageHeadStart)) {
        imageAskedAt = raft.log.applied;
        raft.imageAsked();
        if (journal === undefined && !raft.dataless) {
          // In memory only: an image is made when a follower needs one.
          raft.compactWithoutImage(imageAskedAt);
        } else if (raft.dataless) {
          raft.takeImage(imageAskedAt, []); // nothing to image: compact, and rewrite the journal
          handleReady();
        } else {
          ctx.send(applyTo, { type: 'imageWanted', index: imageAskedAt, frameRowsMax: params.imageFrameRowsMax, frameBytesMax: params.imageFrameBytesMax, replyTo: self } satisfies ImageWanted);
        }
      }
    };
    /** A detach or attach under way: done once a leader confirmed it; otherwise ask (again). */
    const pursueMembership = () => {
      if (membership === 'in') keepMembership();
      if (membership !== 'detach' && membership !== 'attach') return;
      // Back in means caught up too: a member that heard from its leader and has applied what it had.
      const caughtUp = raft.role === 'leader' || (raft.inTouch && raft.catchingUp === undefined);
      const done = raft.membershipDone(membership) && (membership === 'detach' || caughtUp);
      if (!done) {
        raft.requestMembership(membership);
        // A leader refused the detach (it would leave no membership able to commit): the node stays in.
        const reason = membership === 'detach' ? raft.membershipRefused(membership) : undefined;
        if (reason === undefined) return;
        membership = 'in';
        raft.forgetMembershipRequest();
        ctx.send(applyTo, { type: 'membership', state: 'refused', applied: raft.log.applied, reason } satisfies MembershipDone);
        return;
      }
      const detached = membership === 'detach';
      membership = detached ? 'out' : 'in';
      // Everything committed so far is handed on before the answer (the application keeps its tables
      // then as the attach point), and nothing after it while out: so a background sync under way is
      // finished first, since only synced entries (under a synced commit index) are applied.
      handleReady();
      if (detached && syncs !== undefined) {
        journal!.sync();
        syncDone(syncs.latest);
        handleReady();
      }
      if (rejoining) rejoining = false;
      else ctx.send(applyTo, { type: 'membership', state: detached ? 'detached' : 'attached', applied: raft.log.applied } satisfies MembershipDone);
    };
    /**
     * A member by the application's wish stays one. A detach called off can still be carried out: a
     * request sent before the call-off may reach a leader after it (late, or retried into a leader that
     * was busy), and the leader then takes this node out while it counts itself in. So a member that
     * finds itself leaving or out asks back in; and one that has known no leader for an election timeout
     * asks once per timeout, since a node taken out while cut off from the leader never hears of it (its
     * log still names it; no leader sends to it): the leader's answer carries the membership that tells.
     */
    const keepMembership = () => {
      const state = raft.membershipState();
      if (state === 'leaving' || state === 'out') {
        membership = 'attach';
        rejoining = true;
        return;
      }
      ticksLeaderless = raft.leader === undefined ? ticksLeaderless + 1 : 0;
      if (ticksLeaderless > 0 && ticksLeaderless % params.electionTicks === 0) raft.requestMembership('attach');
    };
    const watcher: Address | undefined = params.watcher === undefined ? undefined : { node: self.node, actor: params.watcher };
    let reported: NodeStatus | undefined;
    const reportStatus = () => {
      if (watcher === undefined) return;
      const r = raft;
      const last = reported;
      const membership = r.members.current();
      if (last !== undefined && last.term === r.term && last.role === r.role && last.leader === r.leader && last.commit === r.log.committed && last.applied === r.log.applied && last.lastIndex === r.log.lastIndex() && last.membership === membership) return;
      reported = { role: r.role, term: r.term, leader: r.leader, commit: r.log.committed, applied: r.log.applied, lastIndex: r.log.lastIndex(), membership };
      ctx.send(watcher, { type: 'localStatus', status: reported } satisfies LocalStatus);
    };
    ctx.setTimer(params.tickMs, tick);
    // A restarted node: its tables start from the journal's image, then take what the journal says was committed.
    if (raft.image !== undefined && !raft.dataless) handOn(ctx.send(applyTo, { type: 'restore', index: raft.image.index, frames: raft.image.frames } satisfies Restore), 'the journal\'s image');
    handleReady(); // hands on what the journal says was committed, then announces recovery

    /** With a host that calls afterBatch: a batch's messages make one Ready there (see Actor.afterBatch). */
    const deferReady = ctx.batchEnds === true;
    let readyDue = false;

    return {
      afterBatch() {
        if (!readyDue || membership === 'out') return;
        readyDue = false;
        handleReady();
      },
      receive(message, from) {
        // From another node only a Raft message of the right shape, from that node: the internal types
        // (`persisted` would mark a sync done that never happened) and bad shapes are dropped, not asserted on.
        const problem = from.node === self.node ? undefined : peerRaftProblem(message, from.node, self.node);
        if (problem !== undefined) return void ctx.log.warn('message from another node dropped', { from: from.node, problem });
        switch (message.type) {
          case 'tick':
            ctx.setTimer(params.tickMs, tick);
            ticksSinceImageAsked++;
            if (membership === 'out') return;
            raft.tick();
            pursueMembership();
            reportStatus();
            break;
          case 'detach':
          case 'attach':
            rejoining = false; // the application's own request: it hears the outcome
            if (message.type === 'attach' && membership === 'out') raft.resume();
            membership = membership === 'out' && message.type === 'detach' ? 'out' : message.type;
            if (membership === 'out') ctx.send(applyTo, { type: 'membership', state: 'detached', applied: raft.log.applied } satisfies MembershipDone);
            else pursueMembership();
            break;
          case 'raft':
            if (membership === 'out') return;
            raft.step(message.msg); // its sender is its transport sender (checked above)
            break;
          case 'propose': {
            const result = raft.propose(message.payloads, message.bytes);
            if (result === 'noLeader' || result === 'transferring') {
              ctx.send(message.replyTo, { type: 'proposeRefused', payloads: message.payloads, reason: result } satisfies ProposeRefused);
            }
            break;
          }
          case 'transferLeadership':
            raft.transferLeadership(message.to);
            break;
          case 'readIndex':
            raft.readIndex(message.id);
            break;
          case 'persisted':
            assert(message.failed === undefined, `replicator: the journal could not be synced: ${message.failed}`);
            syncDone(message.seq);
            break;
          case 'imageTaken':
            ticksSinceImageAsked = Number.POSITIVE_INFINITY;
            raft.imageTakingAt = undefined; // the next request, if one is still needed, holds anew
            if (message.index <= raft.log.applied && message.index > (raft.image?.index ?? 0) && message.index >= raft.log.compactedIndex) raft.takeImage(message.index, message.frames, message.digest);
            break;
          default:
            assertNever(message, 'replicator message');
        }
        if (membership === 'out') return; // standing still: nothing is handed on until attach (pursueMembership)
        if (deferReady) readyDue = true;
        else handleReady();
      },
    };
  },
});

/** A number in [0, 1) from a node's name (FNV-1a), the same on every run. */
function nameFraction(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash >>> 0) / 2 ** 32;
}
