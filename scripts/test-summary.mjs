// Prints the totals of every workspace's jest run as one closing line: "Tests: N passed, N failed, N skipped".
// A workspace that reported no totals (its tests did not run) fails the summary.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, totalsFile, workspaces } from './workspaces.cjs';

const dir = join(ROOT, '.test-results');
let skipped = [];
try {
  skipped = readdirSync(dir)
    .filter((name) => name.endsWith('-skipped.txt'))
    .sort()
    .map((name) => readFileSync(join(dir, name), 'utf8'));
} catch {
  // No workspace reached its tests (a build or type check failed first).
}
const totals = { passed: 0, failed: 0, skipped: 0 };
const missing = [];
for (const { name } of workspaces()) {
  let result;
  try {
    result = JSON.parse(readFileSync(join(dir, totalsFile(name)), 'utf8'));
  } catch {
    missing.push(name);
    console.log(`  ${name}: no test results`);
    continue;
  }
  for (const key of Object.keys(totals)) totals[key] += result[key];
  console.log(`  ${result.workspace}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
}
for (const line of skipped) console.log(line);
console.log(
  `Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped` +
    (missing.length > 0 ? `; no results from ${missing.length} workspace(s)` : ''),
);
if (missing.length > 0 || totals.failed > 0) process.exitCode = 1;
