#!/usr/bin/env node
/**
 * The `chorus` command line: `node` and `arbiter` (a cluster node as a process), `status` (the cluster
 * as one node sees it), `demo` (what `npm start` runs: a 3-node cluster), `sim` (simulated clusters
 * under faults), `version` and `help`.
 */
import { runLocalDemo } from './demo-local.js';
import { runProcessDemo } from './demo-processes.js';
import { runRuntimeDemo } from './demo-runtime.js';
import { parseSimArgs, runSim, simUsage } from './sim.js';
import { nodeUsage, runNodeCommand } from './node-command.js';
import { runStatusCommand } from './status-command.js';
import { clientKeyUsage, runClientKeyCommand } from './client-key-command.js';
import { packageVersion } from './version.js';

const usage = `chorus — chorusdb's command line

Usage:
  chorus demo        run a 3-node cluster as processes under a write workload: kill a node, see the
                     other two keep committing, restart it, see it catch up (what npm start runs)
  chorus demo --in-process
                     the same with three nodes in this process (worker threads)
  chorus demo --runtime
                     a tour of the actor runtime: worker threads, bounded mailboxes, a replayed seed
  chorus node --config FILE.toml
                     run one cluster node over TCP until SIGINT or SIGTERM (chorus node --help)
  chorus arbiter --config FILE.toml
                     run an arbiter: a voting member with no tables
  chorus client-key --config FILE.toml [--name NAME]
                     print the cluster's client key: what applications give chorusdb/client
                     (it admits to client ports only; never give applications the cluster secret);
                     --name: the key of client NAME alone, refused where client.revoked lists NAME
  chorus status --node ADMIN_ADDR
                     print the cluster as that node sees it: role, connection, qrank, term, commit, lag
  chorus sim ...     run simulated clusters under faults from seeds and check them (chorus sim --help)
  chorus version     print the version
  chorus --help      print this help
`;

const exitGraceMs = 2_000;

/** Resolves with the first SIGINT or SIGTERM; a second one exits at once (status 130). */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    let asked = false;
    const onSignal = (signal: string) => {
      if (asked) process.exit(130);
      asked = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage);
      return 0;
    case 'version':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case 'node':
    case 'arbiter':
      if (argv.includes('--help')) {
        process.stdout.write(`${nodeUsage}\n`);
        return 0;
      }
      return runNodeCommand(command, argv.slice(1), { stderr: (line) => process.stderr.write(`${line}\n`), stopRequested: stopSignal(), env: process.env }).then((code) => {
        // Everything is closed by now and the process should end on its own; if something still holds
        // the event loop open (a bug), it exits anyway instead of hanging a service manager's stop.
        setTimeout(() => process.exit(code), exitGraceMs).unref();
        return code;
      });
    case 'client-key':
      if (argv.includes('--help')) {
        process.stdout.write(`${clientKeyUsage}\n`);
        return 0;
      }
      return runClientKeyCommand(argv.slice(1), process.env, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
    case 'status':
      return runStatusCommand(argv.slice(1), (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
    case 'demo': {
      const print = (line: string) => process.stdout.write(`${line}\n`);
      if (argv[1] === '--runtime') return runRuntimeDemo(print);
      return argv[1] === '--in-process' ? runLocalDemo(print) : runProcessDemo(print);
    }
    case 'sim': {
      if (argv.includes('--help')) {
        process.stdout.write(`${simUsage}\n`);
        return 0;
      }
      try {
        return runSim(parseSimArgs(argv.slice(1)), (line) => process.stdout.write(`${line}\n`));
      } catch (error) {
        if ((error as { code?: string }).code !== 'INVALID_ARGUMENT') throw error;
        process.stderr.write(`${(error as Error).message}\n`);
        return 2;
      }
    }
    default:
      process.stderr.write(`chorus: unknown command ${JSON.stringify(command)}\n\n${usage}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
