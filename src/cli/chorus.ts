#!/usr/bin/env node
/**
 * The `chorus` command line. Subcommands arrive with the features they drive; today: `demo` (what
 * `npm start` runs: a 3-node cluster), `sim` (simulated clusters under faults), `version` and `help`.
 */
import { readFileSync } from 'node:fs';
import { runLocalDemo } from './demo-local.js';
import { runRuntimeDemo } from './demo-runtime.js';
import { parseSimArgs, runSim, simUsage } from './sim.js';

const usage = `chorus — chorusdb's command line

Usage:
  chorus demo        run a 3-node cluster in this process under a write workload: stop a node, see the
                     other two keep committing, reopen it, see it catch up (what npm start runs)
  chorus demo --runtime
                     a tour of the actor runtime: worker threads, bounded mailboxes, a replayed seed
  chorus sim ...     run simulated clusters under faults from seeds and check them (chorus sim --help)
  chorus version     print the version
  chorus --help      print this help

Coming with later releases: node, arbiter, status.
`;

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
    case '--version': {
      const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    case 'demo': {
      const print = (line: string) => process.stdout.write(`${line}\n`);
      return argv[1] === '--runtime' ? runRuntimeDemo(print) : runLocalDemo(print);
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
