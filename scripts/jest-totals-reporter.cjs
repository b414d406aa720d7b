// Writes each workspace's test totals to .test-results/ at the repository root, so the root
// `npm test` can print one closing line with the totals of every workspace.
const { mkdirSync, writeFileSync } = require('node:fs');
const { basename, join } = require('node:path');

class TotalsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const dir = join(__dirname, '..', '.test-results');
    mkdirSync(dir, { recursive: true });
    const name = `${basename(join(this.rootDir, '..'))}-${basename(this.rootDir)}`;
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
