/**
 * The chaos test's fault schedule, drawn from one seed: one fault at a time for `faultsMs`, each healed
 * before the next:
 *   - a partition of one node (connections reset, or bytes silently swallowed), a one-way cut, delays;
 *   - SIGKILL of one node (the leader half the time) or of two (a majority), right after a node
 *     acknowledged a write, restarted later; half of those are power cuts (power-cut.ts): the killed
 *     nodes' files lose every byte no fsync had made durable;
 *   - a power cut of the whole cluster right after an acknowledged write (blackoutsMin per run at least: the
 *     only copies left are the ones on disk, so a journal that acknowledged before its fsync returned
 *     loses that write here, where a SIGKILL, which keeps the page cache, never shows it);
 *   - SIGSTOP of one node (the leader half the time), SIGCONT later: a paused leader must be replaced
 *     while it is paused (the run reports it in `unreplaced` otherwise), and step down and catch up
 *     when it runs again, without losing an acknowledged write.
 * The schedule draws from `rng`, what survives of unsynced tails from `cutRng`, so that turning power
 * cuts off (CHAOS_POWER_CUTS=off: kills keep the page cache) leaves the schedule as it was.
 */
import type { Rng } from '../../simulate/rng.js';
import type { LocalCluster } from '../../src/cli/local-cluster.js';
import type { ClientOptions } from '../../src/client/index.js';
import { connect } from '../../src/client/index.js';
import type { Relay, RelayMode } from './relay.js';
import type { RegisterWorkload } from './register.js';
import { cutPower, describeCuts } from './power-cut.js';

/** A kill after an acknowledged write waits this long for one, then kills anyway (a cluster that acknowledges nothing). */
const ackWaitMsMax = 3_000;
/**
 * Whole-cluster power cuts per run, at least (more if the schedule draws them): each one caught a
 * journal acknowledging before its fsync with odds of about 0.65 (docs/chaos.md).
 */
const blackoutsMin = 3;
/** How long the power stays off in a whole-cluster power cut. */
const blackoutMsMin = 300;
const blackoutMsMax = 1_000;
/** A leader lookup asks each node this long at most (a paused node does not answer). */
const leaderLookupMsMax = 1_000;
/** While a leader is paused, the others are asked for a new one this often. */
const successorPollMs = 100;

export interface FaultContext {
  readonly cluster: LocalCluster;
  /** relays[from][to]: node `from`'s connection to node `to`. */
  readonly relays: readonly (readonly Relay[])[];
  readonly rng: Rng;
  readonly cutRng: Rng;
  readonly workload: RegisterWorkload;
  /** Off: a kill keeps the files as they are (the page cache survives a SIGKILL). */
  readonly powerCuts: boolean;
  /** Node `i`'s ledger of synced bytes (power-cut-ledger.mjs). */
  readonly ledger: (i: number) => string;
  readonly client: ClientOptions;
  readonly startedMs: number;
  readonly faultsMs: number;
  /** How long a restarted node may take to be ready. */
  readonly readyMsMax: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the schedule did, and the paused leaders the others did not replace while they were paused. */
export interface FaultsRun {
  readonly timeline: string[];
  readonly unreplaced: string[];
}

export async function runFaults(f: FaultContext): Promise<FaultsRun> {
  const { cluster: c, rng } = f;
  const size = c.addrs.length;
  const timeline: string[] = [];
  const unreplaced: string[] = [];
  const note = (what: string) => timeline.push(`${Math.round(performance.now() - f.startedMs)} ms: ${what}`);
  const set = (pairs: readonly (readonly [number, number])[], mode: RelayMode) => {
    for (const [from, to] of pairs) f.relays[from]![to]!.setMode(mode);
  };
  const nodes = Array.from({ length: size }, (_, i) => i);
  const around = (x: number) => nodes.filter((j) => j !== x).flatMap((j) => [[x, j], [j, x]] as const);
  const other = (x: number) => (x + 1 + rng.int(size - 1)) % size;
  const end = performance.now() + f.faultsMs;
  let blackouts = 0;
  while (performance.now() < end) {
    const x = rng.int(size);
    const holdMs = rng.between(1_500, 4_000);
    const kind = rng.int(8);
    if (kind === 0 || kind === 1) {
      const mode: RelayMode = kind === 0 ? { kind: 'reset' } : { kind: 'blackhole' };
      note(`partition: n${x + 1} cut off from the others (${mode.kind}) for ${Math.round(holdMs)} ms`);
      set(around(x), mode);
      await sleep(holdMs);
      set(around(x), { kind: 'pass' });
    } else if (kind === 2) {
      const y = other(x);
      const mode: RelayMode = rng.chance(0.5) ? { kind: 'reset' } : { kind: 'blackhole' };
      note(`one-way cut: n${x + 1} -> n${y + 1} (${mode.kind}) for ${Math.round(holdMs)} ms`);
      set([[x, y]], mode);
      await sleep(holdMs);
      set([[x, y]], { kind: 'pass' });
    } else if (kind === 3) {
      const ms = Math.round(rng.between(20, 120));
      note(`delay: every link of n${x + 1} +${ms} ms for ${Math.round(holdMs)} ms`);
      set(around(x), { kind: 'delay', ms });
      await sleep(holdMs);
      set(around(x), { kind: 'pass' });
    } else if (kind === 4 || kind === 5) {
      const powerCut = rng.chance(0.5) && f.powerCuts;
      const toLeader = rng.chance(0.5);
      const y = other(x);
      const first = toLeader ? (await leaderOf(c, f.client)) ?? x : x;
      // One node, or two (a majority: then only their journals bring the acknowledged writes back).
      const down = kind === 4 ? [first] : [first, first === y ? x : y];
      await kill(f, note, down, holdMs, powerCut);
    } else if (kind === 6) {
      const toLeader = rng.chance(0.5);
      const leader = toLeader ? await leaderOf(c, f.client) : undefined;
      const target = leader ?? x;
      note(`SIGSTOP n${target + 1}${leader === undefined ? '' : ' (the leader)'} for ${Math.round(holdMs)} ms`);
      c.processes[target]?.signal('SIGSTOP');
      const resumeAt = performance.now() + holdMs;
      if (leader !== undefined) {
        const successor = await successorOf(c, f.client, leader, resumeAt);
        if (successor === undefined) unreplaced.push(`n${leader + 1} paused at ${Math.round(resumeAt - holdMs - f.startedMs)} ms`);
        note(successor === undefined ? `  no other leader while n${leader + 1} was paused` : `  n${successor + 1} took over`);
      }
      await sleep(resumeAt - performance.now());
      c.processes[target]?.signal('SIGCONT');
      note(`SIGCONT n${target + 1}`);
    } else {
      blackouts++;
      await kill(f, note, nodes, rng.between(blackoutMsMin, blackoutMsMax), f.powerCuts);
    }
    await sleep(rng.between(500, 1_500));
  }
  for (; blackouts < blackoutsMin; blackouts++) {
    await kill(f, note, nodes, rng.between(blackoutMsMin, blackoutMsMax), f.powerCuts);
    await sleep(rng.between(500, 1_500));
  }
  return { timeline, unreplaced };
}

/** Kills `down` right after the next acknowledged write, cuts their power if asked, and restarts them after `holdMs`. */
async function kill(f: FaultContext, note: (what: string) => void, down: readonly number[], holdMs: number, powerCut: boolean): Promise<void> {
  const c = f.cluster;
  const names = down.map((i) => `n${i + 1}`).join(down.length === 2 ? ' and ' : ', ');
  const acked = await Promise.race([f.workload.nextWriteAck().then(() => true), sleep(ackWaitMsMax).then(() => false)]);
  await Promise.all(down.map((i) => c.stop(i, 'SIGKILL')));
  note(`${powerCut ? 'power cut' : 'SIGKILL'}: ${names}${acked ? ' right after an acknowledged write' : ''}, restarted after ${Math.round(holdMs)} ms`);
  if (powerCut) for (const i of down) note(`  n${i + 1}: ${describeCuts(cutPower(c.dataDir(i), f.ledger(i), f.cutRng))}`);
  await sleep(holdMs);
  await Promise.all(down.map((i) => c.start(i, f.readyMsMax)));
  note(`${names} restarted`);
}

/** The leader the nodes other than the paused `leader` elect before `deadline` (polled; undefined: none did). */
async function successorOf(c: LocalCluster, options: ClientOptions, leader: number, deadline: number): Promise<number | undefined> {
  const others = c.addrs.map((_, i) => i).filter((i) => i !== leader);
  while (performance.now() < deadline) {
    const named = await leaderOf(c, options, others);
    if (named !== undefined && named !== leader) return named;
    await sleep(Math.min(successorPollMs, deadline - performance.now()));
  }
  return undefined;
}

/** The node the first of `ask` that answers names as leader (undefined: none answered, or none knows one). */
async function leaderOf(c: LocalCluster, options: ClientOptions, ask: readonly number[] = c.addrs.map((_, i) => i)): Promise<number | undefined> {
  for (const i of ask) {
    if (c.processes[i] === undefined) continue;
    const client = await connect(c.clientAddrs[i]!, { ...options, connectTimeoutMs: leaderLookupMsMax, requestTimeoutMs: leaderLookupMsMax }).catch(() => undefined);
    if (client === undefined) continue;
    try {
      const leader = (await client.info()).leader;
      const at = leader === undefined ? -1 : c.addrs.indexOf(leader);
      if (at >= 0) return at;
    } catch {
      // This one did not answer in time: ask the next.
    } finally {
      await client.close();
    }
  }
  return undefined;
}
