import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { SecretBundle } from '@panda-secrets/protocol';
import { bundleMaskValues, maskerFactory } from './mask.js';
import type { Masker } from './mask.js';
import type { RunAsUser } from './users.js';
import { userEnvironment } from './users.js';
import { PILOT_PID_FILE, createJobDir, handOverJobDir, removeEntries, removeJobDir, writeSecretFiles } from './workdir.js';

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
  /** Aborting (the pilot got one of its stop signals) kills the payload's whole process group. */
  signal?: AbortSignal;
  /** How long a payload asked to stop with SIGTERM may take before SIGKILL. Default 3000 ms. */
  killGraceMs?: number;
  /**
   * The user the payload runs as (the pilot must be root): its directory and secret files become
   * that user's, so the payload cannot read the pilot's token file or its process' environment.
   */
  runAs?: RunAsUser;
  /** Makes the maskers of the payload's output, when the caller has prepared them for `secrets` already. */
  newMasker?: () => Masker;
}

export interface JobOutcome {
  /** The payload's exit code; 128 + the signal number when a signal killed it (the shell's rule). */
  exitCode: number;
  /** The signal that killed the payload, if one did. */
  signal: NodeJS.Signals | null;
  /** True when the run was stopped through `signal`. */
  aborted: boolean;
}

const DEFAULT_KILL_GRACE_MS = 3000;
/** How long output may keep flowing from processes that escaped the group after the payload ended. */
const OUTPUT_DRAIN_MS = 2000;

/** Sends a signal to every process in the payload's group; a group that is gone already is fine. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
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

async function runPayload(options: RunJobOptions, cwd: string): Promise<JobOutcome> {
  const { command, secrets, baseEnv, onOutput, signal, runAs } = options;
  const newMasker = options.newMasker ?? maskerFactory(bundleMaskValues(secrets));
  // A new process group (detached), so that stopping the job reaches everything the payload started.
  const child = spawn('bash', ['-c', command], {
    cwd,
    env: { ...baseEnv, ...(runAs === undefined ? {} : userEnvironment(runAs)), ...secrets.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
  });
  const outputDone = Promise.all([child.stdout, child.stderr].map((stream) => maskStream(stream, newMasker(), onOutput)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal }));
  });

  let aborted = false;
  let forceKill: NodeJS.Timeout | undefined;
  const stop = (): void => {
    aborted = true;
    signalGroup(child, 'SIGTERM');
    forceKill = setTimeout(() => signalGroup(child, 'SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  try {
    const exit = await exited;
    // Nothing the payload started may outlive it while its secret files are being removed.
    signalGroup(child, 'SIGKILL');
    const drained = await Promise.race([
      outputDone.then(() => true),
      delay(OUTPUT_DRAIN_MS, false, { ref: false }),
    ]);
    if (!drained) {
      child.stdout.destroy();
      child.stderr.destroy();
      await outputDone;
    }
    return { exitCode: exitCodeOf(exit.code, exit.signal), signal: exit.signal, aborted };
  } finally {
    clearTimeout(forceKill);
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Runs one job: makes its fresh working directory, writes the file secrets there (0600, O_EXCL),
 * hands both to the `runAs` user if given, runs the payload (as that user) with the env secrets in
 * its environment only, masks its output, and removes the secret files and the directory (unless
 * `keepWorkdir`) whatever happens.
 *
 * @example
 * const outcome = await runJob({ jobId, command: 'python3 job.py', secrets: bundle, workRoot,
 *   keepWorkdir: false, baseEnv, onOutput: (text) => logs.add(text) });
 */
export async function runJob(options: RunJobOptions): Promise<JobOutcome> {
  const dir = await createJobDir(options.workRoot, options.jobId);
  let files: string[] = [];
  try {
    files = await writeSecretFiles(dir, options.secrets.files, options.runAs);
    if (options.runAs !== undefined) await handOverJobDir(dir, options.runAs);
    return await runPayload(options, dir);
  } finally {
    // A kept directory holds no secret, so no later pilot needs to find it by its .pilot-pid.
    if (options.keepWorkdir) await removeEntries(dir, [...files, PILOT_PID_FILE]);
    else await removeJobDir(dir);
  }
}
