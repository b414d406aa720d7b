import { resolve } from 'node:path';
import {
  DEFAULT_MAX_SECRETS_PER_USER,
  DEFAULT_MAX_TOTAL_BYTES_PER_USER,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  ExitCode,
  PandaError,
  exitCodeFor,
  isPandaError,
} from '@panda-secrets/protocol';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { ServerSettings } from './setup.js';

interface CommonArgs {
  dataDir: string;
  db?: string;
  keyringFile?: string;
  issuerKeyFile?: string;
  oidcIssuer?: string;
  oidcAudience?: string;
  oidcGroup?: string;
  maxSecrets: number;
  maxTotalBytes: number;
  verbose: boolean;
}

function commonOptions<T>(argv: Argv<T>) {
  return argv
    .option('data-dir', { type: 'string', default: './.panda-server', describe: 'Directory of the SQLite database, key ring and local issuer key' })
    .option('db', { type: 'string', describe: 'Database: postgres://user@host/db, or sqlite:PATH (default: SQLite in the data dir)' })
    .option('keyring-file', { type: 'string', describe: 'Master key ring file (default: DATA_DIR/keyring.json); PANDA_SERVER_KEYRING may hold the key ring itself' })
    .option('issuer-key-file', { type: 'string', describe: 'Signing key of the local token issuer (default: DATA_DIR/issuer-key.json)' })
    .option('oidc-issuer', { type: 'string', describe: 'Verify tokens from this OIDC issuer (found by discovery) instead of the local issuer' })
    .option('oidc-audience', { type: 'string', describe: 'Audience tokens must carry in OIDC mode' })
    .option('oidc-group', { type: 'string', describe: 'In OIDC mode, only accept tokens whose groups claim holds this group' })
    .option('max-secrets', { type: 'number', default: DEFAULT_MAX_SECRETS_PER_USER, describe: 'Most secrets one user may keep' })
    .option('max-total-bytes', { type: 'number', default: DEFAULT_MAX_TOTAL_BYTES_PER_USER, describe: 'Most bytes of values and files one user may keep' })
    .option('verbose', { type: 'boolean', default: false, describe: 'Print stack traces of errors' });
}

function settingsFrom(args: CommonArgs, env: NodeJS.ProcessEnv): ServerSettings {
  if ((args.oidcIssuer === undefined) !== (args.oidcAudience === undefined)) {
    throw new PandaError('USAGE', 'OIDC mode needs both --oidc-issuer and --oidc-audience');
  }
  for (const [name, value] of [['--max-secrets', args.maxSecrets], ['--max-total-bytes', args.maxTotalBytes]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new PandaError('USAGE', `${name} must be a positive integer`);
  }
  const keyringText = env.PANDA_SERVER_KEYRING;
  return {
    dataDir: resolve(args.dataDir),
    ...(args.db ? { db: args.db } : {}),
    ...(args.keyringFile
      ? { keyring: { file: resolve(args.keyringFile) } }
      : keyringText
        ? { keyring: { text: keyringText, origin: 'the PANDA_SERVER_KEYRING environment variable' } }
        : {}),
    ...(args.issuerKeyFile ? { issuerKeyFile: resolve(args.issuerKeyFile) } : {}),
    ...(args.oidcIssuer && args.oidcAudience
      ? { oidc: { issuer: args.oidcIssuer, audience: args.oidcAudience, ...(args.oidcGroup ? { group: args.oidcGroup } : {}) } }
      : {}),
    quota: { maxSecrets: args.maxSecrets, maxTotalBytes: args.maxTotalBytes },
  };
}

async function serve(args: CommonArgs & { host: string; port: number; tlsCert?: string; tlsKey?: string; insecure: boolean; logFile?: string; logLevel: string }) {
  const { runServe } = await import('./commands/serve.js');
  const running = await runServe(settingsFrom(args, process.env), args, process.stderr);
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

function fail(error: unknown, verbose: boolean): never {
  const panda = isPandaError(error) ? error : new PandaError('SERVER_ERROR', (error as Error)?.message ?? String(error));
  process.stderr.write(`panda-server: ${panda.message}\n`);
  if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(exitCodeFor(panda.code));
}

async function main(): Promise<void> {
  const argv = hideBin(process.argv);
  const verbose = argv.includes('--verbose');
  try {
    await commonOptions(yargs(argv))
      .scriptName('panda-server')
      .env('PANDA_SERVER')
      .command(
        ['serve', '$0'],
        'Run the server (the default command)',
        (y) =>
          y
            .option('host', { type: 'string', default: DEFAULT_SERVER_HOST, describe: 'Address to listen on' })
            .option('port', { type: 'number', default: DEFAULT_SERVER_PORT, describe: 'Port to listen on (0 picks a free one)' })
            .option('tls-cert', { type: 'string', describe: 'PEM certificate file for HTTPS' })
            .option('tls-key', { type: 'string', describe: 'PEM private key file for HTTPS' })
            .option('insecure', { type: 'boolean', default: false, describe: 'Allow plain HTTP on a non-loopback address' })
            .option('log-file', { type: 'string', describe: 'Write the JSON log here instead of stderr' })
            .option('log-level', { type: 'string', default: 'info', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }),
        (args) => serve(args as never),
      )
      .command(
        'token',
        'Print an ID token from the local issuer',
        (y) =>
          y
            .option('user', { type: 'string', demandOption: true, describe: 'User name (sub and preferred_username)' })
            .option('role', { choices: ['user', 'pilot'] as const, default: 'user' as const, describe: 'pilot: a token that can only acquire and update jobs' })
            .option('ttl', { type: 'string', default: '1h', describe: 'Lifetime: 90s, 30m, 1h, 7d' })
            .option('name', { type: 'string', describe: 'Display name (default: the user name)' })
            .option('groups', { type: 'string', default: '', describe: 'Comma-separated groups claim' }),
        async (args) => {
          const { runToken } = await import('./commands/token.js');
          const groups = args.groups.split(',').map((group) => group.trim()).filter(Boolean);
          const token = await runToken(settingsFrom(args, process.env), { ...args, groups, role: args.role });
          process.stdout.write(`${token}\n`);
        },
      )
      .command('rotate-key', 'Add a new master key and re-encrypt every secret under it', (y) => y, async (args) => {
        const { runRotateKey } = await import('./commands/rotate-key.js');
        const { count, keyId } = await runRotateKey(settingsFrom(args, process.env));
        process.stdout.write(`re-encrypted ${count} secrets under key ${keyId}\n`);
      })
      .command('migrate', 'Apply the database schema migrations and exit', (y) => y, async (args) => {
        const { runMigrate } = await import('./commands/migrate.js');
        process.stdout.write(`${await runMigrate(settingsFrom(args, process.env))}\n`);
      })
      .strict()
      .help()
      .version(false)
      .fail((message, error) => {
        if (error) throw error;
        throw new PandaError('USAGE', `${message} (see panda-server --help)`);
      })
      .parseAsync();
  } catch (error) {
    fail(error, verbose);
  }
}

await main();
