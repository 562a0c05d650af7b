/**
 * Guards for the actor messages one node sends another: the replicators' `raft` and the quorum
 * watchers' `heartbeat`, the only two (see src/node/peer-messages.ts for the allow-list the transport
 * applies). Each returns why a body is not such a message, or undefined when it is. The transport runs
 * them at the edge; the replicator and the watcher run them again on whatever reaches them from
 * another node (an in-process network has no edge), so a wrong shape is dropped, never asserted on.
 * They never throw, and they stay shallow (a few property checks per message).
 */
import { membershipProblem, raftMessageProblem } from '../cluster/raft/message-guard.js';
import type { Address, Logger, Message } from '../runtime/actor.js';

/**
 * For the actors no other node talks to (committer, flusher, listener): true, with a warning logged,
 * when `message` came from another node than `self` — the caller drops it instead of asserting on it.
 */
export function fromAnotherNode(log: Logger, self: string, message: Message, from: Address): boolean {
  if (from.node === self) return false;
  log.warn('message from another node dropped', { from: from.node, type: String(message.type) });
  return true;
}

type Fields = Readonly<Record<string, unknown>>;
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A replicator's `{ type: 'raft', msg }` from node `sender` to node `receiver` (the Raft message's own from and to). */
export function peerRaftProblem(body: unknown, sender: string, receiver: string): string | undefined {
  if (!isObject(body) || body['type'] !== 'raft') return "not a { type: 'raft' } message";
  const problem = raftMessageProblem(body['msg'], sender, receiver);
  return problem === undefined ? undefined : `raft ${problem}`;
}

/** A watcher's `{ type: 'heartbeat', status?, stopAt? }` (quorum-watcher.ts). */
export function heartbeatProblem(body: unknown): string | undefined {
  if (!isObject(body) || body['type'] !== 'heartbeat') return "not a { type: 'heartbeat' } message";
  if (body['stopAt'] !== undefined && !isCount(body['stopAt'])) return 'heartbeat: stopAt must be a non-negative integer when present';
  const status = body['status'];
  if (status === undefined) return undefined;
  if (!isObject(status)) return 'heartbeat: status must be an object when present';
  if (typeof status['role'] !== 'string') return 'heartbeat: status.role must be a string';
  if (status['leader'] !== undefined && typeof status['leader'] !== 'string') return 'heartbeat: status.leader must be a node id when present';
  for (const key of ['term', 'commit', 'applied', 'lastIndex']) if (!isCount(status[key])) return `heartbeat: status.${key} must be a non-negative integer`;
  const membership = status['membership'];
  const problem = membership === undefined ? undefined : membershipProblem(membership);
  return problem === undefined ? undefined : `heartbeat: status.${problem}`;
}
