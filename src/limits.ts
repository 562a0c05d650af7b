/**
 * Every bound in chorusdb, in one place (house rule 5). Names carry their unit last.
 * A bound that is reached gives a typed error or a counted drop, never unbounded growth.
 */

/** Messages one sender may have queued, unprocessed, at one receiving actor (per link). */
export const mailboxMessagesMaxDefault = 4096;
/** Hard ceiling for `mailboxMessagesMax`, so that a typo cannot disable the bound. */
export const mailboxMessagesMaxCeiling = 1 << 20;

/** Timers one actor may have pending at once; more is a programmer error (a timer leak). */
export const timersPerActorMax = 1024;
/** Longest timer delay an actor may ask for: 24 hours. */
export const timerDelayMsMax = 24 * 60 * 60 * 1000;

/** Messages actors send to the application while their node is starting, held until start returns. */
export const appBacklogMessagesMax = 65_536;

/** Inline host: messages delivered in one event-loop turn before yielding to I/O and timers. */
export const inlineTurnMessagesMax = 1024;

/** Thread host: messages packed into one postMessage; a larger burst goes out as several posts. */
export const portBatchMessagesMax = 1024;
/**
 * Thread host: after activity, a worker keeps polling its ports this long before it sleeps in its event
 * loop. Waking a sleeping thread costs ~50 µs here; a hot poll answers in ~3 µs (bench/runtime.ts).
 */
export const threadSpinUsDefault = 50;
/** Thread host: the longest a worker polls in one go before it yields to its event loop (timers, I/O). */
export const threadSpinTurnMsMax = 2;
/** Thread host: how long start waits for every actor's worker to load and create it. */
export const threadStartMsMax = 30_000;
/** Thread host: how long stop() waits for actors to drain before terminating their workers. */
export const stopDrainMsMax = 5_000;
/** Thread host: log records a worker buffers before it forwards them; more are counted as dropped. */
export const workerLogRecordsMax = 1024;

/** Simulator: events one run may process before it is declared runaway. */
export const simEventsMaxDefault = 50_000_000;
/** Simulator: log records kept per simulation (oldest dropped first). */
export const simLogRecordsMax = 10_000;
/** Simulator: actors per simulated node. */
export const simActorsPerNodeMax = 64;
