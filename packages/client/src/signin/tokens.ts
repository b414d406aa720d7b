import { PandaError } from '@panda-secrets/protocol';

/** What an ID token says of its holder, read without verifying it (the server verifies). */
export interface TokenIdentity {
  /** `preferred_username`, else `sub`: the owner the server files secrets under. */
  user: string;
  sub?: string;
  name?: string;
  groups: string[];
  issuer?: string;
  audience: string[];
  /** Seconds since the epoch. */
  expiresAt?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The claims of a JWT, or undefined when `token` is no JWT with a JSON object as its payload. */
export function decodeClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return isRecord(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * Who an ID token says its holder is. Throws AUTH_REFUSED for a token that is no JWT, naming only
 * where it came from (never the token).
 *
 * @example
 * describeToken(idToken, 'PANDA_AUTH_ID_TOKEN') // { user: 'jdoe', groups: ['atlas'], expiresAt: 1767225600, ... }
 */
export function describeToken(token: string, from: string): TokenIdentity {
  const claims = decodeClaims(token);
  if (claims === undefined)
    throw new PandaError(
      'AUTH_REFUSED',
      `the token from ${from} is not a JWT (three base64url parts, the middle one a JSON object)`,
    );
  const sub = text(claims.sub);
  const user = text(claims.preferred_username) ?? sub;
  if (user === undefined)
    throw new PandaError(
      'AUTH_REFUSED',
      `the token from ${from} names nobody: it has neither preferred_username nor sub`,
    );
  const audience =
    typeof claims.aud === 'string'
      ? [claims.aud]
      : Array.isArray(claims.aud)
        ? claims.aud.filter((aud) => typeof aud === 'string')
        : [];
  const name = text(claims.name);
  const issuer = text(claims.iss);
  return {
    user,
    ...(sub === undefined ? {} : { sub }),
    ...(name === undefined ? {} : { name }),
    groups: Array.isArray(claims.groups)
      ? claims.groups.filter((group): group is string => typeof group === 'string')
      : [],
    ...(issuer === undefined ? {} : { issuer }),
    audience,
    ...(typeof claims.exp === 'number' ? { expiresAt: claims.exp } : {}),
  };
}
