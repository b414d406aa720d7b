import { describe } from '@jest/globals';
import { lookupUser } from '../users.js';
import type { RunAsUser } from '../users.js';

const uid = process.getuid?.();
/** --run-as needs root: the pilot hands files and processes to another user. */
export const RUNNING_AS_ROOT = uid === 0;
let announced = false;

/**
 * `describe` for tests that need root; elsewhere they are skipped, with the reason in their title
 * and in one line on stderr.
 */
export function describeAsRoot(name: string, tests: () => void): void {
  if (RUNNING_AS_ROOT) {
    describe(name, tests);
    return;
  }
  if (!announced) {
    announced = true;
    process.stderr.write(`--run-as tests skipped: they need root, and these tests run as uid ${uid ?? 'unknown'}\n`);
  }
  describe.skip(`${name} (skipped: needs root, running as uid ${uid ?? 'unknown'})`, tests);
}

let nobodyUser: Promise<RunAsUser> | undefined;

/** The unprivileged `nobody` user the --run-as tests hand jobs to. */
export function nobody(): Promise<RunAsUser> {
  nobodyUser ??= lookupUser('nobody');
  return nobodyUser;
}
