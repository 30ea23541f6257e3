// The `nova-ts` command: parses the arguments and runs a command. main.ts is the executable.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { errors, NovaError } from '../errors.js';
import { createNewApp } from './new-app.js';
import { packageVersion } from './package-source.js';
import { formatRoutes, loadRoutes } from './routes.js';

export const USAGE = `Usage: nova-ts <command> [options]

Commands:
  new <dir>              Create a new app in <dir> (a new or empty folder; its name is the app's)
  routes [module]        Print an app's route table: method, path, security, controller, plugins.
                         Module: exports an App, route groups or a routes(environment) function;
                         default: package.json's "nova": { "routes": "dist/router.js" }

Options:
  routes --json          The table as JSON
  routes --env <name>    The environment a routes function gets (default: dev)
  new --dependency <spec>  The nova-ts dependency the app gets (default: this nova-ts, by path)
  -h, --help             This help
  -v, --version          The version of nova-ts`;

/** Where the command writes; tests pass their own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  cwd: string;
}

const defaultIo: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`), cwd: process.cwd() };

/**
 * Run `nova-ts` with `argv` (without `node` and the script); resolves to the exit code: 0, 1 for
 * a failed command, 2 for a usage error.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof NovaError && err.code === errors.cliUsage.code) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof NovaError && err.code.startsWith('NOVA_ERR_CLI_')) {
      io.err(err.message);
      return 1;
    }
    io.err(`nova-ts: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

/** The command line, or NOVA_ERR_CLI_USAGE naming what parseArgs refused. */
function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        json: { type: 'boolean' },
        env: { type: 'string' },
        dependency: { type: 'string' },
      },
    });
  } catch (err) {
    throw errors.cliUsage(`nova-ts: ${(err as Error).message}`);
  }
}

async function dispatch(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseCommandLine(argv);
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version) {
    io.out(packageVersion());
    return 0;
  }
  if (values.help || command === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined) throw errors.cliUsage('nova-ts: no command given');
  const only = (allowed: string[]) => {
    const extra = Object.keys(values).filter((k) => !allowed.includes(k));
    if (extra.length > 0) throw errors.cliUsage(`nova-ts ${command}: unknown option --${extra[0]}`);
  };
  if (command === 'new') {
    only(['dependency']);
    if (rest.length !== 1) throw errors.cliUsage(`nova-ts new: give one folder (got ${rest.length === 0 ? 'none' : rest.join(' ')})`);
    const app = createNewApp(resolve(io.cwd, rest[0]!), values.dependency !== undefined ? { dependency: values.dependency } : {});
    io.out(`Created ${app.name} in ${app.dir} (nova-ts: ${app.dependency}). Next:

  cd ${rest[0]}
  npm install
  npm start      # http://localhost:8080
  npm test`);
    return 0;
  }
  if (command === 'routes') {
    only(['json', 'env']);
    if (rest.length > 1) throw errors.cliUsage(`nova-ts routes: give at most one module (got ${rest.join(' ')})`);
    const rows = await loadRoutes({ module: rest[0], cwd: io.cwd, ...(values.env !== undefined ? { environment: values.env } : {}) });
    io.out(values.json ? JSON.stringify(rows, null, 2) : formatRoutes(rows));
    return 0;
  }
  throw errors.cliUsage(`nova-ts: unknown command "${command}"`);
}
