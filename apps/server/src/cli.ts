import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DEFAULT_MAX_SECRETS_PER_USER,
  DEFAULT_MAX_TOTAL_BYTES_PER_USER,
  DEFAULT_MAX_UNFINISHED_JOBS_PER_USER,
  DEFAULT_JOB_LEASE_SECONDS,
  DEFAULT_JOB_RETENTION_SECONDS,
  DEFAULT_LOG_BYTES_PER_USER,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  ExitCode,
  PandaError,
  VO_NAME_PATTERN,
} from '@panda-secrets/protocol';
import {
  columnsOf,
  completionRequest,
  completionScript,
  completionShell,
  endQuietlyOnClosedOutput,
  examplesText,
  fitHelp,
  optionsFor,
  parseArguments,
  reportError,
  writePrivateOutput,
} from '@panda-secrets/cli-kit';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ServeOptions } from './commands/serve/run.js';
import { DEFAULT_LOAD_LIMITS } from './load.js';
import { parseDuration } from './duration.js';
import type { ServerSettings } from './setup.js';

/** Every option any command takes; each command declares only the groups it uses. */
interface Args {
  dataDir: string;
  db?: string;
  keyringFile?: string;
  issuerKeyFile?: string;
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcGroup?: string;
  oidcClientId?: string;
  oidcClientSecret?: string;
  oidcVo?: string[];
  maxSecrets?: number;
  maxTotalBytes?: number;
  maxJobs?: number;
  rateLimit?: number;
  maxConcurrentReads?: number;
  maxInflightBytes?: number;
  authFailureLimit?: number;
  jobLease?: number;
  maxAttempts?: number;
  jobRetention?: string;
  logBudget?: number;
  verbose: boolean;
}

const KEYRING_VARIABLE = 'PANDA_SERVER_KEYRING';

function dataDirOption<T>(argv: Argv<T>) {
  return argv
    .option('data-dir', {
      type: 'string',
      default: './.panda-server',
      describe: 'Directory of the SQLite database, key ring and local issuer key',
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces of errors' });
}

function storeOptions<T>(argv: Argv<T>) {
  return dataDirOption(argv)
    .option('db', {
      type: 'string',
      describe: 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)',
    })
    .option('keyring-file', {
      type: 'string',
      describe: `Master key ring file (default: DATA_DIR/keyring.json); ${KEYRING_VARIABLE} may hold the key ring itself`,
    });
}

function issuerOptions<T>(argv: Argv<T>) {
  return argv.option('issuer-key-file', {
    type: 'string',
    describe: 'Signing key of the local token issuer (default: DATA_DIR/issuer-key.json)',
  });
}

function serveOptions<T>(argv: Argv<T>) {
  return issuerOptions(storeOptions(argv))
    .option('host', { type: 'string', default: DEFAULT_SERVER_HOST, describe: 'Address to listen on' })
    .option('port', {
      type: 'number',
      default: DEFAULT_SERVER_PORT,
      describe: 'Port to listen on (0 picks a free one)',
    })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate file for HTTPS' })
    .option('tls-key', { type: 'string', describe: 'PEM private key file for HTTPS' })
    .option('insecure', { type: 'boolean', default: false, describe: 'Allow plain HTTP on a non-loopback address' })
    .option('oidc-issuer', {
      type: 'string',
      describe: 'Verify tokens from this OIDC issuer (https, found by discovery) instead of the local issuer',
    })
    .option('oidc-audience', {
      type: 'string',
      describe: 'Audience tokens must carry in OIDC mode (default: --oidc-client-id)',
    })
    .option('oidc-group', {
      type: 'string',
      describe: 'In OIDC mode, only accept tokens whose groups claim holds this group',
    })
    .option('oidc-client-id', {
      type: 'string',
      describe:
        "The provider's client users sign in with (device flow); publishes PanDA's auth config at /auth/VO_auth_config.json",
    })
    .option('oidc-client-secret', {
      type: 'string',
      describe: "That client's secret, if the provider gives it one: it is published to every client, as PanDA does",
    })
    .option('oidc-vo', {
      type: 'string',
      array: true,
      describe: 'Publish the auth config for this VO only (repeatable; default: any VO name)',
    })
    .option('max-secrets', {
      type: 'number',
      default: DEFAULT_MAX_SECRETS_PER_USER,
      describe: 'Most secrets one user may keep',
    })
    .option('max-total-bytes', {
      type: 'number',
      default: DEFAULT_MAX_TOTAL_BYTES_PER_USER,
      describe: 'Most bytes of values and files one user may keep',
    })
    .option('max-jobs', {
      type: 'number',
      default: DEFAULT_MAX_UNFINISHED_JOBS_PER_USER,
      describe: 'Most unfinished (queued or running) jobs one user may have',
    })
    .option('rate-limit', {
      type: 'number',
      default: DEFAULT_LOAD_LIMITS.requestsPerMinute,
      describe: 'Most requests one user may make per minute (then 429 with Retry-After)',
    })
    .option('max-concurrent-reads', {
      type: 'number',
      default: DEFAULT_LOAD_LIMITS.concurrentReadsPerUser,
      describe: 'Most reads of their secrets one user may have in progress at once (then 429)',
    })
    .option('auth-failure-limit', {
      type: 'number',
      default: DEFAULT_LOAD_LIMITS.authFailuresPerMinute,
      describe:
        'Most requests with missing or refused credentials one remote address may make per minute (then 429 with Retry-After for all its requests)',
    })
    .option('max-inflight-bytes', {
      type: 'number',
      default: DEFAULT_LOAD_LIMITS.inflightBytes,
      describe:
        'Memory all reads of secrets together may take at once (estimated as 8 times their size); further reads wait',
    })
    .option('job-lease', {
      type: 'number',
      default: DEFAULT_JOB_LEASE_SECONDS,
      describe:
        "Seconds a job attempt's lease lasts; a pilot renews it by heartbeats, and an attempt whose lease runs out is lost",
    })
    .option('max-attempts', {
      type: 'number',
      default: DEFAULT_MAX_ATTEMPTS,
      describe: 'Attempts a job gets; after the last one is lost or handed back the job fails',
    })
    .option('job-retention', {
      type: 'string',
      default: '30d',
      describe: 'How long ended jobs and their logs are kept: 90s, 30m, 12h, 30d',
    })
    .option('log-budget', {
      type: 'number',
      default: DEFAULT_LOG_BYTES_PER_USER,
      describe: "Most bytes one user's job logs may take together",
    })
    .option('log-file', { type: 'string', describe: 'Write the JSON log here (mode 0600) instead of stderr' })
    .option('log-level', {
      type: 'string',
      default: 'info',
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    });
}

function tokenOptions<T>(argv: Argv<T>) {
  return issuerOptions(dataDirOption(argv))
    .option('user', { type: 'string', demandOption: true, describe: 'User name (sub and preferred_username)' })
    .option('role', {
      choices: ['user', 'pilot'] as const,
      default: 'user' as const,
      describe: 'pilot: a token that can only acquire and update jobs',
    })
    .option('ttl', { type: 'string', default: '1h', describe: 'Lifetime: 90s, 30m, 1h, 7d' })
    .option('name', { type: 'string', describe: 'Display name (default: the user name)' })
    .option('groups', { type: 'string', default: '', describe: 'Comma-separated groups claim' })
    .option('out', {
      type: 'string',
      requiresArg: true,
      describe: 'Write the token to this file (mode 0600; a symbolic link is refused) instead of stdout',
    });
}

function migrateOptions<T>(argv: Argv<T>) {
  return dataDirOption(argv).option('db', {
    type: 'string',
    describe: 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)',
  });
}

const COMMAND_OPTIONS: Record<string, (argv: Argv) => Argv<unknown>> = {
  serve: serveOptions,
  token: tokenOptions,
  'rotate-key': storeOptions,
  migrate: migrateOptions,
};

/**
 * Drops the PANDA_SERVER_* variables that are no option of the command being run, so a deployment
 * can set, say, PANDA_SERVER_PORT for the server and still run `panda-server token` (strict
 * parsing would refuse it as an unknown option).
 */
function keepCommandVariables(argv: readonly string[], env: NodeJS.ProcessEnv): void {
  const command = argv.find((arg) => !arg.startsWith('-'));
  const builder = COMMAND_OPTIONS[command !== undefined && command in COMMAND_OPTIONS ? command : 'serve'];
  if (builder === undefined) return;
  // getOptions is yargs' own API, missing from its type definitions.
  const parser = builder(yargs([])) as unknown as { getOptions(): { key: Record<string, unknown> } };
  const known = new Set(
    Object.keys(parser.getOptions().key).map((name) => `PANDA_SERVER_${name.toUpperCase().replace(/-/g, '_')}`),
  );
  for (const name of Object.keys(env)) if (name.startsWith('PANDA_SERVER_') && !known.has(name)) delete env[name];
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const number = value ?? fallback;
  if (!Number.isSafeInteger(number) || number < 1)
    throw new PandaError('USAGE', `${name} must be a positive whole number`);
  return number;
}

/** The --job-retention duration in seconds (default 30 days). */
function retention(text: string | undefined): number {
  if (text === undefined) return DEFAULT_JOB_RETENTION_SECONDS;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new PandaError(
      'USAGE',
      `--job-retention must be a duration such as 90s, 30m, 12h or 30d, not ${JSON.stringify(text)}`,
      { cause: error },
    );
  }
}

function settingsFrom(args: Args, keyringText: string | undefined): ServerSettings {
  const oidcAudience = args.oidcAudience ?? args.oidcClientId;
  if ((args.oidcIssuer === undefined) !== (oidcAudience === undefined)) {
    throw new PandaError(
      'USAGE',
      args.oidcIssuer === undefined
        ? '--oidc-audience and --oidc-client-id need --oidc-issuer'
        : 'OIDC mode needs --oidc-audience (or --oidc-client-id, which is then the audience)',
    );
  }
  if (args.oidcClientId === undefined && (args.oidcClientSecret !== undefined || args.oidcVo !== undefined)) {
    throw new PandaError('USAGE', '--oidc-client-secret and --oidc-vo need --oidc-client-id');
  }
  const vos = (args.oidcVo ?? []).map(String);
  const badVo = vos.find((vo) => !VO_NAME_PATTERN.test(vo));
  if (badVo !== undefined) {
    throw new PandaError(
      'USAGE',
      `--oidc-vo ${JSON.stringify(badVo)} is no VO name: 1 to 64 letters, digits, ".", "_" or "-"`,
    );
  }
  const oidcClient =
    args.oidcClientId === undefined
      ? {}
      : { client: { id: args.oidcClientId, vos, ...(args.oidcClientSecret ? { secret: args.oidcClientSecret } : {}) } };
  return {
    dataDir: resolve(args.dataDir),
    ...(args.db ? { db: args.db } : {}),
    ...(args.keyringFile
      ? { keyring: { file: resolve(args.keyringFile) } }
      : keyringText
        ? { keyring: { text: keyringText, origin: `the ${KEYRING_VARIABLE} environment variable` } }
        : {}),
    ...(args.issuerKeyFile ? { issuerKeyFile: resolve(args.issuerKeyFile) } : {}),
    ...(args.oidcIssuer && oidcAudience
      ? {
          oidc: {
            issuer: args.oidcIssuer,
            audience: oidcAudience,
            ...(args.oidcGroup ? { group: args.oidcGroup } : {}),
            ...oidcClient,
          },
        }
      : {}),
    quota: {
      maxSecrets: positiveInteger('--max-secrets', args.maxSecrets, DEFAULT_MAX_SECRETS_PER_USER),
      maxTotalBytes: positiveInteger('--max-total-bytes', args.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES_PER_USER),
    },
    maxUnfinishedJobs: positiveInteger('--max-jobs', args.maxJobs, DEFAULT_MAX_UNFINISHED_JOBS_PER_USER),
    load: {
      requestsPerMinute: positiveInteger('--rate-limit', args.rateLimit, DEFAULT_LOAD_LIMITS.requestsPerMinute),
      concurrentReadsPerUser: positiveInteger(
        '--max-concurrent-reads',
        args.maxConcurrentReads,
        DEFAULT_LOAD_LIMITS.concurrentReadsPerUser,
      ),
      inflightBytes: positiveInteger('--max-inflight-bytes', args.maxInflightBytes, DEFAULT_LOAD_LIMITS.inflightBytes),
      authFailuresPerMinute: positiveInteger(
        '--auth-failure-limit',
        args.authFailureLimit,
        DEFAULT_LOAD_LIMITS.authFailuresPerMinute,
      ),
    },
    jobs: {
      leaseMs: positiveInteger('--job-lease', args.jobLease, DEFAULT_JOB_LEASE_SECONDS) * 1000,
      maxAttempts: positiveInteger('--max-attempts', args.maxAttempts, DEFAULT_MAX_ATTEMPTS),
      retentionMs: retention(args.jobRetention) * 1000,
      logBudgetBytes: positiveInteger('--log-budget', args.logBudget, DEFAULT_LOG_BYTES_PER_USER),
    },
  };
}

interface ServeArgs extends Args, ServeOptions {}

async function serve(args: ServeArgs, keyringText: string | undefined) {
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65_535) {
    throw new PandaError('USAGE', '--port must be a whole number from 0 to 65535 (0 picks a free port)');
  }
  const { runServe } = await import('./commands/serve/run.js');
  const running = await runServe(settingsFrom(args, keyringText), args, process.stderr);
  process.stdout.write(`panda-server listening on ${running.url}\n`);
  const stop = () => {
    running.close().then(
      () => process.exit(ExitCode.OK),
      () => process.exit(ExitCode.ERROR),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/**
 * What the completion scripts ask for: the commands, or the options of the command typed. The
 * parser here has the commands' options and no handlers, so that nothing can start.
 */
async function completions(words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const parser = yargs().exitProcess(false);
  for (const [name, options] of Object.entries(COMMAND_OPTIONS))
    parser.command(name === 'serve' ? ['serve', '$0'] : name, '', options);
  if (!current.startsWith('-') && before.every((word) => word.startsWith('-'))) {
    return [...Object.keys(COMMAND_OPTIONS), 'completion'].filter((name) => name.startsWith(current));
  }
  return (await optionsFor(parser, before)).filter((option) => option.startsWith(current));
}

type Examples = ReadonlyArray<readonly [command: string, meaning: string]>;

const SERVE_EXAMPLES: Examples = [
  ['$0', 'serve on 127.0.0.1:25080 with SQLite in ./.panda-server'],
  ['$0 --db postgres://panda@db:5432/panda --keyring-file /etc/panda/keyring.json', 'serve on PostgreSQL'],
  ['$0 token --user jdoe --out ~/.panda-token', 'a user token, valid 1 hour, written to a 0600 file'],
  ['$0 completion bash >> ~/.bashrc', 'Tab completion of commands and options in bash (or zsh)'],
];

const COMMAND_EXAMPLES: Record<string, Examples> = {
  serve: SERVE_EXAMPLES,
  token: [
    ['$0 token --user jdoe --out ~/.panda-token', 'a user token, valid 1 hour, written to a 0600 file'],
    ['$0 token --user pilot-1 --role pilot --ttl 7d --out ~/.pilot-token', 'a pilot token valid 7 days'],
  ],
  'rotate-key': [['$0 rotate-key --data-dir ./.panda-server', 're-encrypt every secret under a new master key']],
  migrate: [['$0 migrate --db postgres://panda@db:5432/panda', 'apply the PostgreSQL schema migrations']],
};

/** A command's options with its examples under its help. */
function withExamples(command: string): (argv: Argv) => Argv<unknown> {
  const options = COMMAND_OPTIONS[command] as (argv: Argv) => Argv<unknown>;
  return (argv) => options(argv).epilogue(examplesText('panda-server', COMMAND_EXAMPLES[command] ?? []));
}

/** panda-server's commands and options; each command's handler runs it. */
function commandLine(keyringText: string | undefined, version: string): Argv {
  return yargs()
    .scriptName('panda-server')
    .env('PANDA_SERVER')
    .command(
      ['serve', '$0'],
      'Run the server (the default command)',
      withExamples('serve') as typeof serveOptions,
      (args) => serve(args as ServeArgs, keyringText),
    )
    .command(
      'token',
      'Print an ID token from the local issuer (run panda-server once first: it creates the issuer key)',
      withExamples('token') as typeof tokenOptions,
      async (args) => {
        const { runToken } = await import('./commands/token/run.js');
        const groups = args.groups
          .split(',')
          .map((group) => group.trim())
          .filter(Boolean);
        const token = await runToken(settingsFrom(args, keyringText), { ...args, groups, role: args.role });
        if (args.out === undefined) process.stdout.write(`${token}\n`);
        else await writePrivateOutput(args.out, `${token}\n`);
      },
    )
    .command(
      'rotate-key',
      'Add a new master key and re-encrypt every secret under it',
      withExamples('rotate-key') as typeof storeOptions,
      async (args) => {
        const { runRotateKey } = await import('./commands/rotate-key/run.js');
        const { count, keyId, left } = await runRotateKey(settingsFrom(args, keyringText));
        process.stdout.write(`re-encrypted ${count} secrets under key ${keyId}\n`);
        if (left > 0) {
          process.stderr.write(
            `panda-server: ${left} secrets written during the rotation stay under an older key (still readable); run rotate-key again\n`,
          );
        }
      },
    )
    .command(
      'migrate',
      'Apply the database schema migrations and exit',
      withExamples('migrate') as typeof migrateOptions,
      async (args) => {
        const { runMigrate } = await import('./commands/migrate/run.js');
        process.stdout.write(`${await runMigrate(settingsFrom(args, keyringText))}\n`);
      },
    )
    .strict()
    .help()
    .version(version)
    .fail((message, error) => {
      if (error) throw error;
      throw new PandaError('USAGE', `${message} (see panda-server --help)`);
    });
}

async function main(): Promise<void> {
  endQuietlyOnClosedOutput([process.stdout, process.stderr], (code) => process.exit(code));
  const argv = hideBin(process.argv);
  const verbose = argv.includes('--verbose');
  // yargs' hidden completion flag lists completions and nothing else: the server never starts.
  const completing = completionRequest(argv);
  if (completing !== undefined) {
    process.stdout.write((await completions(completing)).map((word) => `${word}\n`).join(''));
    return;
  }
  // The key ring is read from the environment here, not through yargs' PANDA_SERVER_* options:
  // it is no command-line option (a command line is visible to every local user).
  const keyringText = process.env[KEYRING_VARIABLE];
  delete process.env[KEYRING_VARIABLE];
  keepCommandVariables(argv, process.env);
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  try {
    if (argv[0] === 'completion') {
      process.stdout.write(await completionScript('panda-server', completionShell(argv.slice(1), process.env)));
      return;
    }
    const parser = (width: number | null) => commandLine(keyringText, version).wrap(width);
    const helpWidth = Math.min(110, columnsOf(process.stdout) ?? 110);
    // Help is laid out unbounded, then fitted to the terminal between words. Only a command line
    // asking for help or the version is parsed here: no handler runs for those.
    if (argv.includes('--help') || argv.includes('--version')) {
      const asked = await parseArguments(parser(null), argv).catch(() => undefined);
      if (asked !== undefined && 'output' in asked) {
        process.stdout.write(`${await fitHelp(parser, argv, asked.output, helpWidth)}\n`);
        return;
      }
    }
    await parser(helpWidth).parseAsync(argv);
  } catch (error) {
    process.exit(reportError(process.stderr, error, { program: 'panda-server', verbose }));
  }
}

await main();
