/**
 * The data directory at open, before any journal in it is read: a node refuses one that holds the
 * replicator journal of a node its cluster does not have (another cluster's data, or a node renamed
 * since), and, when the directory is its alone (`chorus node`: one node per dataDir), one that holds
 * another node's journal (its nodeId changed: it would start empty under another address, and the
 * journal it had would sit unused). Nodes of one cluster may share a directory through `openNode`:
 * each journal is named after its node (`<addr>.replicator.journal`).
 *
 * The node's own journal is checked when it is replayed: its identity record (raft-journal.ts) names
 * the node, its cluster's nodes and the cluster's name.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ActorFailedError, ChorusError } from '../runtime/errors.js';
import { REPLICATOR } from '../actors/replicator.js';

const suffix = `.${REPLICATOR}.journal`;

/** The nodes whose replicator journals `dataDir` holds. */
export function journalsIn(dataDir: string): string[] {
  if (!existsSync(dataDir)) return [];
  return readdirSync(dataDir).filter((name) => name.endsWith(suffix)).map((name) => name.slice(0, -suffix.length)).sort();
}

/** Throws FOREIGN_DATA when `dataDir` holds a journal this node must not open beside (see above). */
export function checkDataDir(dataDir: string, self: string, nodes: readonly string[], ownDir: boolean): void {
  const held = journalsIn(dataDir);
  const foreign = held.filter((node) => !nodes.includes(node));
  if (foreign.length > 0) {
    throw new ChorusError('FOREIGN_DATA', `dataDir ${dataDir} holds the journal of ${names(foreign)}, not among this cluster's nodes ${JSON.stringify([...nodes])}: it is another cluster's (${join(dataDir, foreign[0]! + suffix)}). Give this node its own dataDir, or move that journal aside`);
  }
  const others = held.filter((node) => node !== self);
  if (ownDir && others.length > 0) {
    throw new ChorusError('FOREIGN_DATA', `dataDir ${dataDir} holds the journal of ${names(others)}${held.includes(self) ? ' beside this node\'s' : ''}, and this node is ${JSON.stringify(self)}: is nodeId right? A node keeps a dataDir of its own; started on another's it would start empty`);
  }
}

function names(nodes: readonly string[]): string {
  return nodes.length === 1 ? `node ${JSON.stringify(nodes[0])}` : `nodes ${JSON.stringify(nodes)}`;
}

/**
 * A journal refused at open (another node's or cluster's, or corrupt) fails the replicator's creation:
 * the caller gets the journal's own error (FOREIGN_DATA, CORRUPT), not the actor failure around it.
 */
export function openRefusal(error: unknown): unknown {
  const code = error instanceof ActorFailedError ? error.reason.code : undefined;
  return code === 'FOREIGN_DATA' || code === 'CORRUPT' ? new ChorusError(code, (error as ActorFailedError).reason.message) : error;
}
