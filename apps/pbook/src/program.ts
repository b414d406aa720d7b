import type { Argv } from 'yargs';
import {
  EXIT_CODES_HELP,
  addColorOption,
  addConnectionOptions,
  addVerboseOption,
  epilogue,
  readConnectionOptions,
  runProgram,
  useColor,
} from '@panda-secrets/cli-kit';
import { parseWireKey } from '@panda-secrets/protocol';
import { connect } from './connect.js';
import { deleteAllSecretsCommand } from './commands/delete-all-secrets/index.js';
import { deleteSecretCommand } from './commands/delete-secret/index.js';
import { getSecretCommand } from './commands/get-secret/index.js';
import { importCommand } from './commands/import/index.js';
import { listSecretsCommand } from './commands/list-secrets/index.js';
import { loginCommand } from './commands/login/index.js';
import { logoutCommand } from './commands/logout/index.js';
import { pandaCallCommands } from './commands/panda-call/index.js';
import { taskCallCommands } from './commands/panda-call/tasks.js';
import { killTaskCommand } from './commands/kill-task/index.js';
import { logCommand } from './commands/log/index.js';
import { retryTaskCommand } from './commands/retry-task/index.js';
import { showTasksCommand } from './commands/show-tasks/index.js';
import { setSecretCommand } from './commands/set-secret/index.js';
import { shellCommand } from './commands/shell/index.js';
import { whoamiCommand } from './commands/whoami/index.js';
import type { GlobalOptions, ProgramDeps } from './deps.js';

const EPILOGUE = epilogue({
  environmentEnd: ', PANDA_CONFIG_ROOT (the saved sign-in), NO_COLOR.',
  exitCodes: [`${EXIT_CODES_HELP}, 130 Ctrl-C at a question (nothing changed).`],
});

function globalOptions(argv: Record<string, unknown>, deps: ProgramDeps): GlobalOptions {
  return {
    ...readConnectionOptions(argv),
    verbose: argv.verbose === true,
    color: useColor(argv.color !== false, deps.isTTY.stdout, deps.env),
  };
}

function declareOptions(parser: Argv): Argv {
  const configured = parser
    // Secret names and values stay the exact strings given: '007' is not the number 7. Without
    // short option groups, a mistyped '-dash' is the unknown option --dash, not -d -a -s -h
    // (which showed the help and stored nothing); -v, -c, -i, -y and -h work alone.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'short-option-groups': false });
  return addColorOption(addVerboseOption(addConnectionOptions(configured, { global: true }), { global: true }), {
    global: true,
  });
}

/** pbook's commands, in the order its help lists them. */
const COMMANDS = [
  shellCommand,
  ...pandaCallCommands,
  setSecretCommand,
  listSecretsCommand,
  deleteSecretCommand,
  deleteAllSecretsCommand,
  loginCommand,
  logoutCommand,
  whoamiCommand,
  getSecretCommand,
  importCommand,
  ...taskCallCommands,
  showTasksCommand,
  killTaskCommand,
  retryTaskCommand,
  logCommand,
];

/** The commands whose first argument is one of your secrets' names. */
const NAMED_SECRET_COMMANDS = new Set(['set-secret', 'delete-secret', 'get-secret', 'set_secret', 'delete_secret']);

/**
 * Your secrets' names that start with `current`, for Tab completion after a command that takes
 * one: only with a token at hand (else none, silently), and only names are ever printed.
 */
async function secretNames(deps: ProgramDeps, words: readonly string[], current: string): Promise<string[]> {
  const command = words.find((word) => !word.startsWith('-'));
  if (command === undefined || !NAMED_SECRET_COMMANDS.has(command) || words.indexOf(command) !== words.length - 1)
    return [];
  const flag = (name: string) => {
    const at = words.indexOf(name);
    return at === -1 ? undefined : words[at + 1];
  };
  const tokenFile = flag('--token-file');
  const server = flag('--server');
  const { resolveClientOptions } = await import('@panda-secrets/client');
  const options = await resolveClientOptions(
    { env: deps.env, readFile: (path) => deps.fs.readFile(path) },
    { ...(tokenFile === undefined ? {} : { tokenFile }), ...(server === undefined ? {} : { server }) },
  );
  // The metadata call: names without values, which a completion never needs.
  const described = await (await deps.createClient(options)).getSecretsMetadata();
  return described.map(({ key }) => parseWireKey(key).name).filter((name) => name.startsWith(current));
}

/**
 * Runs pbook with the given arguments and returns the exit code; runProgram turns errors into
 * exit codes and `pbook: <message>` lines.
 */
export function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'pbook',
    version,
    wrap: 120,
    epilogue: EPILOGUE,
    options: declareOptions,
    global: (argv) => globalOptions(argv, deps),
    commands: COMMANDS,
    connect,
    complete: (words, current) => secretNames(deps, words, current),
  });
}
