import { PandaError, parseSecretJson } from '@panda-secrets/protocol';
import { decodeClaims } from './tokens.js';

/**
 * The token cache, `$PANDA_CONFIG_ROOT/.token` as PanDA's client keeps it: the identity provider's
 * token response, a JSON object holding at least `id_token` and, for renewal, `refresh_token`.
 * The app supplies the file operations (private modes, atomic replacement).
 */
export interface TokenCacheFile {
  /** Where the cache is, for messages. */
  readonly path: string;
  /** The cache's text, or undefined when there is none. */
  read(): Promise<string | undefined>;
  /** Replaces the cache as a whole, readable by its owner only. */
  write(text: string): Promise<void>;
  /** Removes the cache; false when there was none. */
  remove(): Promise<boolean>;
}

export interface CachedTokens {
  idToken: string;
  refreshToken?: string;
  /** The ID token's `exp`, in seconds since the epoch. */
  expiresAt: number;
  /** Every field of the token response, kept as it came, so PanDA's client finds what it reads. */
  fields: Record<string, unknown>;
}

/**
 * Reads a token response (from the provider or from the cache). Throws CONFIG, naming `where` and
 * what is wrong (never a token), when it is not JSON, not an object, or has no ID token with an `exp`.
 */
export function parseTokenResponse(text: string, where: string): CachedTokens {
  const damaged = (problem: string): PandaError => new PandaError('CONFIG', `${where} ${problem}`);
  const fields = parseSecretJson(text, () => damaged('is not JSON'));
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw damaged('is not a JSON object');
  const record = fields as Record<string, unknown>;
  const { id_token: idToken, refresh_token: refreshToken } = record;
  if (typeof idToken !== 'string' || idToken === '') throw damaged('holds no "id_token"');
  const exp = decodeClaims(idToken)?.exp;
  if (typeof exp !== 'number') throw damaged('holds an "id_token" that is no JWT with an "exp" claim');
  return {
    idToken,
    ...(typeof refreshToken === 'string' && refreshToken !== '' ? { refreshToken } : {}),
    expiresAt: exp,
    fields: record,
  };
}

/**
 * The cache text for a fresh token response. A refresh answer without a `refresh_token` (a
 * provider that does not rotate them) keeps the one that was used, so the next renewal works too.
 */
export function cacheText(response: CachedTokens, previousRefreshToken?: string): string {
  const fields =
    response.refreshToken === undefined && previousRefreshToken !== undefined
      ? { ...response.fields, refresh_token: previousRefreshToken }
      : response.fields;
  return JSON.stringify(fields);
}
