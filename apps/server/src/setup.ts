import { join } from 'node:path';
import {
  createLocalVerifier,
  createOidcVerifier,
  generateIssuerKey,
  parseIssuerKey,
  serializeIssuerKey,
  type IssuerKey,
  type TokenVerifier,
} from '@panda-secrets/crypto';
import {
  DEFAULT_JOB_LEASE_SECONDS,
  DEFAULT_JOB_RETENTION_SECONDS,
  DEFAULT_LOG_BYTES_PER_USER,
  DEFAULT_MAX_ATTEMPTS,
  PandaError,
} from '@panda-secrets/protocol';
import { SQLITE_FILE_NAME, createStore, type Quota, type Store } from '@panda-secrets/store';
import type { JobPolicy, ServerContext } from './context.js';
import { ensurePrivateDir, pathExists, readIfExists, readOrCreatePrivateFile } from './files.js';
import { DEFAULT_LOAD_LIMITS, LoadGate, type LoadLimits } from './load.js';
import { loadKeyring, type KeyringLocation, type LoadedKeyring } from './keyring-source.js';
import type { PublishedAuthConfig } from './routes/auth-config.js';

/** The local token issuer's names: tokens minted by `panda-server token` carry them. */
export const LOCAL_ISSUER = 'panda-server:local';
export const LOCAL_AUDIENCE = 'panda-server';

interface OidcSettings {
  issuer: string;
  audience: string;
  group?: string;
  /** The OIDC client that users sign in with (the device flow), published as PanDA's auth config. */
  client?: OidcClientSettings;
}

interface OidcClientSettings {
  id: string;
  /** Published to every client as PanDA does: only for a provider that treats the client as public. */
  secret?: string;
  /** The VOs the auth config is published for; empty: any. */
  vos: string[];
}

/** PanDA's auth config for the OIDC settings, or undefined when no client is configured. */
function publishedAuthConfig(oidc: OidcSettings | undefined): PublishedAuthConfig | undefined {
  if (oidc?.client === undefined) return undefined;
  return {
    config: {
      client_id: oidc.client.id,
      client_secret: oidc.client.secret ?? '',
      audience: oidc.audience,
      oidc_config_url: `${oidc.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
    },
    vos: oidc.client.vos,
  };
}

/** Where a server instance keeps its state, resolved from options and environment by the CLI. */
export interface ServerSettings {
  dataDir: string;
  /** A PostgreSQL URL, a `sqlite:` path, or undefined for SQLite in the data dir. */
  db?: string;
  keyring?: KeyringLocation;
  issuerKeyFile?: string;
  oidc?: OidcSettings;
  quota: Quota;
  /** Most unfinished (queued or running) jobs one user may have. */
  maxUnfinishedJobs: number;
  /** Rate and memory limits; the defaults where absent. */
  load?: Partial<LoadLimits>;
  /** Leases, attempts and retention of jobs; each rule absent takes its default. */
  jobs?: Partial<JobPolicy>;
}

/** The job rules of `settings`, defaults filled in. */
function jobPolicy(settings: ServerSettings): JobPolicy {
  return {
    leaseMs: DEFAULT_JOB_LEASE_SECONDS * 1000,
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    retentionMs: DEFAULT_JOB_RETENTION_SECONDS * 1000,
    logBudgetBytes: DEFAULT_LOG_BYTES_PER_USER,
    ...settings.jobs,
  };
}

export function keyringLocation(settings: ServerSettings): KeyringLocation {
  return settings.keyring ?? { file: join(settings.dataDir, 'keyring.json') };
}

/**
 * Opens the store; the data dir is created first (mode 0700) since the SQLite file lives there.
 * `existing: true` (the maintenance commands) refuses to create an embedded database that is not there.
 */
export async function openStore(
  settings: ServerSettings,
  options: { existing: boolean } = { existing: false },
): Promise<Store> {
  if (options.existing && settings.db === undefined) {
    const file = join(settings.dataDir, SQLITE_FILE_NAME);
    if (!(await pathExists(file))) {
      throw new PandaError('CONFIG', `there is no database at ${file}: is --data-dir (or --db) right?`);
    }
  }
  await ensurePrivateDir(settings.dataDir);
  return createStore({ db: settings.db, dataDir: settings.dataDir });
}

/**
 * The local issuer's signing key. The server creates it (mode 0600) on its first start; `create:
 * false` (the token command) refuses to make one, since a token signed by a key no server has
 * would be refused: the usual cause is a mistyped data dir.
 */
export async function loadIssuerKey(
  settings: ServerSettings,
  options: { create: boolean } = { create: true },
): Promise<IssuerKey> {
  const file = settings.issuerKeyFile ?? join(settings.dataDir, 'issuer-key.json');
  if (!options.create) {
    const text = await readIfExists(file);
    if (text === null) {
      throw new PandaError(
        'CONFIG',
        `there is no issuer key at ${file}: start panda-server with this --data-dir once (it creates the key), or give --issuer-key-file`,
      );
    }
    return parseIssuerKey(text);
  }
  await ensurePrivateDir(settings.dataDir);
  const { text } = await readOrCreatePrivateFile(file, async () => serializeIssuerKey(await generateIssuerKey()));
  return parseIssuerKey(text);
}

async function tokenVerifier(settings: ServerSettings): Promise<TokenVerifier> {
  if (settings.oidc) return createOidcVerifier(settings.oidc);
  const key = await loadIssuerKey(settings);
  return createLocalVerifier({ publicJwk: key.publicJwk, issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE });
}

export interface OpenedServer {
  context: ServerContext;
  keyring: LoadedKeyring;
  close(): Promise<void>;
}

/** Opens the store, the key ring (checked against the store) and the token verifier. */
export async function openServerContext(settings: ServerSettings): Promise<OpenedServer> {
  const store = await openStore(settings);
  try {
    const keyring = await loadKeyring(store, keyringLocation(settings));
    const verifier = await tokenVerifier(settings);
    const authConfig = publishedAuthConfig(settings.oidc);
    return {
      context: {
        store,
        keyring,
        verifier,
        quota: settings.quota,
        maxUnfinishedJobs: settings.maxUnfinishedJobs,
        load: new LoadGate({ ...DEFAULT_LOAD_LIMITS, ...settings.load }),
        ...(authConfig === undefined ? {} : { authConfig }),
        jobs: jobPolicy(settings),
      },
      keyring,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
