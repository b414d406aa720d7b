import { access, constants } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_PATH, supervise } from './supervisor.js';
import type { StopRequest, SupervisorEvent, SupervisorRequest } from './supervisor.js';

// A job's supervisor: a process of its own, so that it outlives the pilot. Its stdin comes from the
// pilot: first the job (one JSON line), then `stop` lines; its end (the pilot is gone, even killed
// with SIGKILL) kills the job at once. Its stdout and stderr are the payload's. It reports on fd 3.

const events = createWriteStream('', { fd: 3 });
events.on('error', () => undefined);
const send = (event: SupervisorEvent): void => {
  events.write(`${JSON.stringify(event)}\n`);
};

let requestStop: (how: StopRequest) => void = () => undefined;
const stopped = new Promise<StopRequest>((resolve) => {
  requestStop = resolve;
});
// The pilot's stop signals, when they reach the supervisor too (a batch system signals every process of a job).
for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU'] as const) {
  process.on(name, () => requestStop('stop'));
}

const request = await new Promise<SupervisorRequest | undefined>((resolve) => {
  let buffered = '';
  let received: SupervisorRequest | undefined;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      if (received === undefined) {
        received = JSON.parse(line) as SupervisorRequest;
        resolve(received);
      } else if (line === 'stop') {
        requestStop('stop');
      }
    }
  });
  process.stdin.on('end', () => {
    requestStop('kill');
    resolve(received);
  });
});

async function findBash(): Promise<string> {
  for (const dir of SYSTEM_PATH.split(':')) {
    const path = join(dir, 'bash');
    if (
      await access(path, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return '/bin/bash';
}

if (request !== undefined) await supervise(request, stopped, send, await findBash());
events.end(() => process.exit(0));
