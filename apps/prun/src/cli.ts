import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { abortableSleep, cliContext, clientMaking } from '@panda-secrets/cli-kit';
import { main } from './program.js';

// The entry point: the only module that touches the process itself.
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { args, version, deps } = cliContext(process, packageJson);
const isTTY = { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true };

// Ctrl-C while prun waits stops the waiting only (the task runs on); at any other time it ends prun.
const onInterrupt = (handler: () => void): (() => void) => {
  process.on('SIGINT', handler);
  return () => process.off('SIGINT', handler);
};

main(
  args,
  {
    ...deps,
    ...clientMaking(process, () => import('@panda-secrets/client')),
    readFile,
    isTTY,
    sleep: abortableSleep,
    onInterrupt,
    pollMs: 1000,
  },
  version,
).then((code) => {
  process.exitCode = code;
});
