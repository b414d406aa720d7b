import { createECDH } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { JWK } from 'jose';
import { PandaError, ROLE_CLAIM, parseSecretJson } from '@panda-secrets/protocol';
import type { Role } from '@panda-secrets/protocol';
import { isNonEmptyString, isRecord } from './lib/values.js';

/** The claims panda-server's local issuer puts into a token (OIDC's names). */
export interface TokenClaims {
  sub: string;
  preferred_username?: string;
  name?: string;
  groups?: string[];
  /** Only `pilot` is written; a token without the claim is a user's. */
  role?: Role;
}

/** The local issuer's ES256 signing key; `kid` is the public key's JWK thumbprint. */
export interface IssuerKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

const ISSUER_ALG = 'ES256';

/** The public half of an EC JWK, labelled for signature verification. */
function publicEcJwk(jwk: JWK, kid: string): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid, alg: ISSUER_ALG, use: 'sig' };
}

/**
 * True when (x, y) is the public point of the private scalar d. Checked when the key is read, since
 * a mismatched d would sign tokens that the published public key never verifies.
 */
function isPublicPointOf(d: string, x: string, y: string): boolean {
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(d, 'base64url'));
    const point = ecdh.getPublicKey();
    // An uncompressed point is 0x04, then X and Y of 32 bytes each.
    return point.subarray(1, 33).toString('base64url') === x && point.subarray(33).toString('base64url') === y;
  } catch {
    return false;
  }
}

/**
 * Makes a fresh ES256 signing key for the local token issuer.
 *
 * @example
 * const key = await generateIssuerKey();
 * await writeFile(path, serializeIssuerKey(key), { mode: 0o600 });
 */
export async function generateIssuerKey(): Promise<IssuerKey> {
  const { privateKey } = await generateKeyPair(ISSUER_ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateJwk: { ...jwk, kid, alg: ISSUER_ALG }, publicJwk: publicEcJwk(jwk, kid) };
}

/**
 * The issuer key as JSON text: its private JWK (with `kid` and `alg`), a standard format other
 * JOSE tools read. Store it like a password (a 0600 file).
 *
 * @example
 * parseIssuerKey(serializeIssuerKey(key)); // an equal key
 */
export function serializeIssuerKey(key: IssuerKey): string {
  return JSON.stringify(key.privateJwk);
}

/**
 * Reads an issuer key written by {@link serializeIssuerKey}. Throws PandaError `KEYRING` when it is
 * not an ES256 private JWK with a `kid`; the message never quotes key material.
 *
 * @example
 * const key = parseIssuerKey(await readFile(path, 'utf8'));
 */
export function parseIssuerKey(text: string): IssuerKey {
  const invalid = (problem: string): PandaError => new PandaError('KEYRING', `the issuer key is not valid: ${problem}`);
  const jwk = parseSecretJson(text, () => invalid('it is not JSON'));
  if (!isRecord(jwk)) throw invalid('it is not a JSON object');
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256') throw invalid('it must be an EC P-256 key (kty "EC", crv "P-256")');
  if (!isNonEmptyString(jwk.kid)) throw invalid('it has no "kid"');
  const { x, y, d, kid } = jwk;
  if (!isNonEmptyString(x) || !isNonEmptyString(y) || !isNonEmptyString(d)) {
    throw invalid('it must hold the private key: x, y and d');
  }
  if (!isPublicPointOf(d, x, y)) throw invalid('x, y and d are not one P-256 key pair');
  const privateJwk: JWK = { kty: 'EC', crv: 'P-256', x, y, d, kid, alg: ISSUER_ALG };
  return { kid, privateJwk, publicJwk: publicEcJwk(privateJwk, kid) };
}

/**
 * Signs a token for panda-server's local issuer: ES256, header `kid` and `typ: JWT`, claims `iss`,
 * `aud`, `sub`, `iat`, `exp` (now + ttl), and `preferred_username`, `name`, `groups` when given;
 * `role` only for a pilot.
 *
 * @example
 * const token = await signToken(key, { sub: 'alice', preferred_username: 'alice' },
 *   { issuer: 'panda-server:local', audience: 'panda-server', ttlSeconds: 3600 });
 */
export async function signToken(
  key: IssuerKey,
  claims: TokenClaims,
  options: { issuer: string; audience: string; ttlSeconds: number; now?: Date },
): Promise<string> {
  if (!isNonEmptyString(claims.sub)) throw new PandaError('INVALID_INPUT', 'a token needs a non-empty subject');
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new PandaError('INVALID_INPUT', 'a token lifetime must be a whole number of seconds above 0');
  }
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const payload = {
    preferred_username: claims.preferred_username,
    name: claims.name,
    groups: claims.groups,
    [ROLE_CLAIM]: claims.role === 'pilot' ? 'pilot' : undefined,
  };
  // JSON drops undefined members, so absent claims stay absent from the token.
  return new SignJWT(payload)
    .setProtectedHeader({ alg: ISSUER_ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(claims.sub)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSeconds)
    .sign(await importJWK(key.privateJwk, ISSUER_ALG));
}
