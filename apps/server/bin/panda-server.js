#!/usr/bin/env node
// Start-up is most of a CLI's time: Node's compile cache where it has one (22.1+), and source maps
// (stack traces in the TypeScript) only when --verbose asks for stack traces.
import module from 'node:module';

module.enableCompileCache?.();
if (process.argv.some((arg) => arg === '--verbose' || arg === '-v')) process.setSourceMapsEnabled(true);
await import('../bundle/cli.js');
