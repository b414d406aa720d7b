// Writes each workspace's test totals to .test-results/ at the repository root, so the root
// `npm test` can print one closing line with the totals of every workspace. A run of several
// projects (`npx jest` at the root) writes one file per workspace, as the workspaces' own runs do.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { ROOT, totalsFile, workspaces } = require('./workspaces.cjs');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const folders = workspaces().map(({ name, dir }) => ({ name, prefix: join(ROOT, dir, '/') }));
    const totals = new Map();
    for (const file of results.testResults) {
      // By the file's folder: a file that failed to load has no displayName (its project's name).
      const workspace = folders.find(({ prefix }) => file.testFilePath.startsWith(prefix))?.name ?? 'panda-secrets';
      const entry = totals.get(workspace) ?? { workspace, passed: 0, failed: 0, skipped: 0 };
      entry.passed += file.numPassingTests;
      // A test file that could not run (a syntax error, a throw at load) counts as one failure.
      entry.failed += file.numFailingTests + (file.testExecError ? 1 : 0);
      entry.skipped += file.numPendingTests + file.numTodoTests;
      totals.set(workspace, entry);
    }
    const dir = join(ROOT, '.test-results');
    mkdirSync(dir, { recursive: true });
    for (const entry of totals.values()) {
      writeFileSync(join(dir, totalsFile(entry.workspace)), JSON.stringify(entry));
    }
  }
}

module.exports = TotalsReporter;
