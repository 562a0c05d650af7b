/**
 * A cluster of `chorus node` processes on loopback, for the demo, the benchmark and the chaos test: it
 * writes each node's TOML file, starts and restarts the processes, reads their JSON log lines, and
 * stops or kills them. Every process it starts is killed by `killAll` (and on this process's exit), so
 * none is left behind.
 *
 * Bounded: each process keeps its last localLogLinesMax log lines; waits have deadlines.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localLogLinesMax } from '../limits.js';

/** The built `chorus` bin beside this module (from a TypeScript source, as tests load it: the one under dist/). */
function defaultBin(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? fileURLToPath(new URL('../../dist/src/cli/chorus.js', import.meta.url)) : fileURLToPath(new URL('./chorus.js', import.meta.url));
}

/** Loopback ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** One `chorus node` process and its log. */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;
  private readonly lines: LogLine[] = [];
  private readonly matchers = new Set<(line: LogLine) => void>();
  stderr = '';

  /** `execArgv`: node's own flags, before the bin (`--import` a preload, for the chaos test's power cuts). */
  constructor(args: readonly string[], env: Readonly<Record<string, string>>, execArgv: readonly string[] = []) {
    this.child = spawn(process.execPath, [...execArgv, defaultBin(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const part of parts) this.onLine(part);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-64 * 1024)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line (kept, or to come) that `match` accepts; rejects after `timeoutMs` or if the process exits first. */
  line(match: (line: LogLine) => boolean, what: string, timeoutMs: number): Promise<LogLine> {
    const kept = this.lines.find(match);
    if (kept !== undefined) return Promise.resolve(kept);
    return new Promise((resolve, reject) => {
      const done = (error: Error | undefined, line?: LogLine) => {
        clearTimeout(timer);
        this.matchers.delete(matcher);
        if (error === undefined) resolve(line!);
        else reject(error);
      };
      const matcher = (line: LogLine) => {
        if (match(line)) done(undefined, line);
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)), timeoutMs);
      this.matchers.add(matcher);
      void this.exited.then((code) => done(new Error(`the process exited (${code}) before: ${what}\n${this.stderr}`)));
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  private onLine(text: string): void {
    if (text.trim() === '') return;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 30, msg: text };
    }
    this.lines.push(line);
    if (this.lines.length > localLogLinesMax) this.lines.shift();
    for (const matcher of [...this.matchers]) matcher(line);
  }
}

export interface LocalClusterOptions {
  readonly size: number;
  /** Files and data directories go here. */
  readonly dir: string;
  readonly clusterName: string;
  readonly secret: string;
  /** Extra top-level TOML for every node (tickMs, host, [window], ...). */
  readonly toml?: string;
  /** Give each node a dataDir (default true): its Raft journal is fsynced before it answers. */
  readonly durable?: boolean;
  /** Where node `from` dials node `to`, when not at its address (a relay); undefined: its address. */
  readonly dial?: (from: number, to: number, addrs: readonly string[]) => string | undefined;
  /** Node's own flags for node `i`'s process (before the bin), and extra environment for it. */
  readonly nodeExecArgv?: (i: number) => readonly string[];
  readonly nodeEnv?: (i: number) => Readonly<Record<string, string>>;
}

/** Ports, files and processes of a loopback cluster. */
export class LocalCluster {
  readonly processes: (NodeProcess | undefined)[];
  private readonly started: NodeProcess[] = [];

  private constructor(
    readonly addrs: readonly string[],
    readonly clientAddrs: readonly string[],
    readonly adminAddrs: readonly string[],
    readonly files: readonly string[],
    private readonly options: LocalClusterOptions,
  ) {
    this.processes = addrs.map(() => undefined);
    process.once('exit', () => this.killAllNow());
  }

  static async create(options: LocalClusterOptions): Promise<LocalCluster> {
    const ports = await freePorts(options.size * 3);
    const at = (i: number) => `127.0.0.1:${ports[i]}`;
    const addrs = Array.from({ length: options.size }, (_, i) => at(i));
    const clientAddrs = Array.from({ length: options.size }, (_, i) => at(options.size + i));
    const adminAddrs = Array.from({ length: options.size }, (_, i) => at(2 * options.size + i));
    mkdirSync(options.dir, { recursive: true });
    writeFileSync(join(options.dir, 'secret.txt'), `${options.secret}\n`, { mode: 0o600 });
    const files = addrs.map((_, i) => {
      const file = join(options.dir, `node${i + 1}.toml`);
      writeFileSync(file, nodeToml(i, addrs, clientAddrs[i]!, adminAddrs[i]!, options));
      return file;
    });
    return new LocalCluster(addrs, clientAddrs, adminAddrs, files, options);
  }

  /** Starts (or restarts) node `i` and resolves once it logged that it is ready. */
  async start(i: number, readyTimeoutMs: number): Promise<NodeProcess> {
    const p = new NodeProcess(['node', '--config', this.files[i]!], this.options.nodeEnv?.(i) ?? {}, this.options.nodeExecArgv?.(i) ?? []);
    this.processes[i] = p;
    this.started.push(p);
    await p.line((l) => l.msg === 'node ready', `node ${i + 1} ready`, readyTimeoutMs);
    return p;
  }

  /** Sends `signal` to node `i` and resolves with its exit code (or signal name). */
  async stop(i: number, signal: NodeJS.Signals): Promise<number | string> {
    const p = this.processes[i];
    if (p === undefined) return 'not running';
    p.signal(signal);
    const code = await p.exited;
    this.processes[i] = undefined;
    return code;
  }

  /** Node `i`'s data directory (when durable). */
  dataDir(i: number): string {
    return join(this.options.dir, `data${i + 1}`);
  }

  /** SIGKILLs every process this cluster started that still runs, and waits until each is gone. */
  async killAll(): Promise<void> {
    this.killAllNow();
    await Promise.all(this.started.map((p) => p.exited));
    this.processes.fill(undefined);
  }

  private killAllNow(): void {
    for (const p of this.started) p.signal('SIGKILL');
  }
}

function nodeToml(i: number, addrs: readonly string[], client: string, admin: string, options: LocalClusterOptions): string {
  const dial = addrs.map((addr, j) => (j === i ? undefined : [addr, options.dial?.(i, j, addrs)] as const)).filter((d): d is readonly [string, string] => d?.[1] !== undefined);
  return `# node ${i + 1} of a local cluster (chorus LocalCluster)
nodeId = ${i}
${options.durable === false ? '' : `dataDir = "data${i + 1}"`}
${options.toml ?? ''}

${addrs.map((addr) => `[[nodes]]\naddr = "${addr}"\n`).join('')}
[tcp]
clusterName = "${options.clusterName}"
secretFile = "secret.txt"
connectIntervalMs = 100
${dial.length === 0 ? '' : `\n[tcp.dial]\n${dial.map(([addr, via]) => `"${addr}" = "${via}"`).join('\n')}\n`}
[client]
listen = "${client}"

[admin]
listen = "${admin}"

[[schema.tables]]
name = "kv"
primaryKey = ["k"]
fields = [{ name = "k", type = "int32" }, { name = "v", type = "string" }]
`;
}
