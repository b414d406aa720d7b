import { PandaError, errorCodeForStatus, isErrorCode } from '@panda-secrets/protocol';
import { ApiResponseSchema, assertSchema } from '@panda-secrets/protocol/schemas';
import type { ApiResponse } from '@panda-secrets/protocol';

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

/** Node's codes for a TLS certificate that was refused: trust, not reachability, is the problem. */
const TLS_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** OpenSSL's words when what answered an https:// address does not speak TLS (say, plain HTTP). */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request/i;

/**
 * The error for a request that got no HTTP answer, naming what was called (`panda-server`, `the
 * identity provider`) and where, and what to check; the original error is kept as the cause. A
 * refused TLS certificate is CONFIG, with the way to trust a private CA; anything else is
 * SERVER_UNREACHABLE.
 */
export function unreachableError(server: string, error: unknown, what = 'panda-server'): PandaError {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TLS_CERTIFICATE_CODES.has(code)) {
    return new PandaError(
      'CONFIG',
      `the TLS certificate of ${what} at ${server} is not trusted (${code}); if it comes from a private CA, ` +
        "give that CA's PEM file with --ca-file or PANDA_CA_FILE",
      { cause: error },
    );
  }
  if (server.startsWith('https:') && NOT_TLS.test(String((error as Error).message ?? ''))) {
    return new PandaError(
      'SERVER_UNREACHABLE',
      `${what} at ${server} does not answer HTTPS: if it serves plain HTTP (as it does without --tls-cert) on this machine, ` +
        `use the address with http://, else check that the address names the right port`,
      { cause: error },
    );
  }
  const reason =
    typeof code === 'string'
      ? (NETWORK_REASONS[code] ?? `${code}: ${(error as Error).message}`)
      : String((error as Error).message ?? error);
  return new PandaError(
    'SERVER_UNREACHABLE',
    `cannot reach ${what} at ${server} (${reason}); check that the address is right, ` +
      `that ${what} is running there and that the network allows the connection`,
    { cause: error },
  );
}

function parseBody(text: string): ApiResponse | undefined {
  try {
    const body: unknown = JSON.parse(text);
    assertSchema(ApiResponseSchema, body, (problem) => problem);
    return body;
  } catch {
    // A body that is not JSON in panda-server's shape is reported below with the status.
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
