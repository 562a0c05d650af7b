/**
 * The simulator's own bounds and constants, in one place, units in the names (src/limits.ts holds the
 * ones the runtime shares; this file is the simulator's, so that simulate/ never edits src/).
 */

/** Events the simulator's queue holds at once (timers, messages in flight, calls); past it a run fails as a runaway. */
export const simEventsPendingMax = 1 << 24;

/** The fewest packets a path holds in flight when a harsh seed bounds it (it draws 1 to 9 times this). */
export const simPathCapacityMin = 8;
/** The slowest a slow link's delay gets on the harshest seeds, in milliseconds (min and max of its range each up to half). */
export const simSlowLinkMsMax = 100;
/** A packet drawn to be reordered is held back on its path up to this long past its delay (virtual milliseconds), so that later ones pass it. */
export const simReorderHoldMsMax = 20;
/**
 * The share of seeds whose messages between nodes cross the TCP transport's msgpack codec and guards
 * (simulate/wire.ts) instead of being handed over as objects: it costs those seeds CPU (docs/simulator.md).
 */
export const simWireChance = 1 / 3;
/** Bytes per slab that journal records are copied into (a larger record gets a slab of its own). */
export const simJournalSlabBytes = 64 * 1024;
/** The chance that a crash tears the first unsynced journal record (written in part) instead of losing it whole. */
export const simJournalTornChance = 0.5;
/** The chance that a seed's journals offer syncThen (FileJournal's background group-commit sync); drawn on a stream of its own. */
export const simBackgroundSyncChance = 0.5;
/** How long a background sync takes, in virtual milliseconds: most are drawn from the first range, a few (this chance) from the slow one. */
export const simBackgroundSyncMs = [0.05, 2] as const;
export const simBackgroundSlowSyncMs = [5, 40] as const;
export const simBackgroundSlowSyncChance = 0.02;
/** The chance that a crash mid-write waits for the node's next journal rewrite (compaction) instead of its next sync. */
export const simArmedCrashAtRewriteChance = 0.25;
/** A crash armed for a journal write that finds a rewrite (compaction) leaves the old journal this often, else the new one. */
export const simRewriteCrashKeepsOldChance = 0.5;
/** A crash mid-write waits this long (virtual milliseconds) for the node's next journal sync, then crashes it anyway. */
export const simCrashMidWriteWithinMs = 50;

/** Virtual milliseconds of the liveness phase (faults off, a quorum back) and of the drain after it. */
export const simLivenessMs = 1_500;
export const simDrainMs = 1_500;
/**
 * After the liveness phase, a write through each live data node must commit within this many virtual
 * milliseconds (simulate/liveness.ts): twice the write timeout, so a write lost to the last election gets a
 * second try.
 */
export const simLivenessProbeMsMax = 1_000;
/** Virtual milliseconds a client's operation waits for its outcome before it is `info` (and a detach before it is called off). */
export const simWriteTimeoutMs = 500;
/** A client's pause between two operations, drawn uniformly from [0, this] virtual milliseconds. */
export const simClientThinkMsMax = 20;

/** Safety-phase milliseconds per step of the compaction interval: a run this long or shorter keeps 128 to 1,024 entries behind an image, one twice as long twice that. */
export const simCompactionRunMs = 10_000;

/** The transaction window of one seed in seven: small batches that fill from a few clients, or leave after 2 ms. */
export const simWindow = { length: 4, bsize: 2048, timeoutMs: 2 } as const;

/**
 * Every third seed bounds the retained log by bytes as well (transLogSize): this many bytes per transaction
 * of its transLogLength, below what a simulated transaction's entry takes (~100-150 bytes), so that the
 * byte bound is the one reached.
 */
export const simTransLogBytesPerTransaction = 64;

/** The image frame bound (syncMsgSize) of every fourth seed, with one row per frame: state transfers of many chunks. */
export const simTinyImageFrameBytes = 256;

/** The message bound of every fifth seed: one append carries at most 7 KB of entries, so a lagging node gets several (the simulated syncMsgSize, 4 KB, fits it). */
export const simSmallMessageBytes = 8192;

/** Raft's tick in the simulated cluster, and ticks per election timeout (heartbeats every tick). */
export const simTickMs = 10;
export const simElectionTicks = 10;

/** The chance that a seed's cluster (3 nodes or more) has one arbiter. */
export const simArbiterChance = 0.3;
/** The chance that a seed's liveness phase leaves a minority of nodes down (only a quorum healed and restarted). */
export const simLivenessMinorityDownChance = 0.5;
/** A detach lasts this long before its attach, at most (virtual milliseconds; at least a tenth of it). */
export const simDetachMsMax = 1_500;
/**
 * Swarm schedules: the harshest seeds draw this many faults per second of the safety phase (the rest
 * fewer, in proportion to their harshness), at least simSwarmFaultsMin and at most simSwarmFaultsPerRunMax
 * in a run. A flat cap of 16 left a 60 s run one fault every 4 s at most, and a majority of nodes almost
 * never down at once.
 */
export const simSwarmFaultsPerSecondMax = 5;
export const simSwarmFaultsMin = 16;
export const simSwarmFaultsPerRunMax = 100_000;
/** A power loss crashes its nodes at once, or one after another this far apart at most (virtual milliseconds). */
export const simPowerLossStaggerMsMax = 200;
/**
 * Before a power loss (half of them) the disks of its nodes stall for up to this long (virtual milliseconds):
 * every background sync they start is a slow one (simBackgroundSlowSyncMs), so that an answer given before
 * its sync completed has time to reach a client before the power goes.
 */
export const simPowerLossStallMsMax = 20;
/** A node stall (every path to and from it clogged) lasts up to this long (virtual milliseconds). */
export const simStallMsMax = 600;

/** Frames of a state image a simulated node loads per slice (ImageRestorer), and the virtual time between slices. */
export const simImageFramesPerSlice = 16;
export const simImageSliceMs = 0.2;
