import { createHash } from 'node:crypto';
import { errors, importJWK, jwtVerify } from 'jose';
import type { CryptoKey, JWK, JWTPayload, JWTVerifyGetKey } from 'jose';
import { PandaError, ROLE_CLAIM, isPandaError } from '@panda-secrets/protocol';
import type { Role } from '@panda-secrets/protocol';
import { isNonEmptyString, quote } from './lib/values.js';

/** Who a verified token speaks for. */
export interface Identity {
  /** Whose secrets and jobs these are: `preferred_username`, else `sub`. */
  owner: string;
  subject: string;
  role: Role;
  groups: string[];
}

/** Checks a bearer token. */
export interface TokenVerifier {
  /**
   * Resolves the token's identity, or throws PandaError `AUTH_REFUSED` whose message says why
   * (never quoting the token); `FORBIDDEN` when a required group is missing.
   */
  verify(token: string): Promise<Identity>;
}

/** What one verifier checks every token against. */
export interface VerifierPolicy {
  issuer: string;
  audience: string;
  algorithms: string[];
  /** A group the token's `groups` claim must contain. */
  group?: string;
  now?: () => Date;
  /** How many verified tokens are remembered (least recently used first out); 0 for none. */
  cacheEntries?: number;
}

/** Verified tokens remembered by default: a server's active users and pilots, with room to spare. */
const DEFAULT_TOKEN_CACHE_ENTRIES = 1000;
/**
 * Longest a verified token is trusted without a fresh check, even before its `exp`: an issuer's key
 * that was withdrawn from its key set stops being honoured within this time.
 */
const TOKEN_CACHE_MAX_AGE_MS = 5 * 60 * 1000;

interface CachedIdentity {
  identity: Identity;
  /** Epoch milliseconds after which the entry is no longer used: the token's `exp` or the age bound. */
  until: number;
}

/**
 * A bounded least-recently-used map of verified tokens, keyed by the SHA-256 of the token so no
 * token is kept in memory. Only tokens that passed every check enter it, and an entry is never used
 * at or past the token's `exp`.
 */
function tokenCache(maxEntries: number) {
  const entries = new Map<string, CachedIdentity>();
  const keyOf = (token: string): string => createHash('sha256').update(token).digest('base64url');
  return {
    get(token: string, nowMs: number): Identity | undefined {
      if (maxEntries === 0) return undefined;
      const key = keyOf(token);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (nowMs >= entry.until) return undefined;
      // Re-inserted last: a Map iterates in insertion order, so the first key is the least recently used.
      entries.set(key, entry);
      return entry.identity;
    },
    set(token: string, identity: Identity, until: number): void {
      if (maxEntries === 0) return;
      entries.set(keyOf(token), { identity, until });
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
    },
  };
}

function refuse(why: string, cause?: unknown): PandaError {
  return new PandaError('AUTH_REFUSED', `the token was refused: ${why}`, { cause });
}

function claimProblem(claim: string, reason: string): string {
  if (claim === 'aud') return 'audience not accepted';
  if (claim === 'iss') return 'issuer not accepted';
  if (claim === 'nbf') return 'token not yet valid';
  if (reason === 'missing') return `the claim "${claim}" is missing`;
  return `the claim "${claim}" is not valid`;
}

/** Why jose refused a token, in words for the caller; never the token itself. */
function refusalReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return claimProblem(error.claim, error.reason);
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature invalid';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return 'algorithm not allowed';
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key of the issuer matches the token';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'several keys of the issuer match the token';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  return 'the token could not be verified';
}

function stringClaim(payload: JWTPayload, claim: string): string | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (!isNonEmptyString(value)) throw refuse(`the claim "${claim}" is not a non-empty string`);
  return value;
}

function identityOf(payload: JWTPayload): Identity {
  const subject = stringClaim(payload, 'sub');
  const owner = stringClaim(payload, 'preferred_username') ?? subject;
  if (owner === undefined) throw refuse('the token names no user: it has neither "preferred_username" nor "sub"');
  const { groups } = payload;
  return {
    owner,
    subject: subject ?? owner,
    role: payload[ROLE_CLAIM] === 'pilot' ? 'pilot' : 'user',
    groups: Array.isArray(groups) && groups.every((group) => typeof group === 'string') ? groups : [],
  };
}

/**
 * A verifier that checks signature (with the keys `getKey` resolves), algorithm allow-list,
 * issuer, audience and expiry with jose, then maps the claims to an {@link Identity}. A token that
 * passed is remembered (see {@link VerifierPolicy.cacheEntries}) until its `exp`, at most five
 * minutes, so a client's repeated calls skip the signature check; a refused token is never
 * remembered.
 */
export function createVerifier(getKey: JWTVerifyGetKey, policy: VerifierPolicy): TokenVerifier {
  const now = policy.now ?? (() => new Date());
  const verified = tokenCache(policy.cacheEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES);
  return {
    async verify(token) {
      if (typeof token !== 'string') throw refuse('malformed token');
      const currentDate = now();
      const cached = verified.get(token, currentDate.getTime());
      if (cached !== undefined) return cached;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          algorithms: policy.algorithms,
          issuer: policy.issuer,
          audience: policy.audience,
          requiredClaims: ['exp'],
          currentDate,
        }));
      } catch (error) {
        // A key resolver's own failure (an unreachable issuer) is not the token's fault.
        if (isPandaError(error)) throw error;
        throw refuse(refusalReason(error), error);
      }
      const identity = identityOf(payload);
      if (policy.group !== undefined && !identity.groups.includes(policy.group)) {
        throw new PandaError('FORBIDDEN', `the token is not in group ${quote(policy.group)}`);
      }
      // jose checked that exp is a number in the future.
      verified.set(
        token,
        identity,
        Math.min((payload.exp as number) * 1000, currentDate.getTime() + TOKEN_CACHE_MAX_AGE_MS),
      );
      return identity;
    },
  };
}

/**
 * Verifies tokens of panda-server's local issuer (ES256, signed by the {@link IssuerKey} whose
 * public JWK is given).
 *
 * @example
 * const verifier = createLocalVerifier({ publicJwk: key.publicJwk, issuer: 'panda-server:local', audience: 'panda-server' });
 * const { owner, role } = await verifier.verify(bearerToken);
 */
export function createLocalVerifier(options: {
  publicJwk: JWK;
  issuer: string;
  audience: string;
  now?: () => Date;
  cacheEntries?: number;
}): TokenVerifier {
  const { kty, crv, x, y } = options.publicJwk;
  let publicKey: Promise<CryptoKey> | undefined;
  const getKey = (): Promise<CryptoKey> => {
    // Only the public members are imported, so a JWK that also carries "d" still verifies.
    publicKey ??= (importJWK({ kty, crv, x, y }, 'ES256') as Promise<CryptoKey>).catch((error: unknown) => {
      throw new PandaError('KEYRING', 'the issuer public key is not an EC P-256 JWK', { cause: error });
    });
    return publicKey;
  };
  return createVerifier(getKey, { ...options, algorithms: ['ES256'] });
}
