/**
 * The node's configuration file (`chorus node --config FILE.toml`): the parameters of `openNode` in
 * TOML, plus what only a process has (its admin and client ports, its log level). Read once, checked
 * here for shape (unknown keys, types) with errors that name the file and the key; the values' ranges
 * are checked by `openNode` itself, whose errors name the key too.
 *
 * Environment variables override scalar keys: `CHORUS_` and the key's path in upper snake case,
 * `tcp.connectTimeoutMs` as `CHORUS_TCP_CONNECT_TIMEOUT_MS`, `nodeId` as `CHORUS_NODE_ID` (see
 * `envName`). Every CHORUS_ variable names a key: an unknown one is refused, naming it (a mistyped
 * override silently ignored would leave the file's value in force). `CHORUS_TCP_SECRET` or
 * `CHORUS_TCP_SECRET_FILE` replaces the file's secret, whichever way the file gives it. Lists (`nodes`, `schema`) come from the file only. Relative paths (dataDir, sslParams
 * files, tcp.secretFile) are relative to the file's directory (to the working directory when they
 * come from the environment). The secret is never put into an error.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import type { NodeParams } from '../node/params.js';
import type { TcpNodeParams } from '../node/tcp.js';
import type { SchemaDef } from '../store/schema.js';
import { configBytesMax } from '../limits.js';
import { clientNameProblem } from '../transport/tcp/keys.js';

type Kind = 'string' | 'integer' | 'boolean' | 'path' | 'secret' | 'map' | readonly string[];

/** Every scalar key a file may hold, by dotted path, with its kind. */
const scalars: Readonly<Record<string, Kind>> = {
  nodeId: 'integer', host: ['thread', 'inline'], dataDir: 'path', writeTimeoutMs: 'integer', tickMs: 'integer', actorHeapMb: 'integer',
  electionTicks: 'integer', heartbeatTicks: 'integer', transLogLength: 'integer', transLogSize: 'integer', syncMsgObjects: 'integer', syncMsgSize: 'integer',
  clusterSendBuf: 'integer',
  clusterRecvBuf: 'integer',
  'window.length': 'integer', 'window.bsize': 'integer', 'window.timeoutMs': 'integer',
  'tcp.clusterName': 'string', 'tcp.secret': 'secret', 'tcp.secretFile': 'path', 'tcp.listen': 'string', 'tcp.dial': 'map',
  'tcp.connectTimeoutMs': 'integer', 'tcp.connectIntervalMs': 'integer', 'tcp.socketSendBuf': 'integer', 'tcp.socketRecvBuf': 'integer',
  'tcp.socketDomain': ['ipv4', 'ipv6'], 'tcp.keepAliveTimeMs': 'integer', 'tcp.keepAliveProbes': 'integer',
  'tcp.frameBytesMax': 'integer', 'tcp.outgoingBytesMax': 'integer',
  'tcp.sslParams.certFile': 'path', 'tcp.sslParams.keyFile': 'path', 'tcp.sslParams.caFile': 'path', 'tcp.sslParams.ciphers': 'string',
  'tcp.sslParams.verifyMode': ['peer', 'none'], 'tcp.sslParams.verifyDepth': 'integer',
  'admin.listen': 'string', 'client.listen': 'string', 'client.queuedAnswerBytesMax': 'integer', 'client.revoked': 'string',
  'log.level': ['debug', 'info', 'warn', 'error'],
  // modeMask.startDetached is left out: a process has no way to attach() later.
  'modeMask.debugOutput': 'boolean', 'modeMask.earlyDataSend': 'boolean', 'modeMask.binaryEvolution': 'boolean',
};
const tables = new Set(['window', 'tcp', 'tcp.sslParams', 'admin', 'client', 'log', 'modeMask']);
const nodeKeys: Readonly<Record<string, Kind>> = { addr: 'string', qrank: 'integer', arbiter: 'boolean' };

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

export interface NodeConfig {
  /** `openNode`'s parameters, `nwType: 'tcp'` (log is added by the command). */
  readonly params: NodeParams & { readonly tcp: TcpNodeParams };
  /** Where to serve /status and /metrics (HTTP), if anywhere. */
  readonly adminListen: string | undefined;
  /** Where to accept clients (chorusdb/client), if anywhere. */
  readonly clientListen: string | undefined;
  /** client.queuedAnswerBytesMax: answer bytes all clients may hold waiting (src/client/answer-budget.ts). */
  readonly clientQueuedAnswerBytesMax: number | undefined;
  /** client.revoked: client names (comma-separated in the file) whose keys the client port refuses. */
  readonly clientRevoked: readonly string[];
  readonly logLevel: LogLevelName;
  /** modeMask.debugOutput: log every cluster message (the log level is then at least debug). */
  readonly debugOutput: boolean;
}

/** A configuration problem: the message names the file (or variable) and the key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `tcp.connectTimeoutMs` -> `CHORUS_TCP_CONNECT_TIMEOUT_MS`. */
export function envName(path: string): string {
  return `CHORUS_${path.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2')).join('_').toUpperCase()}`;
}

export function loadConfig(file: string, env: Readonly<Record<string, string | undefined>> = process.env): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (Buffer.byteLength(text) > configBytesMax) throw new ConfigError(`${file}: larger than ${configBytesMax} bytes (configBytesMax)`);
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    throw new ConfigError(`${file}: not valid TOML at line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}`);
  }
  return fromDocument(doc, file, dirname(resolve(file)), env);
}

function fromDocument(doc: Record<string, unknown>, file: string, baseDir: string, env: Readonly<Record<string, string | undefined>>): NodeConfig {
  const found = new Map<string, unknown>();
  flatten(doc, '', found, file);
  checkEnvNames(env);
  // The environment overrides the file: a secret from it replaces the file's, however the file gives it.
  if (['tcp.secret', 'tcp.secretFile'].some((path) => env[envName(path)] !== undefined)) {
    found.delete('tcp.secret');
    found.delete('tcp.secretFile');
  }
  const values = new Map<string, unknown>();
  for (const [path, kind] of Object.entries(scalars)) {
    const raw = kind === 'map' ? undefined : env[envName(path)];
    if (raw !== undefined) values.set(path, checked(envName(path), fromEnv(envName(path), raw, kind), kind, process.cwd()));
    else if (found.has(path)) values.set(path, checked(`${file}: ${path}`, found.get(path), kind, baseDir));
  }
  const get = <T>(path: string) => values.get(path) as T | undefined;
  if (get('nodeId') === undefined) throw new ConfigError(`${file}: nodeId is required (this node's index in nodes), or ${envName('nodeId')}`);
  const nodes = checkNodes(doc['nodes'], file);
  const tcp = tcpParams(values, file);
  const group = (prefix: string) => {
    const entries = [...values].filter(([path]) => path.startsWith(`${prefix}.`) && !path.slice(prefix.length + 1).includes('.'));
    return entries.length === 0 ? undefined : Object.fromEntries(entries.map(([path, v]) => [path.slice(prefix.length + 1), v]));
  };
  const top = Object.fromEntries([...values].filter(([path]) => !path.includes('.')));
  const window = group('window');
  const modeMask = group('modeMask');
  const params = {
    ...top, nodes, nwType: 'tcp' as const, tcp,
    ...(doc['schema'] !== undefined ? { schema: doc['schema'] as SchemaDef } : {}),
    ...(window !== undefined ? { window } : {}),
    ...(modeMask !== undefined ? { modeMask } : {}),
  } as unknown as NodeParams & { tcp: TcpNodeParams };
  return {
    params, adminListen: get('admin.listen'), clientListen: get('client.listen'), clientQueuedAnswerBytesMax: get<number>('client.queuedAnswerBytesMax'),
    clientRevoked: revokedNames(get<string>('client.revoked'), file),
    logLevel: get<LogLevelName>('log.level') ?? 'info', debugOutput: get<boolean>('modeMask.debugOutput') ?? false,
  };
}

/** Walks the document into dotted scalar paths, refusing unknown keys and tables. */
function flatten(table: Record<string, unknown>, prefix: string, into: Map<string, unknown>, file: string): void {
  for (const [key, value] of Object.entries(table)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (prefix === '' && (key === 'nodes' || key === 'schema')) continue;
    if (scalars[path] === 'map') into.set(path, value);
    else if (tables.has(path)) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${file}: ${path} must be a table ([${path}])`);
      flatten(value as Record<string, unknown>, path, into, file);
    } else if (scalars[path] !== undefined) into.set(path, value);
    else throw new ConfigError(`${file}: unknown key ${path}${suggestion(path)}`);
  }
}

/** Every CHORUS_ variable must name a scalar key (the lists and tcp.dial come from the file only). */
function checkEnvNames(env: Readonly<Record<string, string | undefined>>): void {
  const known = Object.entries(scalars).filter(([, kind]) => kind !== 'map').map(([path]) => envName(path));
  const unknown = Object.keys(env).filter((name) => name.startsWith('CHORUS_') && env[name] !== undefined && !known.includes(name)).sort();
  if (unknown.length === 0) return;
  const hints = unknown.map((name) => `${name}${nearest(name, known, (k) => ` (did you mean ${k}?)`)}`);
  throw new ConfigError(`unknown environment variable${unknown.length > 1 ? 's' : ''} ${hints.join(', ')}: every CHORUS_ variable overrides a key of the file (docs/cli.md)`);
}

/** The known key nearest to a misspelt one (at most two edits away, case aside), as a hint. */
function suggestion(path: string): string {
  return nearest(path, Object.keys(scalars), (known) => ` (did you mean ${known}?)`);
}

function nearest(name: string, candidates: readonly string[], hint: (known: string) => string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of candidates) {
    const distance = editDistance(known.toLowerCase(), name.toLowerCase(), bestDistance);
    if (distance < bestDistance) [best, bestDistance] = [known, distance];
  }
  return best === undefined ? '' : hint(best);
}

/** Levenshtein distance, or `cap` once it is sure to be at least that. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    if (Math.min(...row) >= cap) return cap;
    previous = row;
  }
  return Math.min(previous[b.length]!, cap);
}

function fromEnv(name: string, raw: string, kind: Kind): unknown {
  if (kind === 'integer') {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
    return Number(raw.trim());
  }
  if (kind === 'boolean') {
    if (raw !== 'true' && raw !== 'false') throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(raw)}`);
    return raw === 'true';
  }
  return raw;
}

function checked(where: string, value: unknown, kind: Kind, baseDir: string): unknown {
  if (Array.isArray(kind)) {
    if (typeof value !== 'string' || !kind.includes(value)) throw new ConfigError(`${where} must be one of ${kind.map((k) => JSON.stringify(k)).join(', ')}, got ${JSON.stringify(value)}`);
    return value;
  }
  switch (kind) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new ConfigError(`${where} must be an integer, got ${JSON.stringify(value)}`);
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(value)}`);
      return value;
    case 'secret':
      if (typeof value !== 'string') throw new ConfigError(`${where} must be a string`);
      return value;
    case 'path':
      if (typeof value !== 'string' || value.length === 0) throw new ConfigError(`${where} must be a non-empty path, got ${JSON.stringify(value)}`);
      return resolve(baseDir, value);
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw new ConfigError(`${where} must be a table of "key" = "string"`);
      }
      return value;
    default:
      if (typeof value !== 'string') throw new ConfigError(`${where} must be a string, got ${JSON.stringify(value)}`);
      return value;
  }
}

function checkNodes(value: unknown, file: string): NodeParams['nodes'] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${file}: nodes is required: one [[nodes]] table per node, each with addr = "host:port"`);
  return value.map((node: unknown, i) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new ConfigError(`${file}: nodes[${i}] must be a table ([[nodes]])`);
    for (const [key, v] of Object.entries(node)) {
      const kind = nodeKeys[key];
      if (kind === undefined) throw new ConfigError(`${file}: unknown key nodes[${i}].${key} (a node has addr, qrank, arbiter)`);
      checked(`${file}: nodes[${i}].${key}`, v, kind, '');
    }
    return node as NodeParams['nodes'][number];
  });
}

function tcpParams(values: ReadonlyMap<string, unknown>, file: string): TcpNodeParams {
  const tcp: Record<string, unknown> = {};
  const ssl: Record<string, unknown> = {};
  for (const [path, value] of values) {
    if (path.startsWith('tcp.sslParams.')) ssl[path.slice('tcp.sslParams.'.length)] = value;
    else if (path.startsWith('tcp.') && path !== 'tcp.secretFile') tcp[path.slice(4)] = value;
  }
  const secretFile = values.get('tcp.secretFile') as string | undefined;
  if (secretFile !== undefined) {
    if (tcp['secret'] !== undefined) throw new ConfigError(`${file}: give tcp.secret or tcp.secretFile, not both`);
    try {
      tcp['secret'] = readFileSync(secretFile, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(`${file}: tcp.secretFile: cannot read ${JSON.stringify(secretFile)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (tcp['clusterName'] === undefined) throw new ConfigError(`${file}: tcp.clusterName is required`);
  if (tcp['secret'] === undefined) throw new ConfigError(`${file}: tcp.secret (or tcp.secretFile, or ${envName('tcp.secret')}) is required`);
  if (Object.keys(ssl).length > 0) tcp['sslParams'] = ssl;
  return tcp as unknown as TcpNodeParams;
}

/** client.revoked: "name1, name2" (each as connect's clientName), checked here so the file's key is named. */
function revokedNames(value: string | undefined, file: string): string[] {
  const names = (value ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  const problem = names.map(clientNameProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw new ConfigError(`${file}: client.revoked: a client name is ${problem}`);
  return names;
}
