import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { PandaError } from '@panda-secrets/protocol';
import type { ErrorCode, SecretBundle } from '@panda-secrets/protocol';
import { removeStaleJobDirs } from './job-dir.js';
import { bundleMaskValues } from './mask-forms.js';
import { maskerFactory } from './mask.js';
import type { Masker } from './mask.js';
import { SYSTEM_PATH } from './supervisor.js';
import type { SupervisorEvent, SupervisorRequest } from './supervisor.js';
import type { RunAsUser } from './users.js';
import { userEnvironment } from './users.js';
import { writeRequestLine } from './request-line.js';

export interface RunJobOptions {
  jobId: string;
  /** The payload, run as `bash -c command`; secrets never enter this string. */
  command: string;
  /** The opened bundle's env and file secrets; empty records for a job without secrets. */
  secrets: Pick<SecretBundle, 'env' | 'files'>;
  /** The folder under which the job's fresh working directory is made. */
  workRoot: string;
  /** Keep the working directory (not the secret files) after the job, for debugging. */
  keepWorkdir: boolean;
  /** The payload's environment before the env secrets are added (the pilot's own, minus its credentials). */
  baseEnv: NodeJS.ProcessEnv;
  /** Receives the payload's stdout and stderr, already masked, in order of arrival. */
  onOutput(text: string): void;
  /** Aborting (the pilot got one of its stop signals) stops every process of the job: SIGTERM, SIGKILL after the grace time. */
  signal?: AbortSignal;
  /** How long a payload asked to stop with SIGTERM may take before SIGKILL. Default 3000 ms. */
  killGraceMs?: number;
  /**
   * The user the payload runs as (the pilot must be root): its directory and secret files become
   * that user's, so the payload cannot read the pilot's token file.
   */
  runAs?: RunAsUser;
  /**
   * Files the payload must not read, whoever it runs as: the pilot's token file. Inside the job's
   * mount namespace each is covered with /dev/null before the payload starts.
   */
  hiddenFiles?: string[];
  /** Makes the maskers of the payload's output, when the caller has prepared them for `secrets` already. */
  newMasker?: () => Masker;
}

export interface JobOutcome {
  /** The payload's exit code; 128 + the signal number when a signal killed it (the shell's rule). */
  exitCode: number;
  /** The signal that killed the payload, if one did (an exit code of 128 + N reads as signal N, as in the shell). */
  signal: NodeJS.Signals | null;
  /** True when the run was stopped through `signal`. */
  aborted: boolean;
}

const DEFAULT_KILL_GRACE_MS = 3000;
/** How long output may keep flowing after the supervisor ended (its namespace is gone by then). */
const OUTPUT_DRAIN_MS = 2000;
/**
 * The supervisor's compiled entry point, dist/supervisor-main.js of this package: one folder up
 * from src/ (tests) and dist/, two from the bundle's chunks (bundle/chunks/).
 */
const SUPERVISOR =
  ['../dist/supervisor-main.js', '../../dist/supervisor-main.js']
    .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
    .find((path) => existsSync(path)) ?? fileURLToPath(new URL('../dist/supervisor-main.js', import.meta.url));

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** The signal a status of 128 + N stands for, as the shell reports a process killed by signal N. */
function signalOf(exitCode: number): NodeJS.Signals | null {
  const number = exitCode - 128;
  const entry = Object.entries(constants.signals).find(([, value]) => value === number);
  return entry === undefined ? null : (entry[0] as NodeJS.Signals);
}

/** A line longer than this is passed on in pieces rather than held until its end. */
const MAX_HELD_LINE = 64 * 1024;

/**
 * Pipes one output stream of the payload through its own masker into `onOutput`, whole lines at
 * a time, so that stdout and stderr interleave in the log at line boundaries.
 */
function maskStream(stream: NodeJS.ReadableStream, masker: Masker, onOutput: (text: string) => void): Promise<void> {
  let held = '';
  const emit = (text: string, final: boolean): void => {
    held += text;
    const end = final || held.length > MAX_HELD_LINE ? held.length : held.lastIndexOf('\n') + 1;
    if (end === 0) return;
    onOutput(held.slice(0, end));
    held = held.slice(end);
  };
  stream.on('data', (chunk: Buffer) => emit(masker.write(chunk), false));
  return new Promise((resolve) => {
    stream.once('close', () => {
      emit(masker.end(), true);
      resolve();
    });
  });
}

/** Reads the supervisor's events, one JSON line each. */
function readEvents(stream: NodeJS.ReadableStream): Promise<SupervisorEvent[]> {
  return new Promise((resolve) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    stream.once('close', () =>
      resolve(
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as SupervisorEvent),
      ),
    );
  });
}

/**
 * Runs one job under its own supervisor process, which makes the job's fresh working directory,
 * writes the file secrets there (0600, O_EXCL), hands both to the `runAs` user if given, runs the
 * payload (as that user) in its own PID and mount namespaces with the env secrets in its environment
 * only, and removes the secret files and the directory (unless `keepWorkdir`) whatever happens: also
 * when this pilot is killed with SIGKILL, which the supervisor notices as the end of its stdin. The
 * payload's output is masked here.
 *
 * @example
 * const outcome = await runJob({ jobId, command: 'python3 job.py', secrets: bundle, workRoot,
 *   keepWorkdir: false, baseEnv, onOutput: (text) => logs.add(text) });
 */
export async function runJob(options: RunJobOptions): Promise<JobOutcome> {
  const { secrets, runAs, signal } = options;
  const request: SupervisorRequest = {
    jobId: options.jobId,
    command: options.command,
    env: Object.fromEntries(
      Object.entries({
        ...options.baseEnv,
        ...(runAs === undefined ? {} : userEnvironment(runAs)),
        ...secrets.env,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    files: secrets.files,
    workRoot: options.workRoot,
    keepWorkdir: options.keepWorkdir,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    ...(runAs === undefined ? {} : { runAs }),
    ...(options.hiddenFiles === undefined ? {} : { hiddenFiles: options.hiddenFiles }),
  };
  const newMasker = options.newMasker ?? maskerFactory(bundleMaskValues(secrets));
  // Detached: a Ctrl-C meant for the pilot reaches the supervisor only as the pilot's `stop`.
  const supervisor = spawn(process.execPath, [SUPERVISOR], {
    env: { PATH: SYSTEM_PATH },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  const { stdout, stderr } = supervisor;
  const eventStream = supervisor.stdio[3] as Readable;
  const outputDone = Promise.all(
    [stdout, stderr].map((stream) => maskStream(stream, newMasker(), (text) => options.onOutput(text))),
  );
  const events = readEvents(eventStream);
  const ended = new Promise<void>((resolve, reject) => {
    supervisor.once('error', reject);
    supervisor.once('close', () => resolve());
  });
  supervisor.stdin.on('error', () => undefined);
  const requestWritten = writeRequestLine(supervisor.stdin, request);

  let aborted = false;
  const stop = (): void => {
    aborted = true;
    // After the request line, never inside it; not once the supervisor's stdin is closed.
    void requestWritten.then(() => {
      if (!supervisor.stdin.writableEnded) supervisor.stdin.write('stop\n');
    });
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  try {
    await ended;
    const drained = await Promise.race([outputDone.then(() => true), delay(OUTPUT_DRAIN_MS, false, { ref: false })]);
    if (!drained) {
      stdout.destroy();
      stderr.destroy();
      await outputDone;
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    supervisor.stdin.end();
  }
  const reported = await events;
  const failed = reported.find((event) => event.type === 'failed');
  if (failed !== undefined) throw new PandaError(failed.code as ErrorCode, failed.message);
  const exited = reported.find((event) => event.type === 'exited');
  if (exited === undefined) {
    // The supervisor itself was killed: its namespace went with it (parent-death signal); its directory is left.
    await removeStaleJobDirs(options.workRoot);
    throw new PandaError(
      'CONFIG',
      `the job's supervisor ended before reporting the job's end (${supervisor.signalCode ?? `exit code ${supervisor.exitCode}`})`,
    );
  }
  const exitCode = exitCodeOf(exited.code, exited.signal);
  return { exitCode, signal: exited.signal ?? signalOf(exitCode), aborted };
}

/**
 * Runs an empty job the way every job runs, so that a machine where jobs cannot be isolated is
 * refused when the pilot starts, not when a job with secrets comes.
 */
export async function checkIsolation(workRoot: string, runAs?: RunAsUser, hiddenFiles?: string[]): Promise<void> {
  let output = '';
  try {
    const outcome = await runJob({
      jobId: 'isolation-check',
      command: 'true',
      secrets: { env: {}, files: {} },
      workRoot,
      keepWorkdir: false,
      baseEnv: {},
      onOutput: (text) => {
        output += text;
      },
      ...(runAs === undefined ? {} : { runAs }),
      ...(hiddenFiles === undefined ? {} : { hiddenFiles }),
    });
    if (outcome.exitCode === 0) return;
    output += `exit code ${outcome.exitCode}`;
  } catch (error) {
    output += error instanceof Error ? error.message : String(error);
  }
  throw new PandaError(
    'CONFIG',
    `cannot run jobs in their own PID and mount namespaces on this machine (${output.trim().replaceAll('\n', '; ')}); ` +
      'panda-pilot needs them so that no process of a job outlives it or sees another job. It needs util-linux 2.38 or later ' +
      '(unshare, setpriv, mount) and, when not run as root, unprivileged user namespaces (sysctl user.max_user_namespaces > 0)',
  );
}
