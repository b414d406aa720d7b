/** @jest-config-loader esbuild-register */
import { join } from 'node:path';
import type { Config } from 'jest';
import { ROOT, workspaces } from './scripts/workspaces.cjs';

/** A workspace's tests (`*.test.ts` under src/ and test/): ESM TypeScript that swc compiles. */
const project = ({ name, dir }: { name: string; dir: string }) => ({
  displayName: name,
  rootDir: join(ROOT, dir),
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
});

/**
 * One jest configuration with every workspace as a project: `npx jest` here runs them all, and each
 * workspace's `test` script runs its own project of it (`--selectProjects $npm_package_name`), so
 * turbo runs the workspaces' suites as separate tasks.
 */
const config: Config = {
  projects: workspaces().map(project),
  // A global option: jest-circus reads it from the global config, not a project's.
  testTimeout: 30_000,
  reporters: ['default', join(ROOT, 'scripts', 'jest-totals-reporter.cjs')],
};

export default config;
