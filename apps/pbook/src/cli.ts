import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliContext, clientMaking } from '@panda-secrets/cli-kit';
import { localFiles } from './local-files.js';
import { main } from './program.js';
import { terminalPrompter } from './terminal.js';

// The entry point: the only module that touches the process itself.
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { args, version, deps } = cliContext(process, packageJson);
const isTTY = { stdin: process.stdin.isTTY === true, stdout: process.stdout.isTTY === true };
const prompt = terminalPrompter(process.stdin, process.stderr);

const terminalWidth = (): number | undefined => process.stdout.columns;

main(
  args,
  {
    ...deps,
    ...clientMaking(process, () => import('@panda-secrets/client')),
    stdin: process.stdin,
    isTTY,
    terminalWidth,
    fs: localFiles,
    prompt,
    sleep: (ms) => sleep(ms),
  },
  version,
).then((code) => {
  process.exitCode = code;
});
