// Prints the totals of every workspace's jest run as one closing line: "Tests: N passed, N failed, N skipped".
// A workspace that reported no totals (its tests did not run) fails the summary.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, totalsFile, workspaces } from './workspaces.cjs';

const dir = join(ROOT, '.test-results');
let written = [];
try {
  written = readdirSync(dir).sort();
} catch {
  // No workspace reached its tests (a build or type check failed first).
}
const expected = workspaces().map(({ name }) => ({ name, file: totalsFile(name) }));
// Totals of tests outside every workspace, if a run wrote any, count too.
const others = written
  .filter((file) => file.endsWith('.json') && !expected.some((entry) => entry.file === file))
  .map((file) => ({ name: file, file }));

const totals = { passed: 0, failed: 0, skipped: 0 };
const missing = [];
for (const { name, file } of [...expected, ...others]) {
  if (!written.includes(file)) {
    missing.push(name);
    console.log(`  ${name}: no test results`);
    continue;
  }
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  for (const key of Object.keys(totals)) totals[key] += result[key];
  console.log(`  ${result.workspace}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped`);
}
for (const file of written.filter((name) => name.endsWith('-skipped.txt'))) {
  console.log(readFileSync(join(dir, file), 'utf8'));
}
console.log(
  `Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped` +
    (missing.length > 0 ? `; no results from ${missing.length} workspace(s)` : ''),
);
if (missing.length > 0 || totals.failed > 0) process.exitCode = 1;
