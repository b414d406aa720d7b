import { MAX_JOBS_PER_SUBMIT, PandaError, assertDatasetName } from '@panda-secrets/protocol';
import type { ClientOptions, ConnectionSource } from '@panda-secrets/client';
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
import type { CliDeps, ClientDeps, CommandSpec } from '@panda-secrets/cli-kit';
import type { Argv } from 'yargs';
import type { PrunClient, PrunDeps, PrunGlobal, PrunOptions } from './prun.js';

/** Everything prun takes from its process. */
export interface ProgramDeps extends ConnectionSource, CliDeps<ClientOptions, PrunClient>, Omit<PrunDeps, 'client'> {}

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
  return addVerboseOption(addColorOption(addConnectionOptions(own)));
}

/** Checks what yargs cannot and builds prun's options. */
function readOptions(argv: Record<string, unknown>): PrunOptions {
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
    exec,
    outDS,
    nJobs,
    useSecrets: argv.useSecrets === true || secrets !== undefined,
    ...(secrets === undefined ? {} : { secrets }),
    noSubmit: argv.noSubmit === true,
    wait: argv.wait === true,
    json: argv.json === true,
  };
}

/** prun is one command: submitting a task. */
const prunCommand: CommandSpec<ProgramDeps & ClientDeps<PrunClient>, PrunGlobal, PrunOptions> = {
  command: '$0',
  describe: "Submit a task of jobs, giving them your secrets' names",
  builder: declareOptions,
  options: readOptions,
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
  load: async () => (await import('./prun.js')).runPrun,
};

/** prun's client: the server, token and VO of the flags or PanDA's environment, or the saved sign-in. */
async function connect(deps: ProgramDeps, global: PrunGlobal): Promise<PrunClient> {
  // The client package (and got) load only when prun talks to the server: --help stays fast.
  const { resolveClientOptions } = await import('@panda-secrets/client');
  return deps.createClient(await resolveClientOptions(deps, global.connection));
}

/**
 * Runs prun with the given arguments and returns its exit status; runProgram turns errors into
 * exit codes and `prun: <message>` lines.
 */
export function main(args: string[], deps: ProgramDeps, version: string): Promise<number> {
  return runProgram(deps, args, {
    name: 'prun',
    version,
    usage: '$0 --exec "CMD" --outDS NAME [options]',
    wrap: 110,
    epilogue: EPILOGUE,
    // Option names are PanDA's (outDS, nJobs), and values stay the strings given.
    options: (parser) =>
      parser.parserConfiguration({
        'parse-numbers': false,
        'parse-positional-numbers': false,
        'camel-case-expansion': false,
      }),
    commands: [prunCommand],
    global: (argv) => ({
      connection: readConnectionOptions(argv),
      color: useColor(argv.color !== false, deps.isTTY.stdout, deps.env),
    }),
    connect,
  });
}
