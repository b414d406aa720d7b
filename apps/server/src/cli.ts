import { readFileSync } from 'node:fs';
import { cliContext } from '@panda-secrets/cli-kit';
import { main } from './program.js';

// The entry point: the only module that touches the process itself.
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { args, version, deps } = cliContext(process, packageJson);

/** The first SIGTERM or SIGINT from now on stops the server; a second one ends the process at once. */
const waitForStop = (): Promise<void> =>
  new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

main(args, { ...deps, waitForStop }, version).then((code) => {
  process.exitCode = code;
});
