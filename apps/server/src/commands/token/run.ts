import { signToken } from '@panda-secrets/crypto';
import type { Role } from '@panda-secrets/protocol';
import { parseDuration } from '../../duration.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadIssuerKey, type ServerSettings } from '../../setup.js';

export interface TokenOptions {
  user: string;
  role: Role;
  ttl: string;
  name?: string;
  groups: string[];
}

/** Mints an ID token from the local issuer: sub, preferred_username, name and groups, as OIDC does. */
export async function runToken(settings: ServerSettings, options: TokenOptions, now = new Date()): Promise<string> {
  const key = await loadIssuerKey(settings, { create: false });
  return signToken(
    key,
    {
      sub: options.user,
      preferred_username: options.user,
      name: options.name ?? options.user,
      groups: options.groups,
      ...(options.role === 'pilot' ? { role: 'pilot' as const } : {}),
    },
    { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, ttlSeconds: parseDuration(options.ttl), now },
  );
}
