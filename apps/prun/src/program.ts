import { MAX_JOBS_PER_SUBMIT, PandaError, assertDatasetName } from '@panda-secrets/protocol';
import type { ClientOptions, ConnectionOptions, ConnectionSource } from '@panda-secrets/client';
import {
  EXIT_CODES_HELP,
  addConnectionOptions,
  epilogue,
  readConnectionOptions,
  runProgram,
} from '@panda-secrets/cli-kit';
import type { CliDeps } from '@panda-secrets/cli-kit';
import type { Argv } from 'yargs';
import type { PrunClient, PrunDeps, PrunOptions } from './prun.js';

/** Everything prun takes from its process. */
export interface ProgramDeps
  extends ConnectionSource,
    CliDeps<ClientOptions, PrunClient>,
    Omit<PrunDeps, 'connect' | 'color'> {}

const EPILOGUE = epilogue({
  about: [
    'Secrets reach the job as environment variables and as files in its working directory; the job spec',
    'holds their names only. --secrets takes plain names or file names (my_secret_file.dat).',
  ],
  environmentEnd: ', PANDA_CONFIG_ROOT (the saved sign-in), NO_COLOR.',
  exitCodes: [
    `${EXIT_CODES_HELP};`,
    "with --wait the jobs' status: 0 when all finished with 0, else the first failed job's exit code (1 if none);",
    '130 when Ctrl-C stops the waiting (the task keeps running).',
  ],
});

interface ParsedArgs {
  connection: ConnectionOptions;
  options: PrunOptions;
  color: boolean;
}

function secretNames(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0)
    throw new PandaError('USAGE', '--secrets needs one or more secret names, separated by commas');
  return names;
}

function declareOptions(parser: Argv): Argv {
  const own = parser
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false, 'camel-case-expansion': false })
    .option('exec', {
      type: 'string',
      requiresArg: true,
      demandOption: true,
      describe: "the payload, run as bash -c CMD in the job's working directory",
    })
    .option('outDS', { type: 'string', requiresArg: true, demandOption: true, describe: 'output dataset name' })
    .option('nJobs', { type: 'string', requiresArg: true, default: '1', describe: 'number of jobs' })
    .option('useSecrets', { type: 'boolean', default: false, describe: 'give the jobs all of your secrets' })
    .option('secrets', {
      type: 'string',
      requiresArg: true,
      describe: 'give the jobs only these secrets: K1,K2 (implies --useSecrets)',
    })
    .option('noSubmit', { type: 'boolean', default: false, describe: 'print the job spec and submit nothing' })
    .option('wait', {
      type: 'boolean',
      default: false,
      describe: 'follow the jobs to their end, then print their masked logs',
    })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' });
  return addConnectionOptions(own)
    .option('color', {
      type: 'boolean',
      default: true,
      describe: 'colour on a terminal; --no-color (or NO_COLOR) turns it off',
    })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show stack traces of errors' });
}

/** Checks what yargs cannot and builds prun's options. */
function readArgs(argv: Record<string, unknown>): ParsedArgs {
  const exec = String(argv.exec);
  if (exec.trim() === '') throw new PandaError('USAGE', '--exec needs a command');
  const nJobs = Number(argv.nJobs);
  if (!/^[0-9]+$/.test(String(argv.nJobs)) || nJobs < 1) {
    throw new PandaError('USAGE', `--nJobs must be a whole number of at least 1, not "${String(argv.nJobs)}"`);
  }
  if (nJobs > MAX_JOBS_PER_SUBMIT) {
    throw new PandaError(
      'INVALID_INPUT',
      `--nJobs ${nJobs} is more than one submission may hold: at most ${MAX_JOBS_PER_SUBMIT} jobs (submit the rest with another prun)`,
    );
  }
  const outDS = String(argv.outDS);
  assertDatasetName(outDS);
  const secrets = argv.secrets === undefined ? undefined : secretNames(String(argv.secrets));
  return {
    connection: readConnectionOptions(argv),
    options: {
      exec,
      outDS,
      nJobs,
      useSecrets: argv.useSecrets === true || secrets !== undefined,
      ...(secrets === undefined ? {} : { secrets }),
      noSubmit: argv.noSubmit === true,
      wait: argv.wait === true,
      json: argv.json === true,
    },
    color: argv.color !== false,
  };
}

/**
 * Runs prun with the given arguments and returns its exit status; runProgram turns errors into
 * exit codes and `prun: <message>` lines.
 */
export async function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'prun',
    version,
    usage: '$0 --exec "CMD" --outDS NAME [options]',
    wrap: 110,
    epilogue: EPILOGUE,
    examples: [
      [
        '$0 --exec \'echo "$MY_SECRET" | wc -c\' --outDS user.jdoe.test --useSecrets --wait',
        'run a job with all your secrets and print its masked log',
      ],
      [
        '$0 --exec ./analysis.sh --outDS user.jdoe.run1 --secrets MY_SECRET,my_secret_file.dat --nJobs 10',
        'ten jobs with two of your secrets',
      ],
      [
        '$0 --exec true --outDS user.jdoe.test --useSecrets --noSubmit',
        'show the job spec (secret names only) and submit nothing',
      ],
      ['$0 completion bash >> ~/.bashrc', 'Tab completion of the options in bash (or zsh)'],
    ],
    options: declareOptions,
    read: readArgs,
    run: async (parsed) => {
      let client: Promise<PrunClient> | undefined;
      const connect = (): Promise<PrunClient> => {
        // The client (and got) load only when prun talks to the server: --help stays fast.
        client ??= import('@panda-secrets/client')
          .then(({ resolveClientOptions }) => resolveClientOptions(deps, parsed.connection))
          .then((options) => deps.createClient(options));
        return client;
      };
      const { runPrun } = await import('./prun.js');
      return runPrun(
        { ...deps, connect, color: parsed.color && deps.isTTY.stdout && !deps.env.NO_COLOR },
        parsed.options,
      );
    },
  });
}
