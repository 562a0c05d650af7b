/**
 * House rule 1, checked: code under src/actors, src/store and the protocol core reaches time,
 * randomness, timers, sockets, files and threads only through its ActorContext (or the disk
 * interface), so that the simulator can run it. Each banned use names what to use instead.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The node's write and read bookkeeping and quorum gate too: the simulator runs them on virtual time (simulate/node-app.ts).
const guardedDirs = ['src/actors', 'src/store', 'src/cluster', 'src/protocol', 'src/node/write-core.ts', 'src/node/read-core.ts', 'src/node/quorum-gate.ts'];

const banned: readonly { readonly pattern: RegExp; readonly use: string }[] = [
  { pattern: /\bDate\.now\s*\(/, use: 'ctx.now()' },
  { pattern: /\bnew Date\s*\(\s*\)/, use: 'ctx.now()' },
  { pattern: /\bperformance\.now\s*\(/, use: 'ctx.now()' },
  { pattern: /\bprocess\.hrtime\b/, use: 'ctx.now()' },
  { pattern: /\bMath\.random\s*\(/, use: 'ctx.random()' },
  { pattern: /\b(setTimeout|setInterval|setImmediate)\s*\(/, use: 'ctx.setTimer(delayMs, message) / ctx.cancelTimer(id)' },
  // Work deferred past the host's view: it runs outside the simulator's event order, and after a stop.
  { pattern: /\bqueueMicrotask\s*\(/, use: 'ctx.setTimer(0, message), or do it now' },
  { pattern: /\bprocess\.nextTick\b/, use: 'ctx.setTimer(0, message), or do it now' },
  // globalThis.setTimeout, globalThis['Date'], ...: the same APIs by another name.
  { pattern: /\bglobalThis\b/, use: 'the ActorContext (nothing through globalThis)' },
  { pattern: /\bcrypto\.(random\w*|getRandomValues)\b|\b(randomInt|randomBytes|randomUUID|randomFill|randomFillSync|getRandomValues)\s*\(/, use: 'ctx.random()' },
  { pattern: /from\s+['"](node:)?(net|tls|dgram|http|https|http2)['"]/, use: 'ctx.send(to, message): the transport is the host’s job' },
  { pattern: /from\s+['"](node:)?fs(\/promises)?['"]/, use: 'the Disk interface (src/disk/disk.ts), given to the code by its host' },
  { pattern: /from\s+['"](node:)?(worker_threads|child_process|cluster)['"]/, use: 'ctx.send(to, message): threads are the host’s job' },
  { pattern: /\bimport\s*\(\s*['"](node:)?(net|tls|fs|worker_threads|child_process)['"]/, use: 'the ActorContext (no dynamic I/O imports)' },
];

/** Violations in one file's text, comments removed first so that prose may name the APIs. */
function findViolations(text: string): { line: number; code: string; use: string }[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/.*$/gm, '');
  const found: { line: number; code: string; use: string }[] = [];
  code.split('\n').forEach((line, i) => {
    for (const rule of banned) if (rule.pattern.test(line)) found.push({ line: i + 1, code: line.trim(), use: rule.use });
  });
  return found;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (!statSync(dir).isDirectory()) return [dir];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : /\.(ts|js|mts)$/.test(name) ? [path] : [];
  });
}

describe('tidy: actors, store and protocol core do no I/O of their own', () => {
  it('flags each banned use and names the replacement', () => {
    const sample = [
      "import { readFileSync } from 'node:fs';",
      "import { Socket } from 'net';",
      'const t = Date.now();',
      'const r = Math.random();',
      'setTimeout(() => {}, 10);',
      'queueMicrotask(() => flush());',
      'process.nextTick(flush);',
      'globalThis.setTimeout(flush, 1);',
      'const id = crypto.randomUUID();',
      'const n = randomInt(10);',
      '// Date.now() in a comment is fine',
      '/* so is Math.random() here */ const ok = ctx.now();',
    ].join('\n');
    expect(findViolations(sample).map((v) => [v.line, v.use])).toEqual([
      [1, 'the Disk interface (src/disk/disk.ts), given to the code by its host'],
      [2, 'ctx.send(to, message): the transport is the host’s job'],
      [3, 'ctx.now()'],
      [4, 'ctx.random()'],
      [5, 'ctx.setTimer(delayMs, message) / ctx.cancelTimer(id)'],
      [6, 'ctx.setTimer(0, message), or do it now'],
      [7, 'ctx.setTimer(0, message), or do it now'],
      [8, 'ctx.setTimer(delayMs, message) / ctx.cancelTimer(id)'],
      [8, 'the ActorContext (nothing through globalThis)'],
      [9, 'ctx.random()'],
      [10, 'ctx.random()'],
    ]);
  });

  it('finds none under the guarded folders', () => {
    const files = guardedDirs.flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(0);
    const violations = files.flatMap((file) => findViolations(readFileSync(file, 'utf8')).map((v) => `${file}:${v.line}: ${v.code}  -> use ${v.use}`));
    expect(violations).toEqual([]);
  });
});
