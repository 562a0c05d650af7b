/**
 * `chorus client-key --config FILE.toml`: prints the cluster's client key, the credential applications
 * give `connect(addr, { clusterName, clientKey })`. It is derived one-way from the cluster secret
 * (src/transport/tcp/keys.ts), so an application holding it can use the client port and nothing else:
 * it can neither pass the peer port's handshake nor recover the secret. The file (and CHORUS_ variables)
 * are read as `chorus node` reads them; the secret itself is never printed.
 *
 * Exit status: 0 with the key on standard output; 2 for a configuration error.
 */
import { tcpSecretBytesMin } from '../limits.js';
import { clientKeyFor, clientNameProblem } from '../transport/tcp/keys.js';
import { ConfigError, loadConfig } from './config.js';
import { configArg } from './node-command.js';

export const clientKeyUsage = `Usage: chorus client-key --config FILE.toml [--name NAME]

Prints the cluster's client key (64 hex digits): what applications pass to chorusdb/client's
connect(addr, { clusterName, clientKey }). It admits to the nodes' client ports only; give it to
applications instead of the cluster secret. With --name, the key of client NAME (1 to 64 of
A-Z a-z 0-9 . _ -), which that application passes with connect's clientName: NAME; a node refuses
it once client.revoked names NAME, and every other key still works. FILE is a node's file
(CHORUS_ variables apply, as for chorus node). See docs/client.md.`;

export function runClientKeyCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>, stdout: (line: string) => void, stderr: (line: string) => void): number {
  const file = configArg(args);
  if (file === undefined) {
    stderr(`chorus client-key: --config FILE.toml is required\n\n${clientKeyUsage}`);
    return 2;
  }
  let secret: string | Uint8Array;
  try {
    secret = loadConfig(file, env).params.tcp.secret;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    stderr(`chorus client-key: ${error.message}`);
    return 2;
  }
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret) : secret.byteLength;
  if (bytes < tcpSecretBytesMin) {
    stderr(`chorus client-key: ${file}: tcp.secret must hold at least ${tcpSecretBytesMin} bytes (got ${bytes})`);
    return 2;
  }
  const at = args.indexOf('--name');
  const name = at >= 0 ? args[at + 1] : args.find((a) => a.startsWith('--name='))?.slice('--name='.length);
  const problem = name === undefined ? undefined : clientNameProblem(name);
  if (problem !== undefined) {
    stderr(`chorus client-key: --name must be ${problem}`);
    return 2;
  }
  stdout(clientKeyFor(secret, name));
  return 0;
}
