import type { Argv } from 'yargs';
import {
  EXIT_CODES_HELP,
  addConnectionOptions,
  epilogue,
  examplesText,
  readConnectionOptions,
  runProgram,
} from '@panda-secrets/cli-kit';
import { ExitCode, parseWireKey } from '@panda-secrets/protocol';
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
import type { CommandSpec } from './commands/spec.js';
import type { Deps, GlobalOptions } from './deps.js';

const EPILOGUE = epilogue({
  environmentEnd: ', PANDA_CONFIG_ROOT (the saved sign-in), NO_COLOR.',
  exitCodes: [`${EXIT_CODES_HELP}.`],
});

function globalOptions(argv: Record<string, unknown>): GlobalOptions {
  return { ...readConnectionOptions(argv), verbose: argv.verbose === true, color: argv.color !== false };
}

function declareOptions(parser: Argv): Argv {
  const configured = parser
    // Secret names and values stay the exact strings given: '007' is not the number 7. Without
    // short option groups, a mistyped '-dash' is the unknown option --dash, not -d -a -s -h
    // (which showed the help and stored nothing); -v, -c, -i, -y and -h work alone.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'short-option-groups': false });
  return addConnectionOptions(configured, { global: true })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      global: true,
      describe: 'show stack traces of errors',
    })
    .option('color', {
      type: 'boolean',
      default: true,
      global: true,
      describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off',
    });
}

/** The commands whose first argument is one of your secrets' names. */
const NAMED_SECRET_COMMANDS = new Set(['set-secret', 'delete-secret', 'get-secret', 'set_secret', 'delete_secret']);

/**
 * Your secrets' names that start with `current`, for Tab completion after a command that takes
 * one: only with a token at hand (else none, silently), and only names are ever printed.
 */
async function secretNames(deps: Deps, words: readonly string[], current: string): Promise<string[]> {
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
export async function main(args: string[], deps: Deps, version: string): Promise<number> {
  // yargs runs the builder of the command it chose, then, if the command line is right, its handler.
  let chosenHint: string | undefined;
  let selected: (() => Promise<void>) | undefined;
  const register = <T>(parser: Argv, spec: CommandSpec<T>): void => {
    parser.command({
      command: spec.command,
      describe: spec.describe,
      builder: (yargs) => {
        chosenHint = spec.usageHint;
        return spec.builder(yargs).epilogue(`${examplesText('pbook', spec.examples)}\n\n${EPILOGUE}`);
      },
      handler: (argv) => {
        const parsed = argv as Record<string, unknown>;
        const global = globalOptions(parsed);
        const options = spec.options(parsed);
        selected = async () => (await spec.load())(deps, global, options);
      },
    });
  };

  return runProgram(deps, args, {
    name: 'pbook',
    version,
    wrap: 120,
    // Each command, the default one too, shows its own examples above this text.
    epilogue: '',
    examples: [],
    options: declareOptions,
    commands: (parser) => {
      // One call per command: each has its own options type. yargs registers in place.
      register(parser, shellCommand);
      for (const spec of pandaCallCommands) register(parser, spec);
      register(parser, setSecretCommand);
      register(parser, listSecretsCommand);
      register(parser, deleteSecretCommand);
      register(parser, deleteAllSecretsCommand);
      register(parser, loginCommand);
      register(parser, logoutCommand);
      register(parser, whoamiCommand);
      register(parser, getSecretCommand);
      register(parser, importCommand);
      for (const spec of taskCallCommands) register(parser, spec);
      register(parser, showTasksCommand);
      register(parser, killTaskCommand);
      register(parser, retryTaskCommand);
      register(parser, logCommand);
    },
    // yargs ran the chosen command's handler while parsing. With the default command ($0) one is
    // always chosen, except for --help and --version, which never reach read.
    read: () => {
      if (selected === undefined) throw new Error('no command was chosen');
      return selected;
    },
    run: async (command) => {
      await command();
      return ExitCode.OK;
    },
    complete: (words, current) => secretNames(deps, words, current),
    // A refused command line never reaches the handler: the chosen command's own hint then applies.
    extraUsageHint: () => (selected === undefined ? chosenHint : undefined),
  });
}
