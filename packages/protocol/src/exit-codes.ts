import type { ErrorCode } from './errors.js';

/** Exit codes shared by every panda-secrets command line tool. */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  AUTH: 4,
  REJECTED: 5,
  /** The task's state does not allow it (kill of an ended task, retry with nothing to retry). */
  CONFLICT: 6,
  RATE_LIMITED: 7,
  /** Stopped by Ctrl-C (128 + SIGINT, as a shell reports a command that signal ended). */
  INTERRUPTED: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Maps an error code to the process exit code of the CLIs. */
export function exitCodeFor(code: ErrorCode): ExitCodeValue {
  switch (code) {
    case 'USAGE':
      return ExitCode.USAGE;
    case 'NOT_FOUND':
      return ExitCode.NOT_FOUND;
    case 'CONFLICT':
      return ExitCode.CONFLICT;
    case 'AUTH_REQUIRED':
    case 'AUTH_REFUSED':
    case 'FORBIDDEN':
      return ExitCode.AUTH;
    case 'INVALID_NAME':
    case 'TOO_LARGE':
    case 'INVALID_TYPE':
    case 'INVALID_INPUT':
    case 'QUOTA_EXCEEDED':
      return ExitCode.REJECTED;
    case 'RATE_LIMITED':
      return ExitCode.RATE_LIMITED;
    case 'INTERRUPTED':
      return ExitCode.INTERRUPTED;
    default:
      return ExitCode.ERROR;
  }
}
