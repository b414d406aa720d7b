import { join } from 'node:path';
import yargs from 'yargs';
import { ExitCode, PandaError, exitCodeFor, isPandaError } from '@panda-secrets/protocol';
import type { ClientOptions } from '@panda-secrets/client';
import { resolveClientOptions, type ConnectionSource } from '@panda-secrets/client';
import { CREDENTIAL_ENV } from './credentials.js';
import type { PilotClient, PilotOptions } from './pilot.js';

/** Everything panda-pilot takes from its process. */
export interface ProgramDeps extends ConnectionSource {
  createClient(options: ClientOptions): Promise<PilotClient>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on SIGTERM or SIGINT, with the signal's name as reason. */
  signal: AbortSignal;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): Date;
  tmpdir: string;
}

const EPILOGUE = [
  'Runs the jobs of panda-server: each acquire sends a fresh public key, the job\'s secrets arrive sealed',
  'to it and reach the payload (bash -c CMD) as environment variables and 0600 files in its working',
  'directory; its output is masked before it leaves the node.',
  'Environment: PANDA_URL_SSL (server), PANDA_AUTH_ID_TOKEN (the token), OIDC_AUTH_TOKEN_FILE (a file',
  'holding it), PANDA_AUTH_VO (VO); the payload sees none of the token variables.',
  'Exit codes: 0 ok, 1 error or a job killed because the pilot was stopped, 2 usage, 4 authentication.',
].join('\n');

interface ParsedArgs {
  server?: string;
  tokenFile?: string;
  vo?: string;
  options: PilotOptions;
}

function positive(name: string, value: unknown, integer: boolean): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw new PandaError('USAGE', `--${name} must be a positive ${integer ? 'whole number' : 'number'}, not "${String(value)}"`);
  }
  return number;
}

/** Parses the command line; `undefined` with the text for --help and --version. */
async function parseArgs(args: string[], deps: ProgramDeps, version: string): Promise<ParsedArgs | { output: string }> {
  const parser = yargs()
    .scriptName('panda-pilot')
    .usage('$0 --server URL --token-file FILE [options]')
    .locale('en')
    .exitProcess(false)
    .strict()
    .wrap(110)
    .option('server', { type: 'string', requiresArg: true, describe: 'panda-server URL (else PANDA_URL_SSL, else http://127.0.0.1:25080)' })
    .option('token-file', { type: 'string', requiresArg: true, describe: 'file holding the pilot token (else PANDA_AUTH_ID_TOKEN, else OIDC_AUTH_TOKEN_FILE)' })
    .option('vo', { type: 'string', requiresArg: true, describe: 'VO, sent as Origin (else PANDA_AUTH_VO)' })
    .option('once', { type: 'boolean', default: false, describe: 'run at most one job: take one if queued, then exit' })
    .option('max-jobs', { type: 'number', requiresArg: true, describe: 'exit after running this many jobs' })
    .option('exit-when-idle', { type: 'boolean', default: false, describe: 'exit as soon as no job is queued instead of polling' })
    .option('workdir', { type: 'string', requiresArg: true, describe: 'where job working directories are made', default: join(deps.tmpdir, 'panda-pilot') })
    .option('poll', { type: 'number', requiresArg: true, default: 5, describe: 'seconds between polls while no job is queued' })
    .option('keep-workdir', { type: 'boolean', default: false, describe: 'keep each job\'s working directory (its secret files are always removed)' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'log each poll; stack traces of errors' })
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
  const text = (value: unknown): string | undefined => (value === undefined ? undefined : String(value));
  const maxJobs = argv.maxJobs === undefined ? undefined : positive('max-jobs', argv.maxJobs, true);
  const server = text(argv.server);
  const tokenFile = text(argv.tokenFile);
  const vo = text(argv.vo);
  return {
    ...(server === undefined ? {} : { server }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(vo === undefined ? {} : { vo }),
    options: {
      workdir: String(argv.workdir),
      pollSeconds: positive('poll', argv.poll, false),
      once: argv.once === true,
      ...(maxJobs === undefined ? {} : { maxJobs }),
      exitWhenIdle: argv.exitWhenIdle === true,
      keepWorkdir: argv.keepWorkdir === true,
      verbose: argv.verbose === true,
    },
  };
}

/** The payload's environment: the pilot's own without the variables that carry its credentials. */
export function payloadEnvironment(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const payloadEnv: NodeJS.ProcessEnv = { ...env };
  for (const name of CREDENTIAL_ENV) delete payloadEnv[name];
  return payloadEnv;
}

/**
 * Runs panda-pilot with the given arguments and returns its exit code: the one place errors
 * become exit codes and `panda-pilot: <message>` lines.
 */
export async function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  const log = (line: string): void => {
    deps.stderr.write(`${deps.now().toISOString()} panda-pilot: ${line}\n`);
  };
  let verbose = args.includes('--verbose') || args.includes('-v');
  try {
    const parsed = await parseArgs(args, deps, version);
    if ('output' in parsed) {
      deps.stdout.write(`${parsed.output}\n`);
      return ExitCode.OK;
    }
    verbose = parsed.options.verbose;
    const client = await deps.createClient(await resolveClientOptions(deps, parsed, 'pilot'));
    const { runPilot } = await import('./pilot.js');
    const summary = await runPilot(
      { client, log, payloadEnv: payloadEnvironment(deps.env), signal: deps.signal, sleep: deps.sleep },
      parsed.options,
    );
    if (deps.signal.aborted) log(`stopped by ${String(deps.signal.reason)} after ${summary.jobs} job(s)`);
    return summary.interruptedJob ? ExitCode.ERROR : ExitCode.OK;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const stack = verbose && error instanceof Error ? `${error.stack ?? ''}\n` : '';
    deps.stderr.write(`panda-pilot: ${message}\n${stack}`);
    if (isPandaError(error) && error.code === 'USAGE') deps.stderr.write('Run "panda-pilot --help" for the options.\n');
    return isPandaError(error) ? exitCodeFor(error.code) : ExitCode.ERROR;
  }
}
