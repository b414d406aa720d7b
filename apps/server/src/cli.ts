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
} from '@panda-secrets/protocol';
import { reportError } from '@panda-secrets/cli-kit';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ServeOptions } from './commands/serve.js';
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
  maxSecrets?: number;
  maxTotalBytes?: number;
  maxJobs?: number;
  jobLease?: number;
  maxAttempts?: number;
  jobRetention?: string;
  logBudget?: number;
  verbose: boolean;
}

const KEYRING_VARIABLE = 'PANDA_SERVER_KEYRING';

function dataDirOption<T>(argv: Argv<T>) {
  return argv
    .option('data-dir', { type: 'string', default: './.panda-server', describe: 'Directory of the SQLite database, key ring and local issuer key' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces of errors' });
}

function storeOptions<T>(argv: Argv<T>) {
  return dataDirOption(argv)
    .option('db', { type: 'string', describe: 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)' })
    .option('keyring-file', { type: 'string', describe: `Master key ring file (default: DATA_DIR/keyring.json); ${KEYRING_VARIABLE} may hold the key ring itself` });
}

function issuerOptions<T>(argv: Argv<T>) {
  return argv.option('issuer-key-file', { type: 'string', describe: 'Signing key of the local token issuer (default: DATA_DIR/issuer-key.json)' });
}

function serveOptions<T>(argv: Argv<T>) {
  return issuerOptions(storeOptions(argv))
    .option('host', { type: 'string', default: DEFAULT_SERVER_HOST, describe: 'Address to listen on' })
    .option('port', { type: 'number', default: DEFAULT_SERVER_PORT, describe: 'Port to listen on (0 picks a free one)' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate file for HTTPS' })
    .option('tls-key', { type: 'string', describe: 'PEM private key file for HTTPS' })
    .option('insecure', { type: 'boolean', default: false, describe: 'Allow plain HTTP on a non-loopback address' })
    .option('oidc-issuer', { type: 'string', describe: 'Verify tokens from this OIDC issuer (https, found by discovery) instead of the local issuer' })
    .option('oidc-audience', { type: 'string', describe: 'Audience tokens must carry in OIDC mode' })
    .option('oidc-group', { type: 'string', describe: 'In OIDC mode, only accept tokens whose groups claim holds this group' })
    .option('max-secrets', { type: 'number', default: DEFAULT_MAX_SECRETS_PER_USER, describe: 'Most secrets one user may keep' })
    .option('max-total-bytes', { type: 'number', default: DEFAULT_MAX_TOTAL_BYTES_PER_USER, describe: 'Most bytes of values and files one user may keep' })
    .option('max-jobs', { type: 'number', default: DEFAULT_MAX_UNFINISHED_JOBS_PER_USER, describe: 'Most unfinished (queued or running) jobs one user may have' })
    .option('job-lease', { type: 'number', default: DEFAULT_JOB_LEASE_SECONDS, describe: "Seconds a job attempt's lease lasts; a pilot renews it by heartbeats, and an attempt whose lease runs out is lost" })
    .option('max-attempts', { type: 'number', default: DEFAULT_MAX_ATTEMPTS, describe: 'Attempts a job gets; after the last one is lost or handed back the job fails' })
    .option('job-retention', { type: 'string', default: '30d', describe: 'How long ended jobs and their logs are kept: 90s, 30m, 12h, 30d' })
    .option('log-budget', { type: 'number', default: DEFAULT_LOG_BYTES_PER_USER, describe: "Most bytes one user's job logs may take together" })
    .option('log-file', { type: 'string', describe: 'Write the JSON log here (mode 0600) instead of stderr' })
    .option('log-level', { type: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] });
}

function tokenOptions<T>(argv: Argv<T>) {
  return issuerOptions(dataDirOption(argv))
    .option('user', { type: 'string', demandOption: true, describe: 'User name (sub and preferred_username)' })
    .option('role', { choices: ['user', 'pilot'] as const, default: 'user' as const, describe: 'pilot: a token that can only acquire and update jobs' })
    .option('ttl', { type: 'string', default: '1h', describe: 'Lifetime: 90s, 30m, 1h, 7d' })
    .option('name', { type: 'string', describe: 'Display name (default: the user name)' })
    .option('groups', { type: 'string', default: '', describe: 'Comma-separated groups claim' });
}

function migrateOptions<T>(argv: Argv<T>) {
  return dataDirOption(argv).option('db', { type: 'string', describe: 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)' });
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
  const known = new Set(Object.keys(parser.getOptions().key).map((name) => `PANDA_SERVER_${name.toUpperCase().replace(/-/g, '_')}`));
  for (const name of Object.keys(env)) if (name.startsWith('PANDA_SERVER_') && !known.has(name)) delete env[name];
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const number = value ?? fallback;
  if (!Number.isSafeInteger(number) || number < 1) throw new PandaError('USAGE', `${name} must be a positive whole number`);
  return number;
}

/** The --job-retention duration in seconds (default 30 days). */
function retention(text: string | undefined): number {
  if (text === undefined) return DEFAULT_JOB_RETENTION_SECONDS;
  try {
    return parseDuration(text);
  } catch (error) {
    throw new PandaError('USAGE', `--job-retention must be a duration such as 90s, 30m, 12h or 30d, not ${JSON.stringify(text)}`, { cause: error });
  }
}

function settingsFrom(args: Args, keyringText: string | undefined): ServerSettings {
  if ((args.oidcIssuer === undefined) !== (args.oidcAudience === undefined)) {
    throw new PandaError('USAGE', 'OIDC mode needs both --oidc-issuer and --oidc-audience');
  }
  return {
    dataDir: resolve(args.dataDir),
    ...(args.db ? { db: args.db } : {}),
    ...(args.keyringFile
      ? { keyring: { file: resolve(args.keyringFile) } }
      : keyringText
        ? { keyring: { text: keyringText, origin: `the ${KEYRING_VARIABLE} environment variable` } }
        : {}),
    ...(args.issuerKeyFile ? { issuerKeyFile: resolve(args.issuerKeyFile) } : {}),
    ...(args.oidcIssuer && args.oidcAudience
      ? { oidc: { issuer: args.oidcIssuer, audience: args.oidcAudience, ...(args.oidcGroup ? { group: args.oidcGroup } : {}) } }
      : {}),
    quota: {
      maxSecrets: positiveInteger('--max-secrets', args.maxSecrets, DEFAULT_MAX_SECRETS_PER_USER),
      maxTotalBytes: positiveInteger('--max-total-bytes', args.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES_PER_USER),
    },
    maxUnfinishedJobs: positiveInteger('--max-jobs', args.maxJobs, DEFAULT_MAX_UNFINISHED_JOBS_PER_USER),
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
  const { runServe } = await import('./commands/serve.js');
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


async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  const verbose = argv.includes('--verbose');
  // The key ring is read from the environment here, not through yargs' PANDA_SERVER_* options:
  // it is no command-line option (a command line is visible to every local user).
  const keyringText = process.env[KEYRING_VARIABLE];
  delete process.env[KEYRING_VARIABLE];
  keepCommandVariables(argv, process.env);
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  try {
    await yargs(argv)
      .scriptName('panda-server')
      .env('PANDA_SERVER')
      .command(['serve', '$0'], 'Run the server (the default command)', serveOptions, (args) => serve(args as ServeArgs, keyringText))
      .command(
        'token',
        'Print an ID token from the local issuer (run panda-server once first: it creates the issuer key)',
        tokenOptions,
        async (args) => {
          const { runToken } = await import('./commands/token.js');
          const groups = args.groups.split(',').map((group) => group.trim()).filter(Boolean);
          const token = await runToken(settingsFrom(args, keyringText), { ...args, groups, role: args.role });
          process.stdout.write(`${token}\n`);
        },
      )
      .command('rotate-key', 'Add a new master key and re-encrypt every secret under it', storeOptions, async (args) => {
        const { runRotateKey } = await import('./commands/rotate-key.js');
        const { count, keyId } = await runRotateKey(settingsFrom(args, keyringText));
        process.stdout.write(`re-encrypted ${count} secrets under key ${keyId}\n`);
      })
      .command(
        'migrate',
        'Apply the database schema migrations and exit',
        migrateOptions,
        async (args) => {
          const { runMigrate } = await import('./commands/migrate.js');
          process.stdout.write(`${await runMigrate(settingsFrom(args, keyringText))}\n`);
        },
      )
      .strict()
      .help()
      .version(version)
      .fail((message, error) => {
        if (error) throw error;
        throw new PandaError('USAGE', `${message} (see panda-server --help)`);
      })
      .parseAsync();
  } catch (error) {
    process.exit(reportError(process.stderr, error, { program: 'panda-server', verbose }));
  }
}

await main();
