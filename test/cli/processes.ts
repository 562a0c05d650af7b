/**
 * Node processes for the command-line tests: spawn `chorus node` / `chorus arbiter` from the built
 * bin, read their JSON log lines as they come, wait for a line by content (deadline-bounded: the
 * bound fails a test that hangs, it never measures), stop them by signal, and make sure none is
 * left behind (`killAll` in afterEach).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The secret every test cluster shares (in secret.txt beside the files). */
export const clusterSecret = 'a cluster secret of more than sixteen bytes';

export const bin = fileURLToPath(new URL('../../dist/src/cli/chorus.js', import.meta.url));

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly node: string;
  readonly [key: string]: unknown;
}

export class NodeProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | string>;
  private waiters: (() => void)[] = [];

  constructor(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    this.child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const part of parts) if (part.trim() !== '') this.lines.push(JSON.parse(part) as LogLine);
      this.wake();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => {
      this.wake();
      resolve(code ?? signal ?? 'unknown');
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line `match` accepts, once it is there; fails after `timeoutMs` or if the process exits first. */
  async line(match: (line: LogLine) => boolean, what: string, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (!this.running) throw new Error(`process exited before: ${what}\nstderr: ${this.stderr}\nlast lines: ${this.lines.slice(-5).map((l) => l.msg).join(' | ')}`);
      if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Resolves with the exit code (or the signal's name). */
  exit(): Promise<number | string> {
    return this.exited;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

const started: NodeProcess[] = [];

export function startProcess(args: readonly string[], env?: Readonly<Record<string, string>>): NodeProcess {
  const p = new NodeProcess(args, env);
  started.push(p);
  return p;
}

/** SIGKILLs every process a test started that is still running, and waits for each to be gone. */
export async function killAll(): Promise<void> {
  const all = started.splice(0);
  for (const p of all) p.signal('SIGKILL');
  await Promise.all(all.map((p) => p.exit()));
}

export interface ClusterFiles {
  readonly dir: string;
  readonly files: string[];
  readonly addrs: string[];
  readonly admins: string[];
}

/** One TOML file per node for a cluster on the given ports; `arbiters` are node indexes marked arbiter. */
export function clusterFiles(ports: readonly number[], adminPorts: readonly number[], options: { arbiters?: readonly number[]; extra?: string } = {}): ClusterFiles {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-cli-'));
  const addrs = ports.map((p) => `127.0.0.1:${p}`);
  const admins = adminPorts.map((p) => `127.0.0.1:${p}`);
  const nodes = addrs.map((addr, i) => `[[nodes]]\naddr = "${addr}"\n${options.arbiters?.includes(i) ? 'arbiter = true\n' : ''}`).join('');
  const files = addrs.map((_, i) => {
    const file = join(dir, `node${i}.toml`);
    writeFileSync(file, `# node ${i}
nodeId = ${i}
dataDir = "data${i}"
${options.extra ?? ''}
${nodes}
[tcp]
clusterName = "cli-test"
secretFile = "secret.txt"
connectIntervalMs = 100

[admin]
listen = "${admins[i]}"

[client]
listen = "127.0.0.1:0"

[[schema.tables]]
name = "kv"
primaryKey = ["k"]
fields = [{ name = "k", type = "int32" }, { name = "v", type = "string" }]
`);
    return file;
  });
  writeFileSync(join(dir, 'secret.txt'), `${clusterSecret}\n`);
  return { dir, files, addrs, admins };
}
