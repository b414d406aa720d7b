import { DEFAULT_SERVER_HOST, DEFAULT_SERVER_PORT, PandaError } from '@panda-secrets/protocol';
import type { ClientOptions } from '@panda-secrets/client';
import type { Deps, GlobalOptions } from './deps.js';

export const NO_TOKEN_MESSAGE =
  'no token: give one with --token-file FILE, or set PANDA_AUTH_ID_TOKEN to the token itself, ' +
  'or set OIDC_AUTH_TOKEN_FILE to a file holding it (panda-server token --user NAME prints one)';

/** Reads a token file; a missing or empty one is an authentication problem, named with the file. */
async function readTokenFile(deps: Deps, path: string, source: string): Promise<string> {
  let text: string;
  try {
    text = Buffer.from(await deps.fs.readFile(path)).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new PandaError('AUTH_REQUIRED', `cannot read the token file "${path}" (${source}): ${reason}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new PandaError('AUTH_REQUIRED', `the token file "${path}" (${source}) is empty`);
  return token;
}

async function resolveToken(deps: Deps, options: GlobalOptions): Promise<string> {
  if (options.tokenFile !== undefined) return readTokenFile(deps, options.tokenFile, '--token-file');
  const token = deps.env.PANDA_AUTH_ID_TOKEN?.trim();
  if (token) return token;
  const file = deps.env.OIDC_AUTH_TOKEN_FILE;
  if (file) return readTokenFile(deps, file, 'OIDC_AUTH_TOKEN_FILE');
  throw new PandaError('AUTH_REQUIRED', NO_TOKEN_MESSAGE);
}

function resolveServer(deps: Deps, options: GlobalOptions): string {
  const [server, source] =
    options.server !== undefined
      ? [options.server, '--server']
      : deps.env.PANDA_URL_SSL
        ? [deps.env.PANDA_URL_SSL, 'PANDA_URL_SSL']
        : [`http://${DEFAULT_SERVER_HOST}:${DEFAULT_SERVER_PORT}`, 'the default'];
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new PandaError('CONFIG', `the server address "${server}" (${source}) is not a URL such as https://host:port`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PandaError('CONFIG', `the server address "${server}" (${source}) must start with http:// or https://`);
  }
  return server;
}

/**
 * The client options from the command line and PanDA's environment variables: server from
 * --server, PANDA_URL_SSL or http://127.0.0.1:25080; token from --token-file, PANDA_AUTH_ID_TOKEN
 * or OIDC_AUTH_TOKEN_FILE; VO from --vo or PANDA_AUTH_VO.
 */
export async function resolveClientOptions(deps: Deps, options: GlobalOptions): Promise<ClientOptions> {
  const server = resolveServer(deps, options);
  const token = await resolveToken(deps, options);
  const vo = options.vo ?? (deps.env.PANDA_AUTH_VO || undefined);
  return vo === undefined ? { server, token } : { server, token, vo };
}
