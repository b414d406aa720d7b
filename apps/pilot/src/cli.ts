import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { cliContext } from '@panda-secrets/cli-kit';
import { main } from './program.js';

// The entry point: the only module that touches the process itself.
const packageJson = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
const { args, version, deps } = cliContext(process, packageJson, () => import('@panda-secrets/client'));

// SIGTERM and SIGINT stop the pilot in order: a running job is killed, its secrets removed, and it
// is reported failed before the pilot exits.
const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => stop.abort(signal));
}
const sleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal }).catch(() => undefined);

process.exitCode = await main(args, { ...deps, readFile, signal: stop.signal, sleep, now: () => new Date(), tmpdir: tmpdir() }, version);
