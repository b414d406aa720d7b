// Writes each workspace's test totals to .test-results/ at the repository root, so the root
// `npm test` can print one closing line with the totals of every workspace.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

class TotalsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const root = join(__dirname, '..');
    const dir = join(root, '.test-results');
    mkdirSync(dir, { recursive: true });
    // apps/pbook is "apps-pbook", e2e is "e2e".
    const name = relative(root, this.rootDir).replaceAll('/', '-');
    writeFileSync(
      join(dir, `${name}.json`),
      JSON.stringify({
        workspace: name,
        passed: results.numPassedTests,
        failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
        skipped: results.numPendingTests + results.numTodoTests,
      }),
    );
  }
}

module.exports = TotalsReporter;
