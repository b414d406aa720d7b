import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { abortableSleep, cliContext, clientMaking } from '@panda-secrets/cli-kit';
import { hostProcess } from './process-facts.js';
import { STOP_SIGNALS, main } from './program.js';

// The entry point: the only module that touches the process itself.
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { args, version, deps } = cliContext(process, packageJson);

const stop = new AbortController();
for (const signal of STOP_SIGNALS) {
  process.on(signal, () => stop.abort(signal));
}

main(
  args,
  {
    ...deps,
    ...clientMaking(process, () => import('@panda-secrets/client')),
    readFile,
    signal: stop.signal,
    sleep: abortableSleep,
    now: () => new Date(),
    tmpdir: tmpdir(),
    uid: hostProcess.uid,
  },
  version,
).then((code) => {
  process.exitCode = code;
});
