import { createRemoteJWKSet, errors } from 'jose';
import type { JWTVerifyGetKey } from 'jose';
import { PandaError, isLoopbackHost, isPandaError } from '@panda-secrets/protocol';
import { isNonEmptyString, isRecord, quote } from './lib/values.js';
import { createVerifier } from './verify.js';
import type { TokenVerifier } from './verify.js';

/** The algorithms an OIDC issuer may sign with: asymmetric only, so no key can be a shared secret. */
const OIDC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
/** The same bound jose puts on each key set fetch. */
const DISCOVERY_TIMEOUT_MS = 5000;

/** jose errors of a key set fetch that mean the issuer, not the token, failed. */
function isKeySetFailure(error: unknown): boolean {
  return (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError) ||
    error.code === 'ERR_JOSE_GENERIC'
  );
}

/** Fetches the discovery document and returns its `jwks_uri`, after checking its issuer. */
async function discoverKeySetUrl(issuer: string): Promise<URL> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const unreachable = (problem: string, cause?: unknown): PandaError =>
    new PandaError('UNAVAILABLE', `the OIDC issuer ${quote(issuer)} could not be reached: ${problem}`, { cause });
  let document: unknown;
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
    });
    if (response.status !== 200) throw unreachable(`${url} answered HTTP ${response.status}`);
    document = await response.json();
  } catch (error) {
    if (isPandaError(error)) throw error;
    throw unreachable(`no JSON document from ${url}`, error);
  }
  if (!isRecord(document)) throw unreachable(`${url} did not answer a JSON object`);
  if (document.issuer !== issuer) {
    // A document naming another issuer is a misconfiguration (or a redirected request); trusting
    // its keys would accept tokens of that other issuer.
    const named = typeof document.issuer === 'string' ? quote(document.issuer) : 'no issuer';
    throw new PandaError(
      'SERVER_ERROR',
      `the OIDC discovery document at ${url} names ${named}, not the configured issuer ${quote(issuer)}`,
    );
  }
  const { jwks_uri: jwksUri } = document;
  if (!isNonEmptyString(jwksUri) || !URL.canParse(jwksUri) || !/^https?:$/.test(new URL(jwksUri).protocol)) {
    throw unreachable(`the discovery document at ${url} has no http(s) "jwks_uri"`);
  }
  const jwksUrl = new URL(jwksUri);
  if (!isTrustedTransport(jwksUrl)) {
    // Whoever can alter a plain-HTTP answer could hand us signing keys and forge any token.
    throw new PandaError(
      'SERVER_ERROR',
      `the OIDC key set ${quote(jwksUri)} must be served over https (plain http only on a loopback address)`,
    );
  }
  return jwksUrl;
}

/** https anywhere, plain http only to this machine. */
function isTrustedTransport(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/**
 * Verifies tokens of an OpenID Connect issuer: on the first token it reads
 * `${issuer}/.well-known/openid-configuration`, checks that the document names the same issuer,
 * and from then on verifies signatures with the keys at its `jwks_uri` (cached and refreshed by
 * jose). Throws PandaError `CONFIG` at once for an issuer that is not https (plain http only on
 * a loopback address), `UNAVAILABLE` when the issuer cannot be reached, `AUTH_REFUSED` for a
 * bad token and `FORBIDDEN` when `group` is given and the token's `groups` claim lacks it.
 *
 * @example
 * const verifier = createOidcVerifier({ issuer: 'https://idp.example.org/realms/panda', audience: 'panda-server', group: 'atlas' });
 * const { owner, groups } = await verifier.verify(bearerToken);
 */
export function createOidcVerifier(options: {
  issuer: string;
  audience: string;
  group?: string;
  now?: () => Date;
}): TokenVerifier {
  if (!URL.canParse(options.issuer) || !isTrustedTransport(new URL(options.issuer))) {
    throw new PandaError(
      'CONFIG',
      `the OIDC issuer ${quote(options.issuer)} must be an https URL (plain http only on a loopback address)`,
    );
  }
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const loadKeySet = async (): Promise<JWTVerifyGetKey> => {
    const jwksUrl = await discoverKeySetUrl(options.issuer);
    const remote = createRemoteJWKSet(jwksUrl, { timeoutDuration: DISCOVERY_TIMEOUT_MS });
    return async (header, token) => {
      try {
        return await remote(header, token);
      } catch (error) {
        if (!isKeySetFailure(error)) throw error;
        throw new PandaError(
          'UNAVAILABLE',
          `the OIDC issuer ${quote(options.issuer)} could not be reached: no key set from ${jwksUrl.href}`,
          { cause: error },
        );
      }
    };
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    // One discovery serves every later token; a failed one is forgotten so the next token retries.
    keySet ??= loadKeySet().catch((error: unknown) => {
      keySet = undefined;
      throw error;
    });
    return (await keySet)(header, token);
  };
  return createVerifier(getKey, { ...options, algorithms: OIDC_ALGORITHMS });
}
