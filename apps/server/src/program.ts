import { runProgram } from '@panda-secrets/cli-kit';
import { migrateCommand } from './commands/migrate/index.js';
import { rotateKeyCommand } from './commands/rotate-key/index.js';
import { serveCommand } from './commands/serve/index.js';
import type { ServerDeps } from './commands/spec.js';
import { tokenCommand } from './commands/token/index.js';

/**
 * Runs panda-server with the given arguments and returns its exit code; runProgram turns errors
 * into exit codes and `panda-server: <message>` lines. Every option may also come from its
 * PANDA_SERVER_<OPTION> variable, each command reading those of its own options only, so a
 * deployment can set PANDA_SERVER_PORT for the server and still run `panda-server token`.
 */
export function main(args: string[], deps: ServerDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'panda-server',
    version,
    wrap: 110,
    // Each command shows its own examples; the help ends there.
    epilogue: '',
    shortHelp: false,
    envPrefix: 'PANDA_SERVER',
    options: (parser) => parser,
    global: () => ({}),
    commands: [serveCommand, tokenCommand, rotateKeyCommand, migrateCommand],
  });
}
