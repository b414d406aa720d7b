import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { hideBin } from 'yargs/helpers';
import { main } from './program.js';
import { terminalPrompter } from './terminal.js';

// The entry point: the only module that touches the process itself.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

process.exitCode = await main(
  hideBin(process.argv),
  {
    createClient: async (options) => new (await import('@panda-secrets/client')).PandaClient(options),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true },
    env: process.env,
    fs: { stat, readFile },
    prompt: terminalPrompter(process.stdin, process.stderr),
  },
  version,
);
