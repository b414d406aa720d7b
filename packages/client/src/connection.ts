import { DEFAULT_SERVER_HOST, DEFAULT_SERVER_PORT, PandaError } from '@panda-secrets/protocol';
import type { ClientOptions } from './client.js';

/** What the connection settings are read from: the environment and token files. */
export interface ConnectionSource {
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Promise<Uint8Array>;
}

export interface ConnectionOptions {
  server?: string;
  tokenFile?: string;
  vo?: string;
}

/** Whose token a command needs: a user's, or a pilot's (minted with --role pilot). */
export type TokenRole = 'user' | 'pilot';

/** What to say when no token was given: the three ways to give one, and how to get one. */
export function noTokenMessage(role: TokenRole = 'user'): string {
  const [what, mint] = role === 'pilot' ? ['the pilot token', ' --role pilot'] : ['one', ''];
  return (
    `no token: give ${what} with --token-file FILE, or set PANDA_AUTH_ID_TOKEN to the token itself, ` +
    `or OIDC_AUTH_TOKEN_FILE to a file holding it (panda-server token --user NAME${mint} prints one)`
  );
}

/** A file a token is read from, and the option or variable that named it. */
export interface TokenFile {
  path: string;
  from: string;
}

/** Reads a token file; a missing or empty one is an authentication problem, named with the file. */
export async function readTokenFile(source: Pick<ConnectionSource, 'readFile'>, { path, from }: TokenFile): Promise<string> {
  let text: string;
  try {
    text = Buffer.from(await source.readFile(path)).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new PandaError('AUTH_REQUIRED', `cannot read the token file "${path}" (${from}): ${reason}`, { cause: error });
  }
  const token = text.trim();
  if (token === '') throw new PandaError('AUTH_REQUIRED', `the token file "${path}" (${from}) is empty`);
  return token;
}

/**
 * The file the token comes from, if it comes from one: --token-file, else OIDC_AUTH_TOKEN_FILE
 * unless PANDA_AUTH_ID_TOKEN holds the token itself (the order resolveClientOptions reads them in).
 */
export function tokenFileOf(source: Pick<ConnectionSource, 'env'>, options: ConnectionOptions): TokenFile | undefined {
  if (options.tokenFile !== undefined) return { path: options.tokenFile, from: '--token-file' };
  if (source.env.PANDA_AUTH_ID_TOKEN?.trim()) return undefined;
  const file = source.env.OIDC_AUTH_TOKEN_FILE;
  return file ? { path: file, from: 'OIDC_AUTH_TOKEN_FILE' } : undefined;
}

async function resolveToken(source: ConnectionSource, options: ConnectionOptions, role: TokenRole): Promise<string> {
  const file = tokenFileOf(source, options);
  if (file !== undefined) return readTokenFile(source, file);
  const token = source.env.PANDA_AUTH_ID_TOKEN?.trim();
  if (token) return token;
  throw new PandaError('AUTH_REQUIRED', noTokenMessage(role));
}

function resolveServer(source: ConnectionSource, options: ConnectionOptions): string {
  const [server, from] =
    options.server !== undefined
      ? [options.server, '--server']
      : source.env.PANDA_URL_SSL
        ? [source.env.PANDA_URL_SSL, 'PANDA_URL_SSL']
        : [`http://${DEFAULT_SERVER_HOST}:${DEFAULT_SERVER_PORT}`, 'the default'];
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new PandaError('CONFIG', `the server address "${server}" (${from}) is not a URL such as https://host:port`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PandaError('CONFIG', `the server address "${server}" (${from}) must start with http:// or https://`);
  }
  return server;
}

/**
 * The client options from the command line and PanDA's environment variables, the same for
 * every command: server from --server, PANDA_URL_SSL or http://127.0.0.1:25080; token from --token-file,
 * PANDA_AUTH_ID_TOKEN or OIDC_AUTH_TOKEN_FILE; VO from --vo or PANDA_AUTH_VO.
 */
export async function resolveClientOptions(
  source: ConnectionSource,
  options: ConnectionOptions,
  role: TokenRole = 'user',
): Promise<ClientOptions> {
  const server = resolveServer(source, options);
  const token = await resolveToken(source, options, role);
  const vo = options.vo ?? (source.env.PANDA_AUTH_VO || undefined);
  return vo === undefined ? { server, token } : { server, token, vo };
}
