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
  // The request line may be megabytes (the file secrets' base64): its chunks are kept as they came
  // and joined once, at its end, then zeroed. The `stop` lines after it are short.
  let requestChunks: Buffer[] | undefined = [];
  let received: SupervisorRequest | undefined;
  let buffered = '';
  process.stdin.on('data', (chunk: Buffer) => {
    let rest = chunk;
    if (requestChunks !== undefined) {
      const end = chunk.indexOf(10);
      if (end === -1) {
        requestChunks.push(chunk);
        return;
      }
      requestChunks.push(chunk.subarray(0, end));
      const line = Buffer.concat(requestChunks);
      for (const piece of requestChunks) piece.fill(0);
      requestChunks = undefined;
      received = JSON.parse(line.toString('utf8')) as SupervisorRequest;
      line.fill(0);
      resolve(received);
      rest = chunk.subarray(end + 1);
    }
    buffered += rest.toString('latin1');
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      if (buffered.slice(0, end) === 'stop') requestStop('stop');
      buffered = buffered.slice(end + 1);
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
