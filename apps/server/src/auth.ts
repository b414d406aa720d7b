import type { Identity, TokenVerifier } from '@panda-secrets/crypto';
import { PandaError, assertNoNul, type Role } from '@panda-secrets/protocol';
import type { FastifyRequest } from 'fastify';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Verifies the request's bearer token and returns the caller. PanDA answers bad tokens with 403. */
export async function authenticate(request: FastifyRequest, verifier: TokenVerifier): Promise<Identity> {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw new PandaError('AUTH_REQUIRED', 'no credentials: send an ID token as "Authorization: Bearer <token>"');
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    throw new PandaError('AUTH_REFUSED', 'the Authorization header must be "Bearer <token>"');
  }
  const identity = await verifier.verify(match[1]);
  // The user name keys every row the caller owns: text no store may hold is refused up front.
  assertNoNul("the token's user name (preferred_username, else sub)", identity.owner);
  assertNoNul("the token's subject (sub)", identity.subject);
  return identity;
}

/** Throws FORBIDDEN unless the caller has the role a route needs. */
export function requireRole(identity: Identity, role: Role): void {
  if (identity.role === role) return;
  throw new PandaError(
    'FORBIDDEN',
    role === 'pilot'
      ? 'this call is for pilots: a user token cannot acquire or update jobs'
      : 'this call is for users: a pilot token can only acquire and update jobs',
  );
}
