import { expect } from '@jest/globals';
import type { ErrorCode, PandaError } from '@panda-secrets/protocol';

/**
 * Awaits `action` (a promise, or a function run now), expects it to fail with a PandaError (with
 * `code`, when given), and returns that error for further checks.
 *
 * @example
 * expect((await pandaErrorOf(client.getSecrets(), 'NOT_FOUND')).message).toBe('no secret "K"');
 */
export async function pandaErrorOf(action: Promise<unknown> | (() => unknown), code?: ErrorCode): Promise<PandaError> {
  let outcome: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    outcome = error;
  }
  expect(outcome).toMatchObject(code === undefined ? { name: 'PandaError' } : { name: 'PandaError', code });
  return outcome as PandaError;
}
