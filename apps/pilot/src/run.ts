import { constants } from 'node:os';
import { PandaError } from '@panda-secrets/protocol';
import type { ErrorCode, SecretBundle } from '@panda-secrets/protocol';
import { bundleMaskerFactory } from './mask.js';
import type { Masker } from './mask.js';
import type { SupervisorRequest } from './supervisor.js';
import type { SupervisorProcess } from './supervisor-process.js';
import type { RunAsUser } from './users.js';
import { userEnvironment } from './users.js';

/**
 * The supervisor ended (killed, out of memory) before it reported how the payload ended: the
 * payload died with it, and whether it had done its work is unknown. Not the job's fault.
 */
export class SupervisorLostError extends PandaError {
  constructor(message: string) {
    super('CONFIG', message);
    this.name = 'SupervisorLostError';
  }
}

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
  /** The supervisor to run the job under: the pilot's, for all its jobs. */
  supervisor: SupervisorProcess;
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
 * Passes one output stream of the payload through its own masker into `onOutput`, whole lines at
 * a time, so that stdout and stderr interleave in the log at line boundaries.
 */
function maskedLines(masker: Masker, onOutput: (text: string) => void) {
  let held = '';
  const emit = (text: string, final: boolean): void => {
    held += text;
    const end = final || held.length > MAX_HELD_LINE ? held.length : held.lastIndexOf('\n') + 1;
    if (end === 0) return;
    onOutput(held.slice(0, end));
    held = held.slice(end);
  };
  return {
    write: (chunk: Buffer): void => emit(masker.write(chunk), false),
    end: (): void => emit(masker.end(), true),
  };
}

/**
 * Runs one job under the pilot's supervisor process (`supervisor`), which makes the job's fresh working directory,
 * writes the file secrets there (0600, O_EXCL), hands both to the `runAs` user if given, runs the
 * payload (as that user) in its own PID and mount namespaces with the env secrets in its environment
 * only, and removes the secret files and the directory (unless `keepWorkdir`) whatever happens: also
 * when this pilot is killed with SIGKILL, which the supervisor notices as the end of its stdin. The
 * payload's output is masked here.
 *
 * @example
 * const outcome = await runJob({ jobId, command: 'python3 job.py', secrets: bundle, workRoot,
 *   keepWorkdir: false, baseEnv, onOutput: (text) => logs.add(text), supervisor });
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
  const newMasker = options.newMasker ?? bundleMaskerFactory(secrets);
  const streams = [newMasker(), newMasker()].map((masker) => maskedLines(masker, (text) => options.onOutput(text)));
  const job = options.supervisor.run(request, (fd, chunk) => streams[fd - 1]!.write(chunk));
  let aborted = false;
  const stop = (): void => {
    aborted = true;
    job.stop();
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  const ended = await job.ended.finally(() => signal?.removeEventListener('abort', stop));
  for (const stream of streams) stream.end();
  const failed = ended.events.find((event) => event.type === 'failed');
  if (failed !== undefined) throw new PandaError(failed.code as ErrorCode, failed.message);
  const exited = ended.events.find((event) => event.type === 'exited');
  if (exited === undefined) {
    // The supervisor itself was killed: the job's namespace went with it (parent-death signal), and its directory is removed.
    throw new SupervisorLostError(
      `the job's supervisor ended before reporting the job's end (${ended.supervisorEnd ?? 'it reported none'})`,
    );
  }
  const exitCode = exitCodeOf(exited.code, exited.signal);
  return { exitCode, signal: exited.signal ?? signalOf(exitCode), aborted };
}

/**
 * Runs an empty job the way every job runs, so that a machine where jobs cannot be isolated is
 * refused when the pilot starts, not when a job with secrets comes.
 */
export async function checkIsolation(
  workRoot: string,
  { runAs, hiddenFiles, supervisor }: Pick<RunJobOptions, 'runAs' | 'hiddenFiles' | 'supervisor'>,
): Promise<void> {
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
      supervisor,
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
