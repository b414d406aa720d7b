import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { hideBin } from 'yargs/helpers';
import { main } from './program.js';

// The entry point: the only module that touches the process itself.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// SIGTERM and SIGINT stop the pilot in order: a running job is killed, its secrets removed, and it
// is reported failed before the pilot exits.
const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => stop.abort(signal));
}

process.exitCode = await main(
  hideBin(process.argv),
  {
    createClient: async (options) => new (await import('@panda-secrets/client')).PandaClient(options),
    readFile,
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    signal: stop.signal,
    sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined),
    now: () => new Date(),
    tmpdir: tmpdir(),
  },
  version,
);
