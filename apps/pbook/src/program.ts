import yargs from 'yargs';
import type { Argv } from 'yargs';
import { exitCodeFor, isPandaError } from '@panda-secrets/protocol';
import { deleteAllSecretsCommand } from './commands/delete-all-secrets/index.js';
import { deleteSecretCommand } from './commands/delete-secret/index.js';
import { listSecretsCommand } from './commands/list-secrets/index.js';
import { pandaCallCommands } from './commands/panda-call/index.js';
import { setSecretCommand } from './commands/set-secret/index.js';
import { shellCommand } from './commands/shell/index.js';
import type { CommandSpec } from './commands/spec.js';
import { optionalString } from './commands/spec.js';
import type { Deps, GlobalOptions } from './deps.js';

const EPILOGUE = [
  'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE',
  '(a file holding the token), PANDA_AUTH_VO (VO), NO_COLOR.',
  'Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5 rejected input.',
].join('\n');

function globalOptions(argv: Record<string, unknown>): GlobalOptions {
  const server = optionalString(argv.server);
  const tokenFile = optionalString(argv.tokenFile);
  const vo = optionalString(argv.vo);
  return {
    ...(server === undefined ? {} : { server }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(vo === undefined ? {} : { vo }),
    verbose: argv.verbose === true,
    color: argv.color !== false,
  };
}

/** The error's causes, for --verbose. */
function describeCauses(error: unknown): string {
  let text = '';
  for (let cause = (error as Error).cause; cause !== undefined; cause = (cause as Error).cause) {
    text += `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`;
  }
  return text;
}

/**
 * Runs pbook with the given arguments and returns the exit code. The one place errors become
 * exit codes (exitCodeFor) and `pbook: <message>` lines; stack traces only with --verbose.
 */
export async function main(args: string[], deps: Deps, version: string): Promise<number> {
  let selected: { run: () => Promise<void>; verbose: boolean } | undefined;
  const register = <T>(parser: Argv, spec: CommandSpec<T>): void => {
    parser.command({
      command: spec.command,
      describe: spec.describe,
      builder: spec.builder,
      handler: (argv) => {
        const parsed = argv as Record<string, unknown>;
        const global = globalOptions(parsed);
        const options = spec.options(parsed);
        selected = { run: async () => (await spec.load())(deps, global, options), verbose: global.verbose };
      },
    });
  };

  const parser: Argv = yargs()
    .scriptName('pbook')
    .locale('en')
    .exitProcess(false)
    .strict()
    .wrap(120)
    // Secret names and values stay the exact strings given: '007' is not the number 7.
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .option('server', { type: 'string', requiresArg: true, global: true, describe: 'panda-server URL (else PANDA_URL_SSL, else http://127.0.0.1:25080)' })
    .option('token-file', { type: 'string', requiresArg: true, global: true, describe: 'file holding your token (else PANDA_AUTH_ID_TOKEN, else OIDC_AUTH_TOKEN_FILE)' })
    .option('vo', { type: 'string', requiresArg: true, global: true, describe: 'your VO, sent as Origin (else PANDA_AUTH_VO)' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, global: true, describe: 'show stack traces of errors' })
    .option('color', { type: 'boolean', default: true, global: true, describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off' })
    .help()
    .alias('help', 'h')
    .version(version)
    .epilogue(EPILOGUE);
  // One call per command: each has its own options type. yargs registers in place.
  register(parser, shellCommand);
  for (const spec of pandaCallCommands) register(parser, spec);
  register(parser, setSecretCommand);
  register(parser, listSecretsCommand);
  register(parser, deleteSecretCommand);
  register(parser, deleteAllSecretsCommand);

  const parsed = await new Promise<{ error: Error | undefined; output: string }>((resolve) => {
    parser.parse(args, {}, (error, _argv, output) => resolve({ error: error ?? undefined, output }));
  });
  if (parsed.error !== undefined) {
    deps.stderr.write(`pbook: ${parsed.error.message}\nRun "pbook --help" for the commands and options.\n`);
    return exitCodeFor('USAGE');
  }
  if (selected === undefined) {
    // --help or --version: yargs handed back the text instead of printing it.
    deps.stdout.write(`${parsed.output}\n`);
    return 0;
  }
  try {
    await selected.run();
    return 0;
  } catch (error) {
    const verbose = selected.verbose;
    const message = error instanceof Error ? error.message : String(error);
    const stack = verbose && error instanceof Error ? `${error.stack ?? ''}\n${describeCauses(error)}` : '';
    deps.stderr.write(`pbook: ${message}\n${stack}`);
    return isPandaError(error) ? exitCodeFor(error.code) : 1;
  }
}
