import { optionalString } from '@panda-secrets/cli-kit';
import {
  DEFAULT_JOB_LEASE_SECONDS,
  DEFAULT_LOG_BYTES_PER_USER,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_SECRETS_PER_USER,
  DEFAULT_MAX_TOTAL_BYTES_PER_USER,
  DEFAULT_MAX_UNFINISHED_JOBS_PER_USER,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
} from '@panda-secrets/protocol';
import { DEFAULT_LOAD_LIMITS } from '../../load.js';
import { issuerOptions, optionalNumber, readStoreArgs, storeOptions } from '../options.js';
import type { SettingsArgs } from '../settings.js';
import type { CommandSpec } from '../spec.js';

/** Where and how the server listens and logs. */
export interface ListenOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  insecure: boolean;
  logFile?: string;
  logLevel: string;
}

export interface ServeOptions extends SettingsArgs, ListenOptions {}

export const serveCommand: CommandSpec<ServeOptions> = {
  command: ['serve', '$0'],
  describe: 'Run the server (the default command)',
  builder: (parser) =>
    issuerOptions(storeOptions(parser))
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
      }),
  options: (argv) => {
    const optional = {
      tlsCert: optionalString(argv['tls-cert']),
      tlsKey: optionalString(argv['tls-key']),
      logFile: optionalString(argv['log-file']),
      oidcIssuer: optionalString(argv['oidc-issuer']),
      oidcAudience: optionalString(argv['oidc-audience']),
      oidcGroup: optionalString(argv['oidc-group']),
      oidcClientId: optionalString(argv['oidc-client-id']),
      oidcClientSecret: optionalString(argv['oidc-client-secret']),
      oidcVo: (argv['oidc-vo'] as unknown[] | undefined)?.map(String),
      maxSecrets: optionalNumber(argv['max-secrets']),
      maxTotalBytes: optionalNumber(argv['max-total-bytes']),
      maxJobs: optionalNumber(argv['max-jobs']),
      rateLimit: optionalNumber(argv['rate-limit']),
      maxConcurrentReads: optionalNumber(argv['max-concurrent-reads']),
      maxInflightBytes: optionalNumber(argv['max-inflight-bytes']),
      authFailureLimit: optionalNumber(argv['auth-failure-limit']),
      jobLease: optionalNumber(argv['job-lease']),
      maxAttempts: optionalNumber(argv['max-attempts']),
      jobRetention: optionalString(argv['job-retention']),
      logBudget: optionalNumber(argv['log-budget']),
    };
    return {
      ...readStoreArgs(argv),
      ...Object.fromEntries(Object.entries(optional).filter(([, value]) => value !== undefined)),
      host: String(argv.host),
      port: Number(argv.port),
      insecure: argv.insecure === true,
      logLevel: String(argv['log-level']),
    };
  },
  examples: [
    ['$0', 'serve on 127.0.0.1:25080 with SQLite in ./.panda-server'],
    ['$0 --db postgres://panda@db:5432/panda --keyring-file /etc/panda/keyring.json', 'serve on PostgreSQL'],
    ['$0 token --user jdoe --out ~/.panda-token', 'a user token, valid 1 hour, written to a 0600 file'],
    ['$0 completion bash >> ~/.bashrc', 'Tab completion of commands and options in bash (or zsh)'],
  ],
  load: async () => (await import('./run.js')).runServe,
};
