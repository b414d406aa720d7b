/**
 * Every failure panda-secrets reports carries a stable `code`. Packages throw these; only the CLI
 * entry points and the HTTP layer turn them into exit codes and statuses.
 */
export const ERROR_CODES = [
  /** A secret name breaks the env or file name rule. */
  'INVALID_NAME',
  /** A value or file is larger than the limit. */
  'TOO_LARGE',
  /** A value has the wrong type (not a string). */
  'INVALID_TYPE',
  /** Any other malformed request or argument. */
  'INVALID_INPUT',
  /** The user's secret count or total size cap would be exceeded. */
  'QUOTA_EXCEEDED',
  /** The secret, job or file does not exist. */
  'NOT_FOUND',
  /** The thing's state does not allow the call (kill of an ended task, retry with nothing to retry). */
  'CONFLICT',
  /** No credentials were given. */
  'AUTH_REQUIRED',
  /** The credentials were refused (bad, expired, forged token). */
  'AUTH_REFUSED',
  /** Authenticated, but not allowed to do this. */
  'FORBIDDEN',
  /** The server could not be reached. */
  'SERVER_UNREACHABLE',
  /** The server failed. */
  'SERVER_ERROR',
  /** The server is up but its store is not (for example the database is down). */
  'UNAVAILABLE',
  /** Too many requests of one user (rate or concurrency): wait as the server says, then try again. */
  'RATE_LIMITED',
  /** A ciphertext failed to decrypt: tampered, moved to another owner or key, or wrong key. */
  'DECRYPT_FAILED',
  /** The key ring is missing, unreadable or does not match the data. */
  'KEYRING',
  /** The command line was wrong. */
  'USAGE',
  /** Local configuration (server address, token) is missing or wrong. */
  'CONFIG',
  /** The person pressed Ctrl-C at a question of a command line program: nothing was changed. */
  'INTERRUPTED',
] as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** True when `value` is one of {@link ERROR_CODES} (for codes read from the wire or another process). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export interface PandaErrorOptions {
  cause?: unknown;
}

/**
 * The one error class of panda-secrets. `message` is written for humans, says what was wrong and
 * what is allowed, and never holds a secret value.
 *
 * @example
 * throw new PandaError('INVALID_NAME', 'invalid secret name "1ABC": ...');
 */
export class PandaError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: PandaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PandaError';
    this.code = code;
  }
}

/** True when `error` is a PandaError (also across module copies, by shape). */
export function isPandaError(error: unknown): error is PandaError {
  return (
    error instanceof PandaError ||
    (error instanceof Error && error.name === 'PandaError' && typeof (error as PandaError).code === 'string')
  );
}

/** The HTTP status the server answers with for each error code. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_NAME':
    case 'INVALID_TYPE':
    case 'INVALID_INPUT':
    case 'USAGE':
    // Never sent: a program's own; the status only keeps every code answerable.
    case 'INTERRUPTED':
      return 400;
    case 'TOO_LARGE':
    case 'QUOTA_EXCEEDED':
      return 413;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'AUTH_REQUIRED':
      return 401;
    case 'AUTH_REFUSED':
    case 'FORBIDDEN':
      return 403;
    case 'UNAVAILABLE':
    case 'SERVER_UNREACHABLE':
      return 503;
    case 'RATE_LIMITED':
      return 429;
    case 'DECRYPT_FAILED':
    case 'KEYRING':
    case 'SERVER_ERROR':
    case 'CONFIG':
      return 500;
  }
}

/** The error code a client infers from an HTTP status when the body names none. */
export function errorCodeForStatus(status: number): ErrorCode {
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return 'AUTH_REFUSED';
  if (status === 413) return 'TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'UNAVAILABLE';
  if (status >= 400 && status < 500) return 'INVALID_INPUT';
  return 'SERVER_ERROR';
}

/** How many problems one message lists; a file with thousands of bad entries gets a message of bounded size. */
const MAX_LISTED_PROBLEMS = 10;

/**
 * The problems of one input as one message: the first, then up to MAX_LISTED_PROBLEMS - 1 more,
 * then how many were not listed. Each problem names its entry (by key or position), never a value.
 *
 * @example
 * listProblems(['"A" is bad', '"B" is bad']) // '"A" is bad (and 1 more: "B" is bad)'
 */
export function listProblems(problems: readonly string[]): string {
  const [first = 'an unreadable entry', ...rest] = problems;
  if (rest.length === 0) return first;
  const listed = rest.slice(0, MAX_LISTED_PROBLEMS - 1);
  const unlisted = rest.length - listed.length;
  return `${first} (and ${rest.length} more: ${listed.join('; ')}${unlisted > 0 ? `; ${unlisted} not listed` : ''})`;
}
