import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { hideBin } from 'yargs/helpers';
import { main } from './program.js';

// The entry point: the only module that touches the process itself.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

process.exitCode = await main(
  hideBin(process.argv),
  {
    createClient: async (options) => new (await import('@panda-secrets/client')).PandaClient(options),
    readFile,
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true },
    sleep: (ms) => delay(ms),
    pollMs: 1000,
  },
  version,
);
