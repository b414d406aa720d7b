import { realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { ExitCode, PandaError } from '@panda-secrets/protocol';
import type { ClientOptions, ConnectionOptions, ConnectionSource } from '@panda-secrets/client';
import { addConnectionOptions, epilogue, readConnectionOptions, runProgram } from '@panda-secrets/cli-kit';
import type { CliDeps } from '@panda-secrets/cli-kit';
import { CREDENTIAL_ENV } from './credentials.js';
import type { LogFormat } from './logger.js';
import type { PilotClient, PilotOptions } from './pilot.js';

/** Everything panda-pilot takes from its process. */
export interface ProgramDeps extends ConnectionSource, CliDeps<ClientOptions, PilotClient> {
  /** Aborted on any of STOP_SIGNALS, with the signal's name as reason. */
  signal: AbortSignal;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  now(): Date;
  tmpdir: string;
  /** The pilot's own uid: --run-as needs root. */
  uid: number;
}

const EPILOGUE = epilogue({
  about: [
    "Runs the jobs of panda-server: each acquire sends a fresh public key, the job's secrets arrive sealed",
    'to it and reach the payload (bash -c CMD) as environment variables and 0600 files in its working',
    'directory; its output is masked before it leaves the node.',
  ],
  environmentEnd: '; the payload sees none of the token variables.',
  exitCodes: [
    'Exit codes: 0 ok, 1 error or a job handed back because the pilot was stopped, 2 usage, 4 authentication.',
  ],
});

/**
 * The signals that stop the pilot in order: a running job is killed, its secrets removed, and it is
 * handed back to the queue (a new attempt) before the pilot exits. Their default actions would end the pilot at once and
 * leave the payload running with its secret files on disk (SIGUSR1 would open Node's inspector).
 */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU'] as const;

/** The choices of --log-format; logger.ts (and pino) load only once the pilot runs. */
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** What a payload without --run-as can still do, though its job's mount namespace hides the pilot's token file. */
const SHARED_USER_WARNING = {
  root: 'payloads run as root: they could undo the mount that hides the token file from them; use --run-as USER',
  user: "payloads run as this pilot's own user: they cannot read its token file but can change what that user owns; run as root with --run-as USER",
};

interface ParsedArgs {
  connection: ConnectionOptions;
  logFormat: LogFormat;
  options: Omit<PilotOptions, 'runAs'>;
  /** The --run-as user as given, resolved when the pilot starts. */
  runAs?: string;
}

function positive(name: string, value: unknown, integer: boolean): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (integer && !Number.isInteger(number))) {
    throw new PandaError(
      'USAGE',
      `--${name} must be a positive ${integer ? 'whole number' : 'number'}, not "${String(value)}"`,
    );
  }
  return number;
}

function declareOptions(parser: Argv, tmpdir: string): Argv {
  return addConnectionOptions(parser, { role: 'pilot' })
    .option('once', { type: 'boolean', default: false, describe: 'run at most one job: take one if queued, then exit' })
    .option('max-jobs', { type: 'number', requiresArg: true, describe: 'exit after running this many jobs' })
    .option('exit-when-idle', {
      type: 'boolean',
      default: false,
      describe: 'exit as soon as no job is queued instead of polling',
    })
    .option('workdir', {
      type: 'string',
      requiresArg: true,
      describe: 'where job working directories are made',
      default: join(tmpdir, 'panda-pilot'),
    })
    .option('poll', {
      type: 'number',
      requiresArg: true,
      default: 5,
      describe: 'seconds between polls while no job is queued',
    })
    .option('keep-workdir', {
      type: 'boolean',
      default: false,
      describe: "keep each job's working directory (its secret files are always removed)",
    })
    .option('run-as', {
      type: 'string',
      requiresArg: true,
      describe: 'run payloads as this user, a name or uid (the pilot must be root)',
    })
    .option('log-format', {
      choices: LOG_FORMATS,
      default: 'text',
      requiresArg: true,
      describe: "the pilot's log on stderr: text lines, or JSON lines (pino's, with pid and hostname)",
    })
    .option('verbose', {
      alias: 'v',
      type: 'boolean',
      default: false,
      describe: 'log each poll; stack traces of errors',
    });
}

/** Checks what yargs cannot and builds the pilot's options. */
function readArgs(argv: Record<string, unknown>, uid: number): ParsedArgs {
  const maxJobs = argv.maxJobs === undefined ? undefined : positive('max-jobs', argv.maxJobs, true);
  const runAs = argv.runAs === undefined ? undefined : String(argv.runAs);
  if (runAs !== undefined && uid !== 0) {
    throw new PandaError(
      'USAGE',
      `--run-as needs panda-pilot to run as root (it runs as uid ${uid}): only root can start a payload as another user`,
    );
  }
  return {
    runAs,
    connection: readConnectionOptions(argv),
    logFormat: argv.logFormat as LogFormat,
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

/** The file `path` names, symbolic links resolved, so that a payload finds it hidden by whichever path it reads it. */
async function realFile(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

/** The payload's environment: the pilot's own without the variables that carry its credentials. */
export function payloadEnvironment(env: Readonly<Record<string, string | undefined>>): NodeJS.ProcessEnv {
  const payloadEnv: NodeJS.ProcessEnv = { ...env };
  for (const name of CREDENTIAL_ENV) delete payloadEnv[name];
  return payloadEnv;
}

/**
 * Runs panda-pilot with the given arguments and returns its exit code; runProgram turns errors
 * into exit codes and `panda-pilot: <message>` lines.
 */
export async function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'panda-pilot',
    version,
    usage: '$0 --server URL --token-file FILE [options]',
    wrap: 110,
    epilogue: EPILOGUE,
    examples: [
      ['$0 --token-file ~/.pilot-token', 'poll for jobs and run them until stopped'],
      ['$0 --token-file ~/.pilot-token --once', 'run one queued job, if there is one, and exit'],
      [
        '$0 --token-file /etc/panda/pilot-token --run-as nobody --exit-when-idle',
        'as root: run payloads as nobody until the queue is empty',
      ],
      ['$0 completion bash >> ~/.bashrc', 'Tab completion of the options in bash (or zsh)'],
    ],
    options: (parser) => declareOptions(parser, deps.tmpdir),
    read: (argv) => readArgs(argv, deps.uid),
    run: async (parsed) => {
      // pino loads only here, never for --help or a usage error.
      const { createPilotLog } = await import('./logger.js');
      const { log, jobLog } = createPilotLog({ stream: deps.stderr, now: deps.now, format: parsed.logFormat });
      if (parsed.runAs === undefined) log.warn(SHARED_USER_WARNING[deps.uid === 0 ? 'root' : 'user']);
      const runAs =
        parsed.runAs === undefined ? undefined : await (await import('./users.js')).lookupUser(parsed.runAs);
      // The client package (and got) load only here, never for --help or a usage error.
      const { resolveClientOptions, tokenFileOf } = await import('@panda-secrets/client');
      const clientOptions = await resolveClientOptions(deps, parsed.connection, 'pilot');
      const tokenFile = tokenFileOf(deps, parsed.connection);
      const { tokenReader } = await import('./token.js');
      const client = await deps.createClient(
        tokenFile === undefined || clientOptions.token === undefined
          ? clientOptions
          : {
              ...clientOptions,
              tokenSource: tokenReader({ readFile: deps.readFile, now: deps.now, log }, tokenFile, clientOptions.token),
            },
      );
      const { runPilot } = await import('./pilot.js');
      const summary = await runPilot(
        { client, log, jobLog, payloadEnv: payloadEnvironment(deps.env), signal: deps.signal, sleep: deps.sleep },
        {
          ...parsed.options,
          runAs,
          ...(tokenFile === undefined ? {} : { hiddenFiles: [await realFile(tokenFile.path)] }),
        },
      );
      if (deps.signal.aborted) log.info(`stopped by ${String(deps.signal.reason)} after ${summary.jobs} job(s)`);
      return summary.interruptedJob ? ExitCode.ERROR : ExitCode.OK;
    },
  });
}
