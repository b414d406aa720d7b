import { join } from 'node:path';
import type { Argv } from 'yargs';
import { PandaError } from '@panda-secrets/protocol';
import type { ClientOptions, ConnectionSource } from '@panda-secrets/client';
import {
  type CliDeps,
  type ClientDeps,
  type CommandSpec,
  addConnectionOptions,
  addVerboseOption,
  epilogue,
  optionalString,
  readConnectionOptions,
  runProgram,
} from '@panda-secrets/cli-kit';
import type { LogFormat } from './logger.js';
import type { PilotClient } from './pilot.js';
import type { PilotCommandOptions, PilotGlobal } from './start-pilot.js';

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

/** What the pilot's command runs with: the process' deps and its client, made on first use. */
export type Deps = ProgramDeps & ClientDeps<PilotClient>;

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
  const declared = addConnectionOptions(parser, { role: 'pilot' })
    .option('once', { type: 'boolean', default: false, describe: 'run at most one job: take one if queued, then exit' })
    .option('max-jobs', { type: 'number', requiresArg: true, describe: 'exit after running this many jobs' })
    .option('parallel', {
      type: 'number',
      requiresArg: true,
      default: 1,
      describe: `run up to N jobs at once (1 to ${MAX_PARALLEL}), each acquire asking for the free slots`,
    })
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
      describe:
        'seconds between polls while no job is queued, and between checks that a silent running job was not killed',
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
    });
  return addVerboseOption(declared, { describe: 'log each poll; stack traces of errors' });
}

/** The most jobs one pilot runs at once: each is a few processes and a masker in the pilot's memory. */
const MAX_PARALLEL = 64;

function parallelJobs(value: unknown): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > MAX_PARALLEL) {
    throw new PandaError(
      'USAGE',
      `--parallel must be a whole number from 1 to ${MAX_PARALLEL}, not "${String(value)}"`,
    );
  }
  return number;
}

/** Checks what yargs cannot and builds the pilot's options. */
function readOptions(argv: Record<string, unknown>, uid: number): PilotCommandOptions {
  const maxJobs = argv.maxJobs === undefined ? undefined : positive('max-jobs', argv.maxJobs, true);
  const runAs = optionalString(argv.runAs);
  if (runAs !== undefined && uid !== 0) {
    throw new PandaError(
      'USAGE',
      `--run-as needs panda-pilot to run as root (it runs as uid ${uid}): only root can start a payload as another user`,
    );
  }
  return {
    ...(runAs === undefined ? {} : { runAs }),
    options: {
      workdir: String(argv.workdir),
      pollSeconds: positive('poll', argv.poll, false),
      once: argv.once === true,
      ...(maxJobs === undefined ? {} : { maxJobs }),
      parallel: parallelJobs(argv.parallel),
      exitWhenIdle: argv.exitWhenIdle === true,
      keepWorkdir: argv.keepWorkdir === true,
      verbose: argv.verbose === true,
    },
  };
}

/**
 * panda-pilot is one command, whose options depend on facts of its process: the default work
 * directory is under its temporary directory, and only root may use --run-as.
 */
function pilotCommand(facts: Pick<ProgramDeps, 'tmpdir' | 'uid'>): CommandSpec<Deps, PilotGlobal, PilotCommandOptions> {
  return {
    command: '$0',
    describe: "Run panda-server's jobs with their secrets",
    builder: (parser) => declareOptions(parser, facts.tmpdir),
    options: (argv) => readOptions(argv, facts.uid),
    examples: [
      ['$0 --token-file ~/.pilot-token', 'poll for jobs and run them until stopped'],
      ['$0 --token-file ~/.pilot-token --once', 'run one queued job, if there is one, and exit'],
      ['$0 --token-file ~/.pilot-token --parallel 4', 'run up to four jobs at once'],
      [
        '$0 --token-file /etc/panda/pilot-token --run-as nobody --exit-when-idle',
        'as root: run payloads as nobody until the queue is empty',
      ],
      ['$0 completion bash >> ~/.bashrc', 'Tab completion of the options in bash (or zsh)'],
    ],
    load: async () => (await import('./start-pilot.js')).startPilot,
  };
}

/**
 * Runs panda-pilot with the given arguments and returns its exit code; runProgram turns errors
 * into exit codes and `panda-pilot: <message>` lines.
 */
export function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'panda-pilot',
    version,
    usage: '$0 --server URL --token-file FILE [options]',
    wrap: 110,
    epilogue: EPILOGUE,
    options: (parser) => parser,
    commands: [pilotCommand(deps)],
    global: (argv) => ({ connection: readConnectionOptions(argv), logFormat: argv.logFormat as LogFormat }),
    // Its run module makes the client, so that the client package (and got) load only then.
    connect: async (connecting, global) => (await import('./start-pilot.js')).connect(connecting, global),
  });
}
