import { resolve } from 'node:path';
import {
  DEFAULT_JOB_LEASE_SECONDS,
  DEFAULT_JOB_RETENTION_SECONDS,
  DEFAULT_LOG_BYTES_PER_USER,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_SECRETS_PER_USER,
  DEFAULT_MAX_TOTAL_BYTES_PER_USER,
  DEFAULT_MAX_UNFINISHED_JOBS_PER_USER,
  PandaError,
  VO_NAME_PATTERN,
} from '@panda-secrets/protocol';
import { parseDuration } from '../duration.js';
import { DEFAULT_LOAD_LIMITS } from '../load.js';
import type { ServerSettings } from '../setup.js';
import { KEYRING_VARIABLE, type StoreArgs } from './options.js';

/** Every setting any command takes; each command gives those of the options it declares. */
export interface SettingsArgs extends StoreArgs {
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

/**
 * The server's settings from a command's options and the environment (the key ring of
 * PANDA_SERVER_KEYRING): checked, with paths made absolute and defaults filled in. A setting
 * that does not fit is a USAGE error naming its option.
 */
export function serverSettings(args: SettingsArgs, env: Readonly<Record<string, string | undefined>>): ServerSettings {
  const keyringText = env[KEYRING_VARIABLE];
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
