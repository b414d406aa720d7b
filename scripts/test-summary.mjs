// Prints the totals of every workspace's jest run as one closing line: "Tests: N passed, N failed, N skipped".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '.test-results');
let files = [];
let skipped = [];
try {
  files = readdirSync(dir).filter((name) => name.endsWith('.json'));
  skipped = readdirSync(dir)
    .filter((name) => name.endsWith('-skipped.txt'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'));
} catch {
  // No workspace reached its tests (a build or type check failed first).
}
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const file of files) {
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  for (const key of Object.keys(totals)) totals[key] += result[key];
  console.log(`  ${result.workspace}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
}
for (const line of skipped) console.log(line);
console.log(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (files.length === 0 || totals.failed > 0) process.exitCode = 1;
