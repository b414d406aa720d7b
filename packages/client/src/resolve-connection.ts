import {
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  PandaError,
  isLoopbackHost,
  type ErrorCode,
} from '@panda-secrets/protocol';
import type { ClientOptions } from './client.js';
import { createOAuthHttp } from './signin/http.js';
import { SignIn, type SignInSource } from './signin/signin.js';

/** What the connection settings are read from: the environment and token files. */
export interface ConnectionSource {
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): Promise<Uint8Array>;
  /** How this program signs a person in when no token is given; without it, no sign-in (pilots). */
  signIn?: SignInSource;
}

export interface ConnectionOptions {
  server?: string;
  tokenFile?: string;
  vo?: string;
  /** A PEM file of a private CA to trust besides the public ones (else PANDA_CA_FILE). */
  caFile?: string;
}

/** Whose token a command needs: a user's, or a pilot's (minted with --role pilot). */
export type TokenRole = 'user' | 'pilot';

/** The three ways to give a token, and how to get one. */
function giveTokenHint(role: TokenRole): string {
  const [what, mint] = role === 'pilot' ? ['the pilot token', ' --role pilot'] : ['one', ''];
  return (
    `give ${what} with --token-file FILE, or set PANDA_AUTH_ID_TOKEN to the token itself, ` +
    `or OIDC_AUTH_TOKEN_FILE to a file holding it (panda-server token --user NAME${mint} prints one)`
  );
}

/** A file a token is read from, and the option or variable that named it. */
export interface TokenFile {
  path: string;
  from: string;
}

/**
 * A token is one word: a line break or space inside it (two tokens pasted, a wrapped copy) would
 * otherwise fail deep in the HTTP layer as if the server could not be reached.
 */
function assertOneToken(token: string, origin: string): void {
  if (/[\s\x00-\x1f\x7f]/.test(token)) {
    throw new PandaError(
      'AUTH_REQUIRED',
      `${origin} holds more than one word: a token is a single line without spaces; write only the token there`,
    );
  }
}

/** What to say when no token was given: the three ways to give one, and how to get one. */
export function noTokenMessage(role: TokenRole = 'user'): string {
  return (
    `no token: ${giveTokenHint(role)}` +
    (role === 'pilot'
      ? ''
      : '; or sign in with "pbook login" where the server publishes an auth config (PANDA_AUTH_VO names your VO)')
  );
}

/** Reads a text file the user named; a missing or unreadable one is a `code` error naming the file and `from`. */
async function readNamedFile(
  source: Pick<ConnectionSource, 'readFile'>,
  path: string,
  what: string,
  from: string,
  code: ErrorCode,
): Promise<string> {
  try {
    return Buffer.from(await source.readFile(path)).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new PandaError(code, `cannot read the ${what} "${path}" (${from}): ${reason}`, { cause: error });
  }
}

/** Reads a token file; a missing or empty one is an authentication problem, named with the file. */
export async function readTokenFile(
  source: Pick<ConnectionSource, 'readFile'>,
  { path, from }: TokenFile,
): Promise<string> {
  const token = (await readNamedFile(source, path, 'token file', from, 'AUTH_REQUIRED')).trim();
  if (token === '') throw new PandaError('AUTH_REQUIRED', `the token file "${path}" (${from}) is empty`);
  assertOneToken(token, `the token file "${path}" (${from})`);
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

/** The token given by --token-file, PANDA_AUTH_ID_TOKEN or OIDC_AUTH_TOKEN_FILE, in that order. */
async function givenToken(
  source: ConnectionSource,
  options: ConnectionOptions,
): Promise<{ token: string; from: string } | undefined> {
  const file = tokenFileOf(source, options);
  if (file !== undefined) return { token: await readTokenFile(source, file), from: file.from };
  const token = source.env.PANDA_AUTH_ID_TOKEN?.trim();
  if (token) {
    assertOneToken(token, 'PANDA_AUTH_ID_TOKEN');
    return { token, from: 'PANDA_AUTH_ID_TOKEN' };
  }
  return undefined;
}

/** The PEM of --ca-file or PANDA_CA_FILE; a missing file is a CONFIG error naming it. */
async function resolveCa(source: ConnectionSource, options: ConnectionOptions): Promise<string | undefined> {
  const [path, from] =
    options.caFile !== undefined ? [options.caFile, '--ca-file'] : [source.env.PANDA_CA_FILE, 'PANDA_CA_FILE'];
  if (!path) return undefined;
  const pem = await readNamedFile(source, path, 'CA file', from, 'CONFIG');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new PandaError('CONFIG', `the CA file "${path}" (${from}) holds no PEM certificate`);
  return pem;
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
    throw new PandaError('CONFIG', `the server address "${server}" (${from}) is not a URL such as https://host:port`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PandaError('CONFIG', `the server address "${server}" (${from}) must start with http:// or https://`);
  }
  // As PanDA's own client does, only the scheme and host:port are taken: PanDA users have
  // PANDA_URL_SSL=https://host:25443/server/panda, and every call goes to /api/v1/... there.
  return url.origin;
}

interface Resolved {
  server: string;
  vo?: string;
  ca?: string;
}

async function resolveConnection(source: ConnectionSource, options: ConnectionOptions): Promise<Resolved> {
  const server = resolveServer(source, options);
  const vo = options.vo ?? (source.env.PANDA_AUTH_VO || undefined);
  const ca = await resolveCa(source, options);
  return { server, ...(vo === undefined ? {} : { vo }), ...(ca === undefined ? {} : { ca }) };
}

function signInFor(signIn: SignInSource, resolved: Resolved): SignIn {
  return new SignIn(signIn, {
    server: resolved.server,
    ...(resolved.vo === undefined ? {} : { vo: resolved.vo }),
    http: signIn.http ?? createOAuthHttp(resolved.ca === undefined ? {} : { ca: resolved.ca }),
    noTokenHint: giveTokenHint('user'),
    loginCommand: 'pbook login',
  });
}

/**
 * Every call carries the token: over plain http it would cross the network readable by anyone on
 * the way, so http is taken only for a loopback address (a local server, or a TLS proxy's back end).
 */
function assertTokenTransport(server: string): void {
  const url = new URL(server);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new PandaError(
      'CONFIG',
      `refusing to send your token over plain http to ${url.host}: use https://${url.host} (plain http only on a loopback address such as 127.0.0.1)`,
    );
  }
}

/**
 * The client options from the command line and PanDA's environment variables, the same for
 * every command: server from --server, PANDA_URL_SSL or http://127.0.0.1:25080; token from --token-file,
 * PANDA_AUTH_ID_TOKEN or OIDC_AUTH_TOKEN_FILE, else (for a user, when `source.signIn` is given) the
 * saved sign-in, renewed or made anew as needed; VO from --vo or PANDA_AUTH_VO; a private CA from
 * --ca-file or PANDA_CA_FILE.
 */
export async function resolveClientOptions(
  source: ConnectionSource,
  options: ConnectionOptions,
  role: TokenRole = 'user',
): Promise<ClientOptions> {
  const resolved = await resolveConnection(source, options);
  assertTokenTransport(resolved.server);
  const given = await givenToken(source, options);
  let token: string;
  if (given !== undefined) token = given.token;
  else if (source.signIn !== undefined && role === 'user') token = await signInFor(source.signIn, resolved).idToken();
  else throw new PandaError('AUTH_REQUIRED', noTokenMessage(role));
  return {
    server: resolved.server,
    token,
    ...(resolved.vo === undefined ? {} : { vo: resolved.vo }),
    ...(resolved.ca === undefined ? {} : { ca: resolved.ca }),
  };
}

/** The token a command would send and where it comes from, for `pbook whoami`. */
export async function resolveTokenSource(
  source: ConnectionSource & { signIn: SignInSource },
  options: ConnectionOptions,
): Promise<{ token: string; from: string }> {
  const given = await givenToken(source, options);
  if (given !== undefined) return given;
  return {
    token: await signInFor(source.signIn, await resolveConnection(source, options)).idToken(),
    from: source.signIn.cache.path,
  };
}

/** The sign-in for `pbook login` and `pbook logout`, on the server and VO the options name. */
export async function openSignIn(
  source: ConnectionSource & { signIn: SignInSource },
  options: ConnectionOptions,
): Promise<SignIn> {
  return signInFor(source.signIn, await resolveConnection(source, options));
}
