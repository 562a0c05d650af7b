/**
 * The guard that turns a Raft message from another node (`unknown` until here) into a `RaftMessage` or
 * a reason to refuse it (house rule 3). The transport runs it at the edge on every peer frame for the
 * replicator (src/actors/peer-messages.ts), and the replicator runs it again on whatever reaches it
 * from another node, so that a message of the wrong shape is dropped instead of tripping an assertion
 * deep in the Raft core and failing the node.
 *
 * What it checks, per type (messages.ts): every field the type declares, with its JavaScript type;
 * terms, indexes, counts and ids are safe non-negative integers; node ids are strings and the sender
 * (`from`) is the node the message came from, the receiver (`to`) this node; entries are an array of
 * entries that follow `prevIndex` one by one with terms that never go down and never pass the message's;
 * an image chunk lies within its chunk count; memberships name their members. It stays shallow: an
 * entry's command payload and a proposal's payloads are the store's bytes, checked where they are
 * decoded, and walking them here would cost the commit path for nothing.
 *
 * What it cannot check: that a peer tells the truth (a node with the cluster's secret could claim any
 * term). That is the handshake's job, not this one's. Invariant: it never throws.
 */
import type { RaftMessage } from './messages.js';

type Fields = Readonly<Record<string, unknown>>;
type Problem = string | undefined;

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function count(m: Fields, key: string): Problem {
  return isCount(m[key]) ? undefined : `${key} must be a non-negative integer`;
}
function optionalCount(m: Fields, key: string): Problem {
  return m[key] === undefined || isCount(m[key]) ? undefined : `${key} must be a non-negative integer when present`;
}
function flag(m: Fields, key: string): Problem {
  return typeof m[key] === 'boolean' ? undefined : `${key} must be a boolean`;
}
function text(m: Fields, key: string): Problem {
  return typeof m[key] === 'string' ? undefined : `${key} must be a string`;
}
function list(m: Fields, key: string): Problem {
  return Array.isArray(m[key]) ? undefined : `${key} must be an array`;
}
function op(m: Fields, key: string): Problem {
  return m[key] === 'detach' || m[key] === 'attach' ? undefined : `${key} must be 'detach' or 'attach'`;
}

/** A membership (membership.ts): `members` a non-empty array of node ids, `old` one too when present. */
export function membershipProblem(value: unknown): Problem {
  if (!isObject(value)) return 'membership must be an object';
  const ids = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((id) => typeof id === 'string');
  if (!ids(value['members'])) return 'membership.members must be a non-empty array of node ids';
  if (value['old'] !== undefined && !ids(value['old'])) return 'membership.old must be a non-empty array of node ids when present';
  return undefined;
}

function versionedProblem(value: unknown): Problem {
  if (!isObject(value)) return 'membership must be an object';
  return isCount(value['index']) ? membershipProblem(value['membership']) : 'membership.index must be a non-negative integer';
}

/** An append's entries: each an object that follows the one before it, in a term no later than the message's. */
function entriesProblem(m: Fields): Problem {
  const entries = m['entries'];
  if (!Array.isArray(entries)) return 'entries must be an array';
  let index = m['prevIndex'] as number;
  let term = m['prevTerm'] as number;
  const termMax = m['term'] as number;
  for (const entry of entries as unknown[]) {
    if (!isObject(entry)) return 'an entry must be an object';
    const problem = count(entry, 'index') ?? count(entry, 'term');
    if (problem !== undefined) return `entry: ${problem}`;
    if (entry['index'] !== ++index) return `entry index ${String(entry['index'])} does not follow ${index - 1}`;
    if ((entry['term'] as number) < term || (entry['term'] as number) > termMax) return `entry ${index} has term ${String(entry['term'])}, outside [${term}, ${termMax}]`;
    term = entry['term'] as number;
    const data = entry['data'];
    if (!isObject(data)) return `entry ${index}: data must be an object`;
    const kind = data['kind'];
    if (kind === 'members') {
      const bad = membershipProblem(data['membership']);
      if (bad !== undefined) return `entry ${index}: ${bad}`;
    } else if (kind !== 'noop' && kind !== 'command') {
      return `entry ${index}: unknown kind`;
    }
  }
  return undefined;
}

function snapshotProblem(m: Fields): Problem {
  const problem = count(m, 'index') ?? count(m, 'snapTerm') ?? count(m, 'chunk') ?? count(m, 'chunks') ?? count(m, 'commit') ?? count(m, 'digest') ?? versionedProblem(m['membership']);
  if (problem !== undefined) return problem;
  if (!((m['chunk'] as number) < (m['chunks'] as number))) return `chunk ${String(m['chunk'])} is not below chunks ${String(m['chunks'])}`;
  if (!(m['data'] instanceof Uint8Array)) return 'data must be bytes';
  const membership = m['membership'] as Fields;
  return (membership['index'] as number) <= (m['index'] as number) ? undefined : 'membership.index is beyond the image';
}

function refusedProblem(value: unknown): Problem {
  if (value === undefined) return undefined;
  return isObject(value) ? op(value, 'op') ?? text(value, 'reason') : 'refused must be an object when present';
}

/** The fields each type adds to the envelope (term, from, to), checked in order. */
function bodyProblem(m: Fields): Problem {
  switch (m['type'] as RaftMessage['type']) {
    case 'preVote':
      return count(m, 'lastIndex') ?? count(m, 'lastTerm');
    case 'vote':
      return count(m, 'lastIndex') ?? count(m, 'lastTerm') ?? flag(m, 'transfer');
    case 'preVoteResp':
    case 'voteResp':
      return flag(m, 'granted');
    case 'append':
      return count(m, 'prevIndex') ?? count(m, 'prevTerm') ?? count(m, 'commit') ?? optionalCount(m, 'readRound') ?? optionalCount(m, 'dataMatch')
        ?? (m['quiet'] === undefined || m['quiet'] === true ? undefined : 'quiet must be true when present') ?? entriesProblem(m);
    case 'appendResp':
      return flag(m, 'success') ?? count(m, 'index') ?? count(m, 'hint') ?? optionalCount(m, 'readRound');
    case 'propose':
      return list(m, 'payloads') ?? text(m, 'origin') ?? count(m, 'bytes') ?? count(m, 'seq')
        ?? (typeof m['incarnation'] === 'number' && Number.isFinite(m['incarnation']) ? undefined : 'incarnation must be a finite number');
    case 'proposeRefused':
      return list(m, 'payloads') ?? count(m, 'heldBytes') ?? count(m, 'heldBytesMax');
    case 'timeoutNow':
      return undefined;
    case 'snapshot':
      return snapshotProblem(m);
    case 'snapshotResp':
      return count(m, 'index') ?? count(m, 'next');
    case 'readIndex':
      return count(m, 'id');
    case 'readIndexResp':
      return count(m, 'id') ?? flag(m, 'ok') ?? count(m, 'index') ?? (m['overloaded'] === undefined ? undefined : flag(m, 'overloaded'));
    case 'membersChange':
      return op(m, 'op') ?? text(m, 'node') ?? count(m, 'seen');
    case 'membersChangeResp':
      return versionedProblem(m['membership']) ?? count(m, 'version') ?? refusedProblem(m['refused']);
    default:
      return `unknown Raft message type ${JSON.stringify(String(m['type']).slice(0, 40))}`;
  }
}

/**
 * Why `value` is not a Raft message that node `sender` may send to node `receiver`, or undefined when
 * it is one (and may be treated as a `RaftMessage`).
 */
export function raftMessageProblem(value: unknown, sender: string, receiver: string): Problem {
  if (!isObject(value)) return 'not a message object';
  if (typeof value['type'] !== 'string') return 'type must be a string';
  const problem = count(value, 'term') ?? text(value, 'from') ?? text(value, 'to');
  if (problem !== undefined) return `${value['type'].slice(0, 40)}: ${problem}`;
  if (value['from'] !== sender) return `${value['type'].slice(0, 40)}: from ${JSON.stringify(String(value['from']).slice(0, 80))} is not the sending node`;
  if (value['to'] !== receiver) return `${value['type'].slice(0, 40)}: to ${JSON.stringify(String(value['to']).slice(0, 80))} is not this node`;
  const body = bodyProblem(value);
  return body === undefined ? undefined : `${value['type'].slice(0, 40)}: ${body}`;
}
