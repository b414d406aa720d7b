import { describe } from '@jest/globals';

const uid = process.getuid?.();
/** Tests of --run-as need root: the pilot hands files and processes to another user. */
const runningAsRoot = uid === 0;
let announced = false;

/**
 * `describe` for tests that need root; elsewhere they are skipped, with the reason in their title
 * and in one line on stderr.
 */
export function describeAsRoot(name: string, tests: () => void): void {
  if (runningAsRoot) {
    describe(name, tests);
    return;
  }
  if (!announced) {
    announced = true;
    process.stderr.write(`--run-as tests skipped: they need root, and these tests run as uid ${uid ?? 'unknown'}\n`);
  }
  describe.skip(`${name} (skipped: needs root, running as uid ${uid ?? 'unknown'})`, tests);
}
