import { access, constants } from 'node:fs/promises';
import { once } from 'node:events';
import { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeCrash } from './redact.js';
import { SYSTEM_PATH, failure, readLines, supervise } from './supervisor.js';
import type { JobReports, SupervisorInput, SupervisorOutput } from './supervisor.js';

// The pilot's job supervisor: one process for the pilot's life, of its own so that it outlives the
// pilot. Its stdin comes from the pilot: jobs to run and stops, a JSON line each (SupervisorInput);
// its end (the pilot is gone, even killed with SIGKILL) kills every job at once, and the supervisor
// exits once each job's directory is removed. It reports on fd 3 (SupervisorOutput): each job's
// output, events and end, tagged with the job's number. Each job has its own namespaces, directory,
// secret files and clean-up.

// A socket, not an fs stream: fd 3 is the pilot's socket pair, and an fs stream makes each line a
// round trip through libuv's thread pool.
const events = new Socket({ fd: 3, readable: false });
events.on('error', () => undefined);
const write = (line: SupervisorOutput): boolean => events.write(`${JSON.stringify(line)}\n`);

// A crash is a bug: the pilot is told what broke and where, then the supervisor exits as it would
// have (its jobs die with it, and the pilot hands them back). Not the error's message, which may
// quote a job's line (JSON.parse quotes its input) and so its secrets; stderr goes nowhere for that reason.
const OWN_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
process.on('uncaughtException', (error) => {
  write({ type: 'crashed', error: describeCrash(error, OWN_ROOT) });
  events.end(() => process.exit(70));
});

interface RunningJob {
  stop(): void;
  kill(): void;
}

const running = new Map<number, RunningJob>();
let inputEnded = false;

function exitWhenDone(): void {
  if (inputEnded && running.size === 0) events.end(() => process.exit(0));
}

// The pilot's stop signals, when they reach the supervisor too (a batch system signals every process of a job).
for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU'] as const) {
  process.on(name, () => {
    for (const job of running.values()) job.stop();
  });
}

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
const bash = findBash();

function run(id: number, input: Extract<SupervisorInput, { type: 'run' }>['job']): void {
  let stop = (): void => undefined;
  let kill = (): void => undefined;
  const stops = {
    stop: new Promise<void>((resolve) => {
      stop = resolve;
    }),
    kill: new Promise<void>((resolve) => {
      kill = resolve;
    }),
  };
  running.set(id, { stop, kill });
  const reports: JobReports = {
    output: (fd, chunk) => write({ id, type: 'output', fd, data: chunk.toString('base64') }),
    drained: async () => {
      if (events.writableNeedDrain) await once(events, 'drain');
    },
    send: (event) => write({ id, ...event }),
  };
  void bash
    .then((path) => supervise(input, stops, reports, path))
    .catch((error: unknown) => reports.send(failure(error)))
    .finally(() => {
      running.delete(id);
      write({ id, type: 'done' });
      exitWhenDone();
    });
}

function receive(line: string): void {
  const input = JSON.parse(line) as SupervisorInput;
  if (input.type === 'run') run(input.id, input.job);
  else running.get(input.id)?.stop();
}

readLines(process.stdin, receive);
process.stdin.on('end', () => {
  inputEnded = true;
  for (const job of running.values()) job.kill();
  exitWhenDone();
});
