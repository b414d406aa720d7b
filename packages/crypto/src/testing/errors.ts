import { expect } from '@jest/globals';
import type { ErrorCode, PandaError } from '@panda-secrets/protocol';

/** Awaits `action`, expects a PandaError with `code`, and returns it for further checks. */
export async function pandaErrorOf(action: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<PandaError> {
  let outcome: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    outcome = error;
  }
  expect(outcome).toMatchObject({ name: 'PandaError', code });
  return outcome as PandaError;
}
