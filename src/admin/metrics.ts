/**
 * A node's metrics in the Prometheus text exposition format (version 0.0.4), from `info()` and the
 * counters the node process keeps (leader changes, client writes by outcome). Pure: data in, text out.
 *
 * Rollbacks are change-sets that certification refused (a conflict, or a unique violation); every node
 * refuses the same ones, so `origin` says whose writer it was.
 */
import type { NodeInfo } from '../node/cluster-node.js';

export interface ProcessCounters {
  readonly leaderChanges: number;
  /** Writes from clients of this node, by outcome: 'ok' or an error code (CONFLICT, NO_QUORUM, ...). */
  readonly clientWrites: Readonly<Record<string, number>>;
  /** The process's CPU time, user and system, in seconds (Prometheus' standard process_cpu_seconds_total). */
  readonly cpuSeconds?: number;
  /** The process's resident memory in bytes (process_resident_memory_bytes). */
  readonly residentBytes?: number;
}

type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: readonly Sample[];
}

const none = {};

function families(info: NodeInfo, counters: ProcessCounters): Family[] {
  const local = info.applied - info.remoteCommits;
  const localRollbacks = info.conflicts - info.remoteRollbacks;
  const peers = info.peers;
  return [
    { name: 'chorus_commits_total', type: 'counter', help: 'Change-sets committed and applied on this node, by the origin of their writer.', samples: [[{ origin: 'local' }, local], [{ origin: 'remote' }, info.remoteCommits]] },
    { name: 'chorus_rollbacks_total', type: 'counter', help: 'Change-sets refused by certification (CONFLICT or UNIQUE), by the origin of their writer.', samples: [[{ origin: 'local' }, localRollbacks], [{ origin: 'remote' }, info.remoteRollbacks]] },
    { name: 'chorus_client_writes_total', type: 'counter', help: 'Writes from clients of this node, by outcome (ok, or the error code: CONFLICT, NO_QUORUM, ...).', samples: Object.entries(counters.clientWrites).map(([outcome, n]): Sample => [{ outcome }, n]) },
    { name: 'chorus_bytes_sent_total', type: 'counter', help: 'Bytes sent to peers (application bytes; under TLS, the plaintext).', samples: [[none, info.bytesSent ?? 0]] },
    { name: 'chorus_bytes_received_total', type: 'counter', help: 'Bytes received from peers.', samples: [[none, info.bytesReceived ?? 0]] },
    { name: 'chorus_leader_changes_total', type: 'counter', help: 'Times this node saw the leader or the term change.', samples: [[none, counters.leaderChanges]] },
    { name: 'chorus_has_quorum', type: 'gauge', help: '1 while the nodes this one is connected to (itself included) hold a quorum.', samples: [[none, info.hasQuorum ? 1 : 0]] },
    { name: 'chorus_is_leader', type: 'gauge', help: '1 while this node is the Raft leader.', samples: [[none, info.role === 'leader' ? 1 : 0]] },
    { name: 'chorus_term', type: 'gauge', help: 'Raft term.', samples: [[none, info.term]] },
    { name: 'chorus_commit_index', type: 'gauge', help: 'Raft log index committed by a quorum, as this node knows it.', samples: [[none, info.commitIndex]] },
    { name: 'chorus_applied_index', type: 'gauge', help: 'Raft log index applied on this node.', samples: [[none, info.appliedIndex]] },
    { name: 'chorus_active_nodes', type: 'gauge', help: 'Nodes this one is connected to, itself included.', samples: [[none, info.activeNodes.length]] },
    { name: 'chorus_pending_writes', type: 'gauge', help: 'Writes on this node waiting for their commit.', samples: [[none, info.pendingWrites]] },
    { name: 'chorus_peer_connected', type: 'gauge', help: '1 while the peer is connected (heard from, link up).', samples: peers.map((p): Sample => [{ peer: p.nodeId }, p.connected ? 1 : 0]) },
    ...(counters.cpuSeconds === undefined ? [] : [{ name: 'process_cpu_seconds_total', type: 'counter', help: 'Total user and system CPU time spent in seconds.', samples: [[none, counters.cpuSeconds]] } satisfies Family]),
    ...(counters.residentBytes === undefined ? [] : [{ name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident memory size in bytes.', samples: [[none, counters.residentBytes]] } satisfies Family]),
    { name: 'chorus_peer_lag_entries', type: 'gauge', help: 'Log entries committed here that the peer had not applied when last heard.', samples: peers.filter((p) => p.lag !== undefined).map((p): Sample => [{ peer: p.nodeId }, p.lag!]) },
  ];
}

/** `label="value"` with the format's escapes (backslash, double quote, newline). */
function labelText(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function metricsText(info: NodeInfo, counters: ProcessCounters): string {
  const lines: string[] = [];
  for (const family of families(info, counters)) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const [labels, value] of family.samples) lines.push(`${family.name}${labelText(labels)} ${value}`);
  }
  return `${lines.join('\n')}\n`;
}
