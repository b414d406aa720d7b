import { describe, expect, it } from '@jest/globals';
import { ExitCode, PandaError, errorCodeForStatus, exitCodeFor, httpStatusFor, isPandaError } from './index.js';

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
  });

  it('maps codes to HTTP statuses and back', () => {
    expect(httpStatusFor('TOO_LARGE')).toBe(413);
    expect(httpStatusFor('AUTH_REFUSED')).toBe(403);
    expect(errorCodeForStatus(404)).toBe('NOT_FOUND');
    expect(httpStatusFor('CONFLICT')).toBe(409);
    expect(errorCodeForStatus(409)).toBe('CONFLICT');
    expect(errorCodeForStatus(503)).toBe('UNAVAILABLE');
    expect(errorCodeForStatus(502)).toBe('SERVER_ERROR');
  });

  it('keeps the cause and recognises its own errors', () => {
    const cause = new Error('inner');
    const error = new PandaError('SERVER_ERROR', 'outer', { cause });
    expect(error.cause).toBe(cause);
    expect(isPandaError(error)).toBe(true);
    expect(isPandaError(new Error('x'))).toBe(false);
  });
});
