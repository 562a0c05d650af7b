/**
 * Raft's State Machine Safety (§5.4.3) as a run observes it: no two nodes ever commit different entries at
 * the same log index. Every entry a node's replicator hands on as committed is compared with the first
 * entry any node committed at that index; a node that commits an index again (replaying its journal after
 * a restart) must commit the same entry again.
 *
 * An entry is identified by its term, its kind and what it carries: a command by its origin and id (the
 * simulated cluster numbers its transactions uniquely), a membership by its members. Entries are kept as
 * a term and a 32-bit hash of that identity per index (12 bytes each), so that runs of millions of entries
 * stay small; a hash collision could hide a disagreement (odds 2^-32 each), never invent one.
 *
 * Bound: the first `simCommitConflictsReportedMax` disagreements are described; later ones are counted.
 */
import type { Entry } from '../../src/cluster/raft/messages.js';
import { stableText } from '../trace.js';

/** Disagreements described in full; later ones are only counted. */
export const simCommitConflictsReportedMax = 10;

export class CommitAgreement {
  private terms = new Float64Array(1024);
  private hashes = new Int32Array(1024);
  /** Who first committed each index (for the report), as a number into `nodes`. */
  private firsts = new Uint8Array(1024);
  private readonly nodes: string[] = [];
  private readonly conflicts: string[] = [];
  private conflictCount = 0;
  /** Entries observed, counting each node's own. */
  observed = 0;

  /** `node` handed these entries on as committed (in log order). */
  observe(node: string, entries: readonly Entry[]): void {
    let nodeNumber = this.nodes.indexOf(node);
    if (nodeNumber < 0) nodeNumber = this.nodes.push(node) - 1;
    for (const entry of entries) {
      this.observed++;
      const index = entry.index;
      if (index >= this.terms.length) this.grow(index);
      const hash = identityHash(entry);
      if (this.terms[index] === 0) {
        this.terms[index] = entry.term;
        this.hashes[index] = hash;
        this.firsts[index] = nodeNumber;
      } else if (this.terms[index] !== entry.term || this.hashes[index] !== hash) {
        this.conflictCount++;
        if (this.conflicts.length < simCommitConflictsReportedMax) {
          this.conflicts.push(`${node} committed ${describe(entry)} at index ${index}, where ${this.nodes[this.firsts[index]!]} had committed an entry of term ${this.terms[index]}${this.terms[index] === entry.term ? ' with other contents' : ''}`);
        }
      }
    }
  }

  /** What went wrong, if anything: one line per disagreement described. */
  problems(): string[] {
    if (this.conflictCount === 0) return [];
    const more = this.conflictCount - this.conflicts.length;
    return [`nodes committed different entries at the same log index: ${this.conflicts.join('; ')}${more > 0 ? `; and ${more} more` : ''}`];
  }

  private grow(index: number): void {
    const size = Math.max(index + 1, this.terms.length * 2);
    const terms = new Float64Array(size);
    terms.set(this.terms);
    this.terms = terms;
    const hashes = new Int32Array(size);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const firsts = new Uint8Array(size);
    firsts.set(this.firsts);
    this.firsts = firsts;
  }
}

function identity(entry: Entry): string {
  const data = entry.data;
  if (data.kind === 'noop') return 'noop';
  if (data.kind === 'command') {
    // A window batch (one entry, several transactions: log-payload.ts) is told by all its transactions.
    const items = (Array.isArray(data.payload) ? data.payload : [data.payload]) as ({ origin?: unknown; id?: unknown } | null)[];
    return `command ${items.map((payload) => `${String(payload?.origin)}#${String(payload?.id)}`).join(',')}`;
  }
  return stableText(data); // a membership change: its members
}

function describe(entry: Entry): string {
  return `an entry of term ${entry.term} (${identity(entry)})`;
}

/**
 * FNV-1a over the identity text. A command's (most entries; every node's commits are observed) is hashed
 * piece by piece as `identity` would write it, without building the text: the same hash, no string made
 * and flattened per entry.
 */
function identityHash(entry: Entry): number {
  const data = entry.data;
  if (data.kind !== 'command') return fnv(0x811c9dc5, identity(entry)) | 0;
  // A window batch is an array of transactions: every one counts (cast as one object, a batch hashed as
  // "undefined#undefined", so two different batches at one index agreed: found in review).
  if (Array.isArray(data.payload)) return fnv(0x811c9dc5, identity(entry)) | 0;
  const payload = data.payload as { origin?: unknown; id?: unknown } | null;
  return fnv(fnv(fnv(fnv(0x811c9dc5, 'command '), String(payload?.origin)), '#'), String(payload?.id)) | 0;
}

function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}
