import { describe, expect, it } from '@jest/globals';
import {
  ERROR_CODES,
  ExitCode,
  PandaError,
  errorCodeForStatus,
  exitCodeFor,
  httpStatusFor,
  isErrorCode,
  isPandaError,
} from './index.js';

describe('error codes', () => {
  it('maps codes to the documented exit codes', () => {
    expect(exitCodeFor('USAGE')).toBe(ExitCode.USAGE);
    expect(exitCodeFor('NOT_FOUND')).toBe(3);
    expect(exitCodeFor('AUTH_REFUSED')).toBe(4);
    expect(exitCodeFor('FORBIDDEN')).toBe(4);
    expect(exitCodeFor('INVALID_NAME')).toBe(5);
    expect(exitCodeFor('TOO_LARGE')).toBe(5);
    expect(exitCodeFor('CONFLICT')).toBe(6);
    expect(exitCodeFor('SERVER_UNREACHABLE')).toBe(1);
    expect(exitCodeFor('RATE_LIMITED')).toBe(7);
    expect(exitCodeFor('INTERRUPTED')).toBe(130);
  });

  it('maps codes to HTTP statuses and back', () => {
    expect(httpStatusFor('TOO_LARGE')).toBe(413);
    expect(httpStatusFor('AUTH_REFUSED')).toBe(403);
    expect(errorCodeForStatus(404)).toBe('NOT_FOUND');
    expect(httpStatusFor('CONFLICT')).toBe(409);
    expect(errorCodeForStatus(409)).toBe('CONFLICT');
    expect(errorCodeForStatus(503)).toBe('UNAVAILABLE');
    expect(errorCodeForStatus(502)).toBe('SERVER_ERROR');
    expect([httpStatusFor('RATE_LIMITED'), errorCodeForStatus(429)]).toEqual([429, 'RATE_LIMITED']);
  });

  it('lists every code once, each with an HTTP status and an exit code', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(ERROR_CODES).toContain('QUOTA_EXCEEDED');
    for (const code of ERROR_CODES) {
      expect(httpStatusFor(code)).toBeGreaterThanOrEqual(400);
      expect(exitCodeFor(code)).toBeGreaterThan(0);
    }
  });

  it('recognises its codes and nothing else', () => {
    expect(ERROR_CODES.every((code) => isErrorCode(code))).toBe(true);
    for (const other of ['NOPE', 'not_found', '', 'toString', '__proto__', 3, null, undefined]) {
      expect(isErrorCode(other)).toBe(false);
    }
  });

  it('keeps the cause and recognises its own errors', () => {
    const cause = new Error('inner');
    const error = new PandaError('SERVER_ERROR', 'outer', { cause });
    expect(error.cause).toBe(cause);
    expect(isPandaError(error)).toBe(true);
    expect(isPandaError(new Error('x'))).toBe(false);
  });
});
