import { writePrivateOutput } from '@panda-secrets/cli-kit';
import { signToken } from '@panda-secrets/crypto';
import { parseDuration } from '../../duration.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, loadIssuerKey, type ServerSettings } from '../../setup.js';
import { serverSettings } from '../settings.js';
import type { Deps, GlobalOptions } from '../spec.js';
import type { TokenOptions } from './index.js';

/** Mints an ID token from the local issuer: sub, preferred_username, name and groups, as OIDC does. */
async function mintToken(settings: ServerSettings, options: TokenOptions): Promise<string> {
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
    { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, ttlSeconds: parseDuration(options.ttl), now: new Date() },
  );
}

/**
 * Prints a token of the local issuer, whose key the server made on its first start (never made
 * here: a mistyped --data-dir is an error, not a token no server accepts), or writes it to --out.
 */
export async function runToken(deps: Deps, _global: GlobalOptions, options: TokenOptions): Promise<void> {
  const token = await mintToken(serverSettings(options, deps.env), options);
  if (options.out === undefined) deps.stdout.write(`${token}\n`);
  else await writePrivateOutput(options.out, `${token}\n`);
}
