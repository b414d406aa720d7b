// Who may import whom: the table of ARCHITECTURE.md ("Packages and apps") and DESIGN.md, as
// dependency-cruiser rules. `npm run check` (part of `npm test`) runs them on every workspace's src/.

/** Each workspace and the workspaces its code may import (beyond itself). */
const MAY_IMPORT = {
  'packages/protocol': [],
  'packages/crypto': ['protocol'],
  'packages/client': ['protocol'],
  'packages/table': ['protocol'],
  'packages/store': ['protocol'],
  'packages/cli-kit': ['client', 'protocol'],
  'packages/testkit': ['protocol'],
  'apps/pbook': ['cli-kit', 'client', 'protocol', 'table'],
  'apps/prun': ['cli-kit', 'client', 'protocol', 'table'],
  'apps/server': ['cli-kit', 'crypto', 'protocol', 'store'],
  'apps/pilot': ['cli-kit', 'client', 'crypto', 'protocol'],
  // It runs the apps as processes: it imports none of them.
  e2e: ['client', 'crypto', 'protocol', 'testkit'],
};

/** Tests (and their helpers under src/testing/) may also use testkit; protocol's cannot, as testkit imports protocol. */
const TEST_CODE = '(\\.test\\.ts$|/src/testing/)';
const TEST_ONLY = ['testkit'];

const APPS = ['pbook', 'prun', 'server', 'pilot'];
const PACKAGES = Object.keys(MAY_IMPORT)
  .filter((dir) => dir.startsWith('packages/'))
  .map((dir) => dir.slice('packages/'.length));

/**
 * A workspace's modules as a dependency reaches them: by package name it resolves to the
 * workspace's dist/ after a build, and stays the bare name before one (nothing built yet).
 */
const workspacePath = (names) => `^(packages/(${names.join('|')})/|@panda-secrets/(${names.join('|')})(/|$))`;
const appPath = `^(apps/(${APPS.join('|')})/|@panda-secrets/(${APPS.join('|')})(/|$))`;
const shortName = (dir) => dir.split('/').at(-1);

const importRules = Object.entries(MAY_IMPORT).flatMap(([dir, allowed]) => {
  const others = (list) => PACKAGES.filter((name) => name !== shortName(dir) && !list.includes(name));
  const testAllowed = dir === 'packages/protocol' ? allowed : [...allowed, ...TEST_ONLY];
  return [
    {
      name: `${shortName(dir)}-imports-only-its-own`,
      comment: `${dir} may import ${allowed.length > 0 ? allowed.join(', ') : 'no other workspace'} (ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: `^${dir}/src/`, pathNot: TEST_CODE },
      to: { path: workspacePath(others(allowed)) },
    },
    {
      name: `${shortName(dir)}-tests-import-only-its-own`,
      comment: `${dir}'s tests may import ${testAllowed.length > 0 ? testAllowed.join(', ') : 'no other workspace'} (ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: `^${dir}/src/.*${TEST_CODE}` },
      to: { path: workspacePath(others(testAllowed)) },
    },
  ].filter((rule) => others(rule.name.includes('-tests-') ? testAllowed : allowed).length > 0);
});

module.exports = {
  forbidden: [
    {
      name: 'no-app-imports-an-app',
      comment: 'Apps never import another app (DESIGN.md); e2e runs them as processes.',
      severity: 'error',
      from: { path: '^(apps/([^/]+)|e2e)/' },
      to: { path: appPath, pathNot: '^apps/$2/' },
    },
    {
      name: 'packages-do-not-import-apps',
      comment: 'Apps depend on packages, never the reverse (STYLE.md, rule 1).',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: appPath },
    },
    {
      name: 'import-workspaces-by-name',
      comment: 'Another workspace is imported by its package name, never by a path into its folder (STYLE.md, rule 1).',
      severity: 'error',
      from: { path: '^((apps|packages)/[^/]+|e2e)/' },
      to: { dependencyTypes: ['local'], pathNot: '^$1/' },
    },
    ...importRules,
    {
      name: 'no-circular',
      comment:
        "Modules import one way. A cycle closed only by a type-only import (a command's run.ts naming the options type of the index.ts that lazily loads it) does not run and is allowed.",
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '/dist/'] },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'node', 'default'],
      mainFields: ['module', 'main'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
