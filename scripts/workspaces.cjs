// The workspaces the root package.json names, with their package names: jest.config.ts makes a
// project of each, and test-summary.mjs checks that each reported its totals.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Each workspace as { name, dir }, dir relative to the repository root; `folder/*` patterns expanded. */
function workspaces() {
  return readJson(join(ROOT, 'package.json'))
    .workspaces.flatMap((pattern) =>
      pattern.endsWith('/*')
        ? readdirSync(join(ROOT, pattern.slice(0, -2)))
            .sort()
            .map((entry) => `${pattern.slice(0, -2)}/${entry}`)
        : [pattern],
    )
    .filter((dir) => existsSync(join(ROOT, dir, 'package.json')))
    .map((dir) => ({ name: readJson(join(ROOT, dir, 'package.json')).name, dir }));
}

/** The file of .test-results/ that holds a workspace's totals. */
function totalsFile(name) {
  return `${name.replace(/^@/, '').replaceAll('/', '-')}.json`;
}

module.exports = { ROOT, totalsFile, workspaces };
