/**
 * `chorus status --node ADMIN_ADDR [--json]`: the cluster as one node sees it, read from that node's
 * admin port (`GET /status`, the node's `info()`): every node with its role, connection state, qrank,
 * term, commit index and lag, like db-minder's status summary. ADMIN_ADDR is the node's `admin.listen`
 * (host:port), not its cluster address.
 *
 * Exit status: 0 when the node answered, 1 when it could not be reached, 2 for bad arguments.
 */
import type { NodeInfo, PeerStatus } from '../node/cluster-node.js';
import { statusRequestMsMax } from '../limits.js';

export const statusUsage = 'Usage: chorus status --node ADMIN_ADDR [--json]   (ADMIN_ADDR: the node\'s admin.listen, host:port)';

/** /status: info(), and what the node process adds (its own qrank is not in info()). */
type Status = NodeInfo & { readonly qrank?: number; readonly addr?: string; readonly version?: string; readonly uptimeS?: number; readonly leaderChanges?: number };

export async function runStatusCommand(args: readonly string[], print: (line: string) => void, stderr: (line: string) => void): Promise<number> {
  const at = args.indexOf('--node');
  const addr = at >= 0 ? args[at + 1] : undefined;
  if (addr === undefined || !/^(\[[0-9a-fA-F:.]+\]|[^:/\s]+):\d{1,5}$/.test(addr)) {
    stderr(`chorus status: --node ADMIN_ADDR (host:port) is required\n${statusUsage}`);
    return 2;
  }
  let status: Status;
  try {
    const response = await fetch(`http://${addr}/status`, { signal: AbortSignal.timeout(statusRequestMsMax) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    status = (await response.json()) as Status;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    stderr(`chorus status: no answer from the admin port at ${addr} (${cause})`);
    return 1;
  }
  if (args.includes('--json')) print(JSON.stringify(status, null, 2));
  else for (const line of statusTable(status)) print(line);
  return 0;
}

/** The summary: one line about the cluster, then a table of every node, this one first (marked *). */
export function statusTable(s: Status): string[] {
  const dash = (v: number | string | undefined) => (v === undefined ? '-' : String(v));
  const head = ['node', 'role', 'connection', 'qrank', 'term', 'commit', 'applied', 'lag'];
  const rows: string[][] = [[
    `${s.nodeId} *`, s.arbiter ? `${s.role} (arbiter)` : s.role, 'self', dash(s.qrank), String(s.term),
    String(s.commitIndex), String(s.appliedIndex), String(Math.max(0, s.commitIndex - s.appliedIndex)),
  ]];
  for (const p of s.peers) rows.push(peerRow(p, dash));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `cluster as ${s.nodeId} sees it: leader ${s.leader ?? 'none'}, term ${s.term}, quorum ${s.hasQuorum ? 'yes' : 'NO'}, ${s.activeNodes.length} of ${s.peers.length + 1} nodes connected`,
    line(head),
    ...rows.map(line),
  ];
}

function peerRow(p: PeerStatus, dash: (v: number | string | undefined) => string): string[] {
  return [
    // A disconnected peer's role, term and indexes are as last heard: its role is shown in parentheses.
    p.nodeId, p.role === undefined ? '-' : `${p.connected ? p.role : `(${p.role})`}${p.arbiter ? ' (arbiter)' : ''}`, p.connected ? 'connected' : 'disconnected', String(p.qrank),
    dash(p.term), dash(p.commitIndex), dash(p.appliedIndex), dash(p.lag),
  ];
}
