import yargs from 'yargs';
import { ExitCode, PandaError, exitCodeFor, isPandaError } from '@panda-secrets/protocol';
import type { ClientOptions, ConnectionOptions, ConnectionSource } from '@panda-secrets/client';
import type { PrunClient, PrunDeps, PrunOptions } from './prun.js';

/** Everything prun takes from its process. */
export interface ProgramDeps extends ConnectionSource, Omit<PrunDeps, 'connect' | 'color'> {
  createClient(options: ClientOptions): Promise<PrunClient>;
}

const EPILOGUE = [
  'Secrets reach the job as environment variables and as files in its working directory; the job spec',
  'holds their names only. --secrets takes plain names or file names (my_secret_file.dat).',
  'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE',
  '(a file holding the token), PANDA_AUTH_VO (VO), NO_COLOR.',
  'Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5 rejected input;',
  'with --wait the jobs\' status: 0 when all finished with 0, else the first failed job\'s exit code (1 if none).',
].join('\n');

interface ParsedArgs {
  connection: ConnectionOptions;
  options: PrunOptions;
  color: boolean;
  verbose: boolean;
}

function text(value: unknown): string | undefined {
  return value === undefined ? undefined : String(value);
}

function secretNames(value: string): string[] {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new PandaError('USAGE', '--secrets needs one or more secret names, separated by commas');
  return names;
}

/** Parses the command line; `{ output }` for --help and --version. */
async function parseArgs(args: string[], version: string): Promise<ParsedArgs | { output: string }> {
  const parser = yargs()
    .scriptName('prun')
    .usage('$0 --exec "CMD" --outDS NAME [options]')
    .locale('en')
    .exitProcess(false)
    .strict()
    .wrap(110)
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'camel-case-expansion': false })
    .option('exec', { type: 'string', requiresArg: true, demandOption: true, describe: 'the payload, run as bash -c CMD in the job\'s working directory' })
    .option('outDS', { type: 'string', requiresArg: true, demandOption: true, describe: 'output dataset name' })
    .option('nJobs', { type: 'string', requiresArg: true, default: '1', describe: 'number of jobs' })
    .option('useSecrets', { type: 'boolean', default: false, describe: 'give the jobs all of your secrets' })
    .option('secrets', { type: 'string', requiresArg: true, describe: 'give the jobs only these secrets: K1,K2 (implies --useSecrets)' })
    .option('noSubmit', { type: 'boolean', default: false, describe: 'print the job spec and submit nothing' })
    .option('wait', { type: 'boolean', default: false, describe: 'follow the jobs to their end, then print their masked logs' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
    .option('server', { type: 'string', requiresArg: true, describe: 'panda-server URL (else PANDA_URL_SSL, else http://127.0.0.1:25080)' })
    .option('token-file', { type: 'string', requiresArg: true, describe: 'file holding your token (else PANDA_AUTH_ID_TOKEN, else OIDC_AUTH_TOKEN_FILE)' })
    .option('vo', { type: 'string', requiresArg: true, describe: 'your VO, sent as Origin (else PANDA_AUTH_VO)' })
    .option('color', { type: 'boolean', default: true, describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show stack traces of errors' })
    .help()
    .alias('help', 'h')
    .version(version)
    .epilogue(EPILOGUE);
  const parsed = await new Promise<{ error: Error | undefined; argv: Record<string, unknown>; output: string }>((resolve) => {
    parser.parse(args, {}, (error, argv, output) => resolve({ error: error ?? undefined, argv, output }));
  });
  if (parsed.error !== undefined) throw new PandaError('USAGE', parsed.error.message, { cause: parsed.error });
  if (parsed.output !== '') return { output: parsed.output };
  const { argv } = parsed;
  const exec = String(argv.exec);
  if (exec.trim() === '') throw new PandaError('USAGE', '--exec needs a command');
  const nJobs = Number(argv.nJobs);
  if (!/^[0-9]+$/.test(String(argv.nJobs)) || nJobs < 1) {
    throw new PandaError('USAGE', `--nJobs must be a whole number of at least 1, not "${String(argv.nJobs)}"`);
  }
  const secrets = argv.secrets === undefined ? undefined : secretNames(String(argv.secrets));
  const server = text(argv.server);
  const tokenFile = text(argv['token-file']);
  const vo = text(argv.vo);
  return {
    connection: {
      ...(server === undefined ? {} : { server }),
      ...(tokenFile === undefined ? {} : { tokenFile }),
      ...(vo === undefined ? {} : { vo }),
    },
    options: {
      exec,
      outDS: String(argv.outDS),
      nJobs,
      useSecrets: argv.useSecrets === true || secrets !== undefined,
      ...(secrets === undefined ? {} : { secrets }),
      noSubmit: argv.noSubmit === true,
      wait: argv.wait === true,
      json: argv.json === true,
    },
    color: argv.color !== false,
    verbose: argv.verbose === true,
  };
}

/**
 * Runs prun with the given arguments and returns its exit status: the one place errors become
 * exit codes and `prun: <message>` lines.
 */
export async function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  let verbose = args.includes('--verbose') || args.includes('-v');
  try {
    const parsed = await parseArgs(args, version);
    if ('output' in parsed) {
      deps.stdout.write(`${parsed.output}\n`);
      return ExitCode.OK;
    }
    verbose = parsed.verbose;
    let client: Promise<PrunClient> | undefined;
    const connect = (): Promise<PrunClient> => {
      // The client (and got) load only when prun talks to the server: --help stays fast.
      client ??= import('@panda-secrets/client')
        .then(({ resolveClientOptions }) => resolveClientOptions(deps, parsed.connection))
        .then((options) => deps.createClient(options));
      return client;
    };
    const { runPrun } = await import('./prun.js');
    return await runPrun(
      { ...deps, connect, color: parsed.color && deps.isTTY.stdout && !deps.env.NO_COLOR },
      parsed.options,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const stack = verbose && error instanceof Error ? `${error.stack ?? ''}\n` : '';
    deps.stderr.write(`prun: ${message}\n${stack}`);
    if (isPandaError(error) && error.code === 'USAGE') deps.stderr.write('Run "prun --help" for the options.\n');
    return isPandaError(error) ? exitCodeFor(error.code) : ExitCode.ERROR;
  }
}
