import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './server.js';

const announced = new Set<string>();

/**
 * Says once per test process, in one line on stderr, that the tests of `kind` are skipped and why;
 * the root test command repeats each such line in its closing summary, whichever workspaces skipped.
 * Under CI (CI=true), where every service must be there, it throws instead.
 */
export function announceSkip(kind: string, reason: string, remedy: string, cause?: unknown): void {
  if (process.env.CI) throw new Error(`${reason}; CI needs it for the ${kind} tests`, { cause });
  if (announced.has(kind)) return;
  announced.add(kind);
  const line = `${kind} tests skipped: ${reason}; ${remedy}`;
  process.stderr.write(`${line}\n`);
  mkdirSync(join(REPO_ROOT, '.test-results'), { recursive: true });
  writeFileSync(join(REPO_ROOT, '.test-results', `${kind.toLowerCase()}-skipped.txt`), line);
}
