import type { PandaError } from '@panda-secrets/protocol';

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<PandaError> {
  try {
    await promise;
  } catch (error) {
    return error as PandaError;
  }
  throw new Error('expected a rejection');
}
