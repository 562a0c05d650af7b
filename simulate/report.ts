/**
 * The HTML report of one simulated run (`chorus sim --report FILE.html`): one self-contained page —
 * inline SVG and CSS, no script, nothing fetched — so that a person can look at a run instead of
 * reading a log. It shows, on one time axis: the network faults (partitions and one-way cuts as bands,
 * clogs, rate changes), each node's Raft role with its term, when it was down or paused, clock faults;
 * then the commit latency of every acknowledged operation over time; then the fault list and the
 * command that replays the run.
 *
 * Pure: a function of its input. Bound: at most reportLatencyPointsMax dots are drawn (evenly thinned).
 */
import type { History } from './history.js';
import type { RunTimeline } from './timeline.js';

export interface ReportInput {
  readonly title: string;
  readonly seed: number;
  readonly workload: string;
  readonly nodes: readonly string[];
  /** Nodes that are arbiters (labelled so in their rows). */
  readonly arbiters?: readonly string[];
  readonly problems: readonly string[];
  readonly replay: string;
  readonly timeline: RunTimeline;
  readonly history: History;
}

/** Dots in the latency chart; more operations than this are thinned evenly. */
const reportLatencyPointsMax = 4000;
const width = 1200;
const left = 90;
const right = 20;
const rowHeight = 26;
const plot = width - left - right;

const roleColors: Readonly<Record<string, string>> = { leader: '#2e9e4f', candidate: '#e3b505', preCandidate: '#f3dc7a', follower: '#a9c8ec' };

const gapColors = { down: '#777', paused: '#333', detached: '#64b5f6' } as const;

export function renderReport(input: ReportInput): string {
  const t = input.timeline;
  const endMs = Math.max(t.endMs, 1);
  const x = (ms: number) => left + (plot * Math.min(Math.max(ms, 0), endMs)) / endMs;
  const ok = input.problems.length === 0;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 6px; }
.ok { color: #2e7d32; } .bad { color: #c62828; }
code, pre { font: 13px ui-monospace, monospace; background: #f4f4f4; padding: 2px 4px; }
pre { padding: 8px; white-space: pre-wrap; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
table { border-collapse: collapse; } td { padding: 1px 10px 1px 0; vertical-align: top; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
</style></head><body>
<h1>${esc(input.title)}</h1>
<p>seed <b>${input.seed}</b> · workload <b>${esc(input.workload)}</b> · ${input.nodes.length} nodes · ${(endMs / 1000).toFixed(1)} s simulated ·
<b class="${ok ? 'ok' : 'bad'}">${ok ? 'all checks passed' : `FAILED (${input.problems.length} problem${input.problems.length === 1 ? '' : 's'})`}</b></p>
<p>replay: <code>${esc(input.replay)}</code></p>
${ok ? '' : `<pre class="bad">${esc(input.problems.join('\n'))}</pre>`}
<h2>Timeline</h2>
${legend()}
${timelineSvg(input, x, endMs)}
<h2>Commit latency</h2>
<p>Every acknowledged operation that went through the log: when it completed, and how long it took (dots); the line is the median per time slice.</p>
${latencySvg(input.history, x, endMs)}
<h2>Faults</h2>
${faultTable(t)}
${t.dropped > 0 ? `<p>${t.dropped} timeline entries were not kept (simTimelineEntriesMax).</p>` : ''}
</body></html>
`;
}

function legend(): string {
  const item = (color: string, label: string) => `<span><i style="background:${color}"></i>${label}</span>`;
  return `<p class="legend">${item(roleColors['leader']!, 'leader')}${item(roleColors['candidate']!, 'candidate')}${item(roleColors['preCandidate']!, 'pre-candidate')}${item(roleColors['follower']!, 'follower')}${item('#777', 'down (crashed)')}${item('#333', 'paused')}${item(gapColors.detached, 'detached (standalone)')}${item('#e57373', 'partition / one-way cut / slow link')}${item('#ffb74d', 'clog')}${item('#8e24aa', 'loss/dup/reorder rates')}${item('#00838f', 'clock skew / drift')}${item('#eef6ee', 'liveness phase (faults off)')}</p>`;
}

function timelineSvg(input: ReportInput, x: (ms: number) => number, endMs: number): string {
  const t = input.timeline;
  const rows = 1 + input.nodes.length;
  const height = rows * rowHeight + 30;
  const parts: string[] = [];
  if (t.livenessFromMs !== undefined) parts.push(rect(x(t.livenessFromMs), 0, x(endMs) - x(t.livenessFromMs), rows * rowHeight, '#eef6ee', 'liveness phase: faults off, a quorum of nodes back'));
  parts.push(`<text x="4" y="${rowHeight / 2 + 4}">network</text>`);
  for (const band of networkBands(t, endMs)) parts.push(rect(x(band.fromMs), 3, Math.max(1, x(band.toMs) - x(band.fromMs)), rowHeight - 6, band.color, band.label));
  input.nodes.forEach((node, i) => {
    const y = (i + 1) * rowHeight;
    parts.push(`<text x="4" y="${y + rowHeight / 2 + 4}">${esc(node)}${input.arbiters?.includes(node) === true ? ' (arb.)' : ''}</text>`);
    parts.push(...roleBands(t, node, y, x, endMs));
    for (const gap of t.gaps.filter((g) => g.node === node)) {
      const to = gap.toMs ?? endMs;
      parts.push(rect(x(gap.fromMs), y + 2, Math.max(1, x(to) - x(gap.fromMs)), rowHeight - 4, gapColors[gap.kind], `${node} ${gap.kind} ${fmt(gap.fromMs)}–${fmt(to)}`));
    }
    for (const f of t.faults) {
      if (f.fault.kind !== 'clock' || input.nodes[f.fault.node % input.nodes.length] !== node) continue;
      const cx = x(f.timeMs);
      parts.push(`<path d="M${cx - 5} ${y + rowHeight - 2} L${cx} ${y + rowHeight - 10} L${cx + 5} ${y + rowHeight - 2} Z" fill="#00838f"><title>${esc(`${fmt(f.timeMs)} ${f.label}`)}</title></path>`);
    }
  });
  parts.push(axis(x, endMs, rows * rowHeight));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

interface Band {
  readonly fromMs: number;
  readonly toMs: number;
  readonly color: string;
  readonly label: string;
}

/** Cuts and slow links last until the next heal or partition of any shape (which heals first) or the liveness phase. */
function networkBands(t: RunTimeline, endMs: number): Band[] {
  const bands: Band[] = [];
  const stopMs = t.livenessFromMs ?? endMs;
  let open: { fromMs: number; labels: string[] } | undefined;
  const close = (atMs: number) => {
    if (open !== undefined) bands.push({ fromMs: open.fromMs, toMs: atMs, color: '#e57373', label: `${fmt(open.fromMs)}–${fmt(atMs)}: ${open.labels.join('; ')}` });
    open = undefined;
  };
  for (const f of t.faults) {
    const kind = f.fault.kind;
    const partition = kind === 'partition' || kind === 'ring' || kind === 'bridge';
    if (kind === 'heal' || partition) close(f.timeMs);
    if (partition || kind === 'cutOneWay' || kind === 'slowLink') {
      if (open === undefined) open = { fromMs: f.timeMs, labels: [] };
      open.labels.push(f.label);
    }
    if (f.fault.kind === 'clog' || f.fault.kind === 'stall') bands.push({ fromMs: f.timeMs, toMs: Math.min(f.timeMs + f.fault.forMs, stopMs), color: '#ffb74d', label: `${fmt(f.timeMs)} ${f.label}` });
    if (kind === 'rates') bands.push({ fromMs: f.timeMs, toMs: f.timeMs + endMs / 300, color: '#8e24aa', label: `${fmt(f.timeMs)} ${f.label}` });
  }
  close(stopMs);
  return bands;
}

function roleBands(t: RunTimeline, node: string, y: number, x: (ms: number) => number, endMs: number): string[] {
  const changes = t.roles.filter((r) => r.node === node);
  const parts: string[] = [];
  changes.forEach((change, i) => {
    const toMs = changes[i + 1]?.timeMs ?? endMs;
    const w = Math.max(0.5, x(toMs) - x(change.timeMs));
    const label = `${node} ${change.role}, term ${change.term}${change.leader !== undefined ? `, leader ${change.leader}` : ''} from ${fmt(change.timeMs)}`;
    parts.push(rect(x(change.timeMs), y + 4, w, rowHeight - 8, roleColors[change.role] ?? '#ccc', label));
    if (w > 28) parts.push(`<text x="${x(change.timeMs) + 3}" y="${y + rowHeight / 2 + 4}">t${change.term}</text>`);
  });
  return parts;
}

function latencySvg(history: History, x: (ms: number) => number, endMs: number): string {
  const height = 220;
  const top = 10;
  const bottom = height - 30;
  const invoked = new Map<number, number>();
  const points: [number, number][] = [];
  for (const e of history) {
    // Bank reads (key null, f read) are local snapshot reads, not commits: leave them out.
    if (e.f === 'read' && e.key === null) continue;
    if (e.type === 'invoke') invoked.set(e.process, e.time);
    else if (e.type === 'ok') points.push([e.time, e.time - (invoked.get(e.process) ?? e.time)]);
  }
  if (points.length === 0) return '<p>No acknowledged operations.</p>';
  const sorted = points.map((p) => p[1]).sort((a, b) => a - b);
  const maxMs = Math.max(1, sorted[Math.floor(0.995 * (sorted.length - 1))]!);
  const y = (ms: number) => bottom - ((bottom - top) * Math.min(ms, maxMs)) / maxMs;
  const parts: string[] = [];
  const stride = Math.max(1, Math.ceil(points.length / reportLatencyPointsMax));
  for (let i = 0; i < points.length; i += stride) parts.push(`<circle cx="${x(points[i]![0]).toFixed(1)}" cy="${y(points[i]![1]).toFixed(1)}" r="1.6" fill="#1565c0" fill-opacity="0.35"/>`);
  const slices = 120;
  const medians: string[] = [];
  for (let s = 0; s < slices; s++) {
    const from = (endMs * s) / slices;
    const to = (endMs * (s + 1)) / slices;
    const inSlice = points.filter((p) => p[0] >= from && p[0] < to).map((p) => p[1]).sort((a, b) => a - b);
    if (inSlice.length > 0) medians.push(`${x((from + to) / 2).toFixed(1)},${y(inSlice[Math.floor(inSlice.length / 2)]!).toFixed(1)}`);
  }
  if (medians.length > 1) parts.push(`<polyline points="${medians.join(' ')}" fill="none" stroke="#0d47a1" stroke-width="1.5"/>`);
  for (const frac of [0, 0.5, 1]) parts.push(`<text x="${left - 6}" y="${y(maxMs * frac) + 4}" text-anchor="end">${(maxMs * frac).toFixed(1)} ms</text>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#999"/>`);
  parts.push(axis(x, endMs, bottom));
  const p50 = sorted[Math.floor(sorted.length / 2)]!;
  const p99 = sorted[Math.floor(0.99 * (sorted.length - 1))]!;
  return `<p>${points.length} operations · median ${p50.toFixed(2)} ms · p99 ${p99.toFixed(2)} ms · max ${sorted.at(-1)!.toFixed(2)} ms (the chart is cut at p99.5)</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

function faultTable(t: RunTimeline): string {
  if (t.faults.length === 0) return '<p>No faults: a quiet seed.</p>';
  return `<table>${t.faults.map((f) => `<tr><td>${fmt(f.timeMs)}</td><td>${esc(f.label)}</td></tr>`).join('')}</table>`;
}

function axis(x: (ms: number) => number, endMs: number, y: number): string {
  const parts = [`<line x1="${left}" y1="${y}" x2="${left + plot}" y2="${y}" stroke="#999"/>`];
  const stepMs = niceStep(endMs / 10);
  for (let ms = 0; ms <= endMs; ms += stepMs) {
    parts.push(`<line x1="${x(ms)}" y1="${y}" x2="${x(ms)}" y2="${y + 4}" stroke="#999"/><text x="${x(ms)}" y="${y + 16}" text-anchor="middle">${fmt(ms)}</text>`);
  }
  return parts.join('');
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function rect(x: number, y: number, w: number, h: number, fill: string, title: string): string {
  return `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="${fill}"><title>${esc(title)}</title></rect>`;
}

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s` : `${Math.round(ms)} ms`;
}

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
