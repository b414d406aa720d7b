/** @jest-config-loader esbuild-register */
import { join } from 'node:path';
import type { Config } from 'jest';

/**
 * One jest configuration for every workspace: each workspace's `test` script runs jest with this
 * file and `--rootDir .`, so turbo runs the workspaces' suites as separate tasks.
 */
const config: Config = {
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
  testTimeout: 30_000,
  reporters: ['default', join(__dirname, 'scripts', 'jest-totals-reporter.cjs')],
};

export default config;
