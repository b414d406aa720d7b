import { readTokenFile, type ConnectionSource, type TokenFile } from '@panda-secrets/client';
import type { Logger } from 'pino';

/** The pilot warns in its log once a token it reads expires within this many seconds. */
const TOKEN_WARNING_SECONDS = 15 * 60;

/** The `exp` claim of a JWT, read without verifying it (the server verifies); undefined if it has none. */
function tokenExpiry(token: string): Date | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : undefined;
  } catch {
    return undefined;
  }
}

export interface TokenReaderDeps extends Pick<ConnectionSource, 'readFile'> {
  now(): Date;
  log: Pick<Logger, 'warn'>;
}

/**
 * Gives the token before each call, re-read from its file so an operator can renew it in place
 * while the pilot runs. A token that expires soon is warned about once; a file caught in the middle
 * of being rewritten (unreadable or empty) leaves the last token in use, with a warning.
 */
export function tokenReader(deps: TokenReaderDeps, file: TokenFile, first: string): () => Promise<string> {
  let current = first;
  let warned: string | undefined;
  const check = (token: string): void => {
    const expiry = tokenExpiry(token);
    if (expiry === undefined || warned === token) return;
    const left = Math.round((expiry.getTime() - deps.now().getTime()) / 1000);
    if (left > TOKEN_WARNING_SECONDS) return;
    warned = token;
    const when = left > 0 ? `expires in ${left} s (${expiry.toISOString()})` : `expired at ${expiry.toISOString()}`;
    deps.log.warn(
      `the token in ${file.path} ${when}: write a new one to the file, the pilot reads it before each call`,
    );
  };
  check(first);
  return async () => {
    try {
      current = await readTokenFile(deps, file);
    } catch (error) {
      deps.log.warn(`${(error as Error).message}; using the token read before`);
    }
    check(current);
    return current;
  };
}
