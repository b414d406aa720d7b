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
import { createStore, type Quota, type Store } from '@panda-secrets/store';
import type { ServerContext } from './context.js';
import { ensurePrivateDir, readOrCreatePrivateFile } from './files.js';
import { loadKeyring, type KeyringLocation, type LoadedKeyring } from './keyring-source.js';

/** The local token issuer's names: tokens minted by `panda-server token` carry them. */
export const LOCAL_ISSUER = 'panda-server:local';
export const LOCAL_AUDIENCE = 'panda-server';

export interface OidcSettings {
  issuer: string;
  audience: string;
  group?: string;
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
}

export function keyringLocation(settings: ServerSettings): KeyringLocation {
  return settings.keyring ?? { file: join(settings.dataDir, 'keyring.json') };
}

/** Opens the store; the data dir is created first (mode 0700) since the SQLite file lives there. */
export async function openStore(settings: ServerSettings): Promise<Store> {
  await ensurePrivateDir(settings.dataDir);
  return createStore({ db: settings.db, dataDir: settings.dataDir });
}

/** The local issuer's signing key, created (mode 0600) on first use. */
export async function loadIssuerKey(settings: ServerSettings): Promise<IssuerKey> {
  await ensurePrivateDir(settings.dataDir);
  const file = settings.issuerKeyFile ?? join(settings.dataDir, 'issuer-key.json');
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
    return {
      context: { store, keyring, verifier, quota: settings.quota },
      keyring,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
