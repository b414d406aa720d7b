import { PandaError, errorCodeForStatus } from '@panda-secrets/protocol';
import type { ApiResponse, ErrorCode } from '@panda-secrets/protocol';

/**
 * Every code the protocol defines. Typed as a record over `ErrorCode` so the compiler fails here
 * when the protocol gains a code, instead of the client silently dropping it.
 */
const KNOWN_CODES: Record<ErrorCode, true> = {
  INVALID_NAME: true,
  TOO_LARGE: true,
  INVALID_TYPE: true,
  INVALID_INPUT: true,
  QUOTA_EXCEEDED: true,
  NOT_FOUND: true,
  CONFLICT: true,
  AUTH_REQUIRED: true,
  AUTH_REFUSED: true,
  FORBIDDEN: true,
  SERVER_UNREACHABLE: true,
  SERVER_ERROR: true,
  UNAVAILABLE: true,
  DECRYPT_FAILED: true,
  KEYRING: true,
  USAGE: true,
  CONFIG: true,
};

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(KNOWN_CODES, value);
}

/** What a failed socket-level call means for the user, by Node's error code. */
const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ECONNABORTED: 'connection aborted',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
};

/**
 * The SERVER_UNREACHABLE error for a request that got no HTTP answer: names the server and what
 * to check, keeps the original error as the cause.
 */
export function unreachableError(server: string, error: unknown): PandaError {
  const code = (error as { code?: unknown }).code;
  const reason =
    typeof code === 'string'
      ? (NETWORK_REASONS[code] ?? `${code}: ${(error as Error).message}`)
      : String((error as Error).message ?? error);
  return new PandaError(
    'SERVER_UNREACHABLE',
    `cannot reach panda-server at ${server} (${reason}); check that the server address is right, ` +
      `that panda-server is running there and that the network allows the connection`,
    { cause: error },
  );
}

function parseBody(text: string): ApiResponse | undefined {
  try {
    const body: unknown = JSON.parse(text);
    if (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as ApiResponse).success === 'boolean' &&
      typeof (body as ApiResponse).message === 'string' &&
      'data' in body
    ) {
      return body as ApiResponse;
    }
  } catch {
    // A body that is not JSON is reported below with the status, like any other foreign answer.
  }
  return undefined;
}

/**
 * Turns an HTTP answer into its `{success, message, data}` body, or throws the PandaError it
 * stands for: the body's own `code` when it names one, else the code the status implies.
 */
export function checkedBody(server: string, status: number, text: string): ApiResponse {
  const body = parseBody(text);
  if (body === undefined) {
    throw new PandaError(
      status >= 400 ? errorCodeForStatus(status) : 'SERVER_ERROR',
      `the answer from ${server} (HTTP ${status}) is not a panda-server response; check that the server address points to panda-server`,
    );
  }
  if (status >= 200 && status < 300 && body.success) {
    return body;
  }
  const code = isErrorCode(body.code) ? body.code : errorCodeForStatus(status);
  throw new PandaError(code, body.message || `panda-server answered HTTP ${status}`);
}

/** A SERVER_ERROR for an answer whose `data` does not have the promised shape. */
export function malformedData(what: string, cause?: unknown): PandaError {
  return new PandaError('SERVER_ERROR', `panda-server answered with malformed data: ${what}`, { cause });
}
