// knip: unused files, exports and dependencies, run by `npm run check` (and so by `npm test` and CI).
// Entries are what runs from outside: the bins, each app's src/cli.ts (scripts/bundle.mjs bundles it,
// and knip follows its lazy `load: () => import('./run.js')` command modules), the packages' exports
// maps, the test files (knip's jest plugin reads jest.config.ts) and the root scripts.
import type { KnipConfig } from 'knip';

const config: KnipConfig = {
  workspaces: {
    '.': {
      // scripts/lib/*.mjs are started as child processes by path (bench.mjs, masker-bench.mjs).
      entry: ['scripts/*.{mjs,cjs}', 'scripts/lib/*.mjs'],
      project: ['scripts/**/*.{mjs,cjs}'],
      ignoreDependencies: [
        // scripts/bench.mjs runs node_modules/autocannon/autocannon.js by path, in its own process.
        'autocannon',
        // The loader jest uses for jest.config.ts, named in its `@jest-config-loader` docblock.
        'esbuild-register',
        // scripts/lib/bench-reference.mjs measures the very fastify panda-server uses (apps/server's,
        // hoisted to the root), so it imports that one rather than declaring a copy of its own.
        'fastify',
      ],
    },
    'apps/*': {
      // bin/*.js imports the bundle of src/cli.ts, which knip cannot follow into bundle/.
      entry: ['bin/*.js', 'src/cli.ts'],
      project: ['src/**/*.ts'],
    },
    'apps/pilot': {
      // The pilot also starts src/supervisor-main.ts as a process of its own, by the path of its
      // build in dist/, which knip follows only once dist/ exists.
      entry: ['bin/*.js', 'src/cli.ts', 'src/supervisor-main.ts'],
      project: ['src/**/*.ts'],
    },
    'packages/*': {
      // Entries come from each package.json's exports map (dist/ mapped back to src/ through the
      // tsconfig), e.g. `@panda-secrets/protocol/schemas` and `@panda-secrets/testkit/unit`.
      project: ['src/**/*.ts'],
    },
    e2e: {
      project: ['src/**/*.ts'],
      // The e2e tests run the apps' built bins as child processes; these dev dependencies make turbo
      // build the four apps before e2e's tests (`dependsOn: ["^build"]`).
      ignoreDependencies: [
        '@panda-secrets/pbook',
        '@panda-secrets/pilot',
        '@panda-secrets/prun',
        '@panda-secrets/server',
      ],
    },
  },
  // System programs the tests start: openssl (certificates), script (a pseudo-terminal), unshare, mkfifo (a FIFO where a file is expected).
  ignoreBinaries: ['openssl', 'script', 'unshare', 'mkfifo'],
};

export default config;
