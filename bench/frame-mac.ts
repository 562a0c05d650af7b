/**
 * `npm run bench -- frame-mac`: what tagging costs on a connection without TLS (src/transport/tcp/
 * frame-mac.ts): CPU microseconds to tag a run and to check it, per frame size, for a run of one frame
 * and for a run of 64 small frames (a leader answering a batch of commits). For comparison, a tag per
 * frame (what runs replace) and AES-256-GCM over the same bytes (what TLS spends on a record's
 * integrity, with AES-NI). CPU time (process.cpuUsage), not wall time, best of 7 rounds: the machine is
 * shared, and a round that was descheduled costs wall time, not CPU time.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { FrameMac, RunChecker, RunSealer } from '../src/transport/tcp/frame-mac.js';
import type { BenchResult, BenchRow } from './report.js';

const rounds = 7;
const sizes = [64, 256, 1024, 4096, 16 * 1024, 64 * 1024, 1024 * 1024];

const cpuUs = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** Best CPU µs per call of `run` over `calls` calls. */
function best(calls: number, run: () => void): number {
  let least = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = cpuUs();
    for (let i = 0; i < calls; i++) run();
    least = Math.min(least, (cpuUs() - start) / calls);
  }
  return least;
}

/** A frame of `bytes` (length prefix included), as a connection writes it. */
function frameOf(bytes: number): Uint8Array {
  const frame = randomBytes(bytes);
  frame.writeUInt32BE(bytes - 4, 0);
  return frame;
}

/** µs to tag, and to check, one run of `frames`. */
function runCost(frames: readonly Uint8Array[]): { seal: number; check: number } {
  const key = randomBytes(32);
  const sealer = new RunSealer(new FrameMac(key, 'dialer-to-acceptor'));
  const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
  const calls = Math.max(50, Math.min(20_000, Math.floor(20e6 / bytes)));
  const seal = best(calls, () => {
    for (const frame of frames) sealer.add(frame);
    sealer.end();
  });
  // The checker's run numbers move on with every run: tag as many runs as it will check, up front.
  const tags: Uint8Array[] = [];
  const source = new RunSealer(new FrameMac(key, 'dialer-to-acceptor'));
  for (let i = 0; i < calls * rounds; i++) {
    for (const frame of frames) source.add(frame);
    tags.push(source.end()!.subarray(4));
  }
  const checker = new RunChecker(new FrameMac(key, 'dialer-to-acceptor'));
  let next = 0;
  const check = best(calls, () => {
    for (const frame of frames) checker.add(frame, frame.subarray(4));
    if (!checker.end(tags[next++]!).ok) throw new Error('bench frame-mac: a tag did not check');
  });
  return { seal, check };
}

/** µs of AES-256-GCM authenticating `frame` (as TLS 1.3's records are, without the encryption). */
function gcmCost(frame: Uint8Array): number {
  const key = randomBytes(32);
  const iv = Buffer.alloc(12);
  let n = 0;
  return best(Math.max(50, Math.min(20_000, Math.floor(20e6 / frame.byteLength))), () => {
    iv.writeUInt32BE(n++, 8);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(frame);
    cipher.final();
    cipher.getAuthTag();
  });
}

export function runFrameMacBench(): Promise<BenchResult> {
  const rows: BenchRow[] = [];
  const summary: Record<string, number> = {};
  const round = (x: number) => Math.round(x * 100) / 100;
  for (const size of sizes) {
    const { seal, check } = runCost([frameOf(size)]);
    const gcm = gcmCost(frameOf(size));
    rows.push({ name: `run of one ${size}-byte frame: tag`, value: round(seal), unit: 'µs' }, { name: `run of one ${size}-byte frame: check`, value: round(check), unit: 'µs' },
      { name: `${size} bytes: AES-256-GCM integrity (TLS's, for comparison)`, value: round(gcm), unit: 'µs' });
    Object.assign(summary, { [`tagUs${size}`]: round(seal), [`checkUs${size}`]: round(check), [`gcmUs${size}`]: round(gcm) });
  }
  const batch = Array.from({ length: 64 }, () => frameOf(150));
  const { seal, check } = runCost(batch);
  const single = runCost([frameOf(150)]);
  rows.push(
    { name: 'run of 64 150-byte frames: tag + check, per frame', value: round((seal + check) / 64), unit: 'µs' },
    { name: 'a tag per 150-byte frame instead: tag + check, per frame', value: round(single.seal + single.check), unit: 'µs' },
  );
  Object.assign(summary, { runOf64TagCheckUsPerFrame: round((seal + check) / 64), tagPerFrameTagCheckUs: round(single.seal + single.check) });
  return Promise.resolve({ rows, summary: { suite: 'frame-mac', ...summary, loadAverage1m: Math.round(loadavg()[0]! * 10) / 10 } });
}
