import { generatePilotKeyPair } from '@panda-secrets/crypto';
import type { PilotKeyPair } from '@panda-secrets/crypto';
import type { PandaClient } from '@panda-secrets/client';
import { isPandaError } from '@panda-secrets/protocol';
import type {
  AcquiredJob,
  JobState,
  UpdateJobRequest,
  UpdateJobResponseData,
  UpdateJobState,
} from '@panda-secrets/protocol';
import pRetry, { AbortError } from 'p-retry';
import type { Bindings, Logger } from 'pino';
import { removeStaleJobDirs } from './job-dir.js';
import { LOG_INTERVAL_MS, MAX_UNSENT_LOG, createJobLog } from './job-log.js';
import type { Redact } from './logger.js';
import { openJobSecrets } from './job-secrets.js';
import { describeRunError, redactor } from './redact.js';
import { checkIsolation, runJob, SupervisorLostError } from './run.js';
import type { JobOutcome } from './run.js';
import { SupervisorProcess } from './supervisor-process.js';
import type { RunAsUser } from './users.js';
import { prepareWorkRoot } from './work-root.js';

/** The server calls the pilot makes; unit tests pass a fake with these methods. */
export type PilotClient = Pick<PandaClient, 'acquireJobs' | 'updateJob' | 'heartbeat'>;

export interface PilotOptions {
  /** Folder under which each job gets its fresh working directory. */
  workdir: string;
  /**
   * Seconds between polls while no job is queued, and at most between the pilot's asking whether a
   * running job that writes no output was killed (never more often than its log is sent).
   */
  pollSeconds: number;
  /** Run at most one job; exit when none is queued. */
  once: boolean;
  /** Stop after this many jobs. */
  maxJobs?: number;
  /** How many jobs run at once (default 1): each acquire asks for up to the free slots. */
  parallel?: number;
  /** Exit as soon as no job is queued instead of polling. */
  exitWhenIdle: boolean;
  keepWorkdir: boolean;
  verbose: boolean;
  /** The user payloads run as; without it they run as the pilot's own user. */
  runAs?: RunAsUser;
  /** Files no payload may read (the pilot's token file, as an absolute path); see runJob. */
  hiddenFiles?: string[];
}

/** Everything the pilot takes from its process, injected so that tests drive it. */
export interface PilotDeps {
  client: PilotClient;
  /** The pilot's own log (stderr, through pino): job ids, key names, states and exit codes only. */
  log: Logger;
  /** A job's log: every line of it, whole, passes the job's `redact` first (see createPilotLog). */
  jobLog(bindings: Bindings, redact: Redact): Logger;
  /** The payload's environment before its env secrets: the pilot's own, minus its credentials. */
  payloadEnv: NodeJS.ProcessEnv;
  /** Aborted when the pilot gets one of its stop signals (SIGTERM, SIGHUP, ...); its reason is the signal's name. */
  signal: AbortSignal;
  /** Waits `ms`, or less when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** How long a stopped payload may take before SIGKILL; default runJob's. */
  killGraceMs?: number;
  /** The clock of lease deadlines, in epoch milliseconds; default Date.now. */
  now?: () => number;
  /** The first wait before a final update is sent again; default 1000 ms, doubling up to 30 s. */
  retryMinMs?: number;
}

export interface PilotSummary {
  /** Jobs taken (run to their end, cancelled, lost or handed back). */
  jobs: number;
  /** True when a signal stopped the pilot in the middle of a job (or several), handed back to the queue. */
  interruptedJob: boolean;
}

/** Failures worth another try after the poll interval: the server is briefly away. */
const TRANSIENT = new Set(['SERVER_UNREACHABLE', 'UNAVAILABLE', 'SERVER_ERROR']);
/** Heartbeats per lease: two may fail (the server restarting) before the lease runs out. */
const HEARTBEATS_PER_LEASE = 3;
const MAX_RETRY_WAIT_MS = 30_000;
/**
 * How long a payload that a signal ended waits for the pilot's own stop signal. A batch system
 * signals every process of the job at once (Slurm at a time limit or on scancel): the payload's
 * death may reach the pilot before its own SIGTERM does.
 */
const STOP_SIGNAL_GRACE_MS = 1000;

/** Why a job's payload was stopped before it ended by itself. */
type StopReason = 'cancelled' | 'lost';

function isTransient(error: unknown): boolean {
  return isPandaError(error) && TRANSIENT.has(error.code);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function keyList(names: string[]): string {
  return names.length === 0 ? '(none)' : names.join(', ');
}

/**
 * Runs jobs until told to stop: for each acquire a fresh key pair, so a bundle can only ever be
 * opened by this pilot for this acquisition; the job's secrets live in memory and in its
 * working directory only while it runs.
 */
export async function runPilot(deps: PilotDeps, options: PilotOptions): Promise<PilotSummary> {
  const workdir = await prepareWorkRoot(options.workdir, options.runAs);
  await sweepStaleJobDirs(deps, workdir);
  // One supervisor process for all the pilot's jobs: a Node.js process per job cost more CPU than the rest of a job.
  const supervisor = new SupervisorProcess();
  try {
    await checkIsolation(workdir, { runAs: options.runAs, hiddenFiles: options.hiddenFiles, supervisor });
    return await runJobs(deps, { ...options, workdir }, supervisor);
  } finally {
    await supervisor.close();
  }
}

/**
 * The pilot's loop: acquires jobs for its free slots (`parallel`, one by default) and runs them
 * at once, each with its own directory, masker and clean-up, until told to stop. A stop signal
 * stops every running job (each is handed back); the loop ends once all have reported their end.
 */
async function runJobs(deps: PilotDeps, options: PilotOptions, supervisor: SupervisorProcess): Promise<PilotSummary> {
  const { workdir } = options;
  const summary: PilotSummary = { jobs: 0, interruptedJob: false };
  const limit = options.once ? 1 : (options.maxJobs ?? Infinity);
  const slots = options.parallel ?? 1;
  const pollMs = options.pollSeconds * 1000;
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const start = (job: AcquiredJob, privateKey: PilotKeyPair['privateKey']): void => {
    const run = processJob(deps, options, supervisor, job, privateKey).then(
      (outcome) => {
        if (outcome?.aborted && deps.signal.aborted) summary.interruptedJob = true;
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    running.add(run);
    void run.finally(() => running.delete(run));
  };
  while (!deps.signal.aborted && summary.jobs < limit && failure === undefined) {
    if (running.size >= slots) {
      await Promise.race(running);
      continue;
    }
    const { publicJwk, privateKey } = await generatePilotKeyPair();
    let acquired: AcquiredJob[];
    try {
      const wanted = Math.min(slots - running.size, limit - summary.jobs);
      acquired = await deps.client.acquireJobs(publicJwk as Record<string, unknown>, wanted);
    } catch (error) {
      if (options.once || !isTransient(error)) {
        failure = { error };
        break;
      }
      deps.log.info(`cannot acquire jobs (${messageOf(error)}); trying again in ${options.pollSeconds} s`);
      await pollPause(deps, workdir, pollMs, running.size);
      continue;
    }
    if (acquired.length === 0) {
      if (options.once || options.exitWhenIdle) {
        deps.log.info('no job is queued');
        break;
      }
      if (options.verbose) deps.log.info(`no job is queued; polling again in ${options.pollSeconds} s`);
      await pollPause(deps, workdir, pollMs, running.size);
      continue;
    }
    summary.jobs += acquired.length;
    for (const job of acquired) start(job, privateKey);
  }
  // The jobs still running end by themselves, or by the stop signal, and report their ends.
  while (running.size > 0) await Promise.race(running);
  if (failure !== undefined) throw failure.error;
  return summary;
}

/** The wait between polls; while no job runs it also removes what supervisors that are gone left. */
async function pollPause(deps: PilotDeps, workdir: string, pollMs: number, runningJobs: number): Promise<void> {
  if (runningJobs === 0) await sweepWhileIdle(deps, workdir);
  await deps.sleep(pollMs, deps.signal);
}

/**
 * Removes the job directories under `workdir` whose supervisor is gone, logging each: what a
 * supervisor killed with SIGKILL left, secret files and all (also when its pilot died with it).
 */
async function sweepStaleJobDirs(deps: PilotDeps, workdir: string): Promise<void> {
  for (const stale of await removeStaleJobDirs(workdir)) {
    deps.log.info(`removed the job directory ${stale.name} left by a job supervisor that is gone (pid ${stale.pid})`);
  }
}

/**
 * The sweep of each idle poll round, so a directory left by an earlier pilot on the same
 * `--workdir` is not kept until a pilot next starts. A failure is logged, and tried again next
 * round, rather than ending the pilot.
 */
async function sweepWhileIdle(deps: PilotDeps, workdir: string): Promise<void> {
  try {
    await sweepStaleJobDirs(deps, workdir);
  } catch (error) {
    deps.log.info(
      `cannot remove the job directories of supervisors that are gone (${describeRunError(error)}); trying again at the next poll`,
    );
  }
}

/**
 * Renews the attempt's lease while the job runs and its end is being reported, and learns soon
 * that the owner killed the task. Every answer about the job says so: each heartbeat's `cancel`,
 * and the job's state in the answer to each log upload, passed to `answered`. A heartbeat is sent
 * three times per lease, and sooner when the server has said nothing about the job for `checkMs`
 * (a job that writes no output): a kill reaches the pilot within `checkMs`, a job that writes
 * output within its log interval, at no extra call.
 *
 * A cancel, or a refusal (the attempt is no longer the job's: its lease ran out, or the task was
 * retried), stops the payload through `stop`; a server that is briefly away is tried again at the
 * next beat. `deadline()` is when the lease runs out, as far as the pilot knows.
 */
function keepLease(deps: PilotDeps, acquired: AcquiredJob, checkMs: number, stop: (reason: StopReason) => void) {
  const now = deps.now ?? Date.now;
  const leaseMs = acquired.leaseSeconds * 1000;
  const renewMs = leaseMs / HEARTBEATS_PER_LEASE;
  let deadline = now() + leaseMs;
  /** When the last heartbeat was sent, answered or not: the next renews the lease `renewMs` later. */
  let beatSent = now();
  /** When the server last said the job goes on, by a heartbeat or a log upload's answer. */
  let heard = now();
  const ended = new AbortController();
  const cancelled = (): void => {
    ended.abort();
    stop('cancelled');
  };
  const beat = async (): Promise<void> => {
    while (!ended.signal.aborted) {
      // After a failed beat the next comes `checkMs` later, not at once.
      const due = Math.min(beatSent + renewMs, Math.max(beatSent, heard) + checkMs);
      if (now() < due) {
        await deps.sleep(due - now(), ended.signal);
        // A log upload's answer may have moved the next check on meanwhile.
        continue;
      }
      const sent = now();
      beatSent = sent;
      try {
        const { cancel } = await deps.client.heartbeat({ jobId: acquired.job.id, claimId: acquired.claimId });
        deadline = sent + leaseMs;
        if (cancel) {
          cancelled();
          return;
        }
        heard = Math.max(heard, sent);
      } catch (error) {
        if (isTransient(error) && now() < deadline) {
          deps.log.info(`job ${acquired.job.id}: renewing its lease failed (${messageOf(error)}); will retry`);
          continue;
        }
        if (isTransient(error)) {
          // Past its lease the server has ended this attempt and may run the job elsewhere: one copy only.
          deps.log.info(
            `job ${acquired.job.id}: its lease ran out while the server could not be reached (${messageOf(error)}); stopping it`,
          );
          stop('lost');
          return;
        }
        deps.log.info(
          `job ${acquired.job.id}: the server no longer holds this attempt (${messageOf(error)}); stopping it`,
        );
        stop('lost');
        return;
      }
    }
  };
  const beating = beat();
  return {
    deadline: () => deadline,
    /** Takes the job's state from the answer to an update sent at `sent`. */
    answered(state: JobState, sent: number): void {
      if (ended.signal.aborted) return;
      if (state === 'cancelled') cancelled();
      else heard = Math.max(heard, sent);
    },
    async end(): Promise<void> {
      ended.abort();
      await beating;
    },
  };
}

/** Runs one acquired job and reports its log and end; returns how the payload ended, if it ran. */
async function processJob(
  deps: PilotDeps,
  options: PilotOptions,
  supervisor: SupervisorProcess,
  acquired: AcquiredJob,
  privateKey: PilotKeyPair['privateKey'],
): Promise<JobOutcome | undefined> {
  const { job, claimId } = acquired;
  // Once the job's secrets are known, everything the pilot writes about the job is masked first.
  let redact = (text: string): string => text;
  const log = deps.jobLog({ job: job.id }, (text) => redact(text));
  log.info(`job ${job.id}: acquired (attempt ${job.attemptNr} of ${job.maxAttempts})`);

  const stopJob = new AbortController();
  let payloadEnded = false;
  const stop = (reason: StopReason): void => {
    if (stopJob.signal.aborted) return;
    if (reason === 'cancelled') {
      log.info(
        payloadEnded
          ? `job ${job.id}: cancelled by its owner after its payload ended`
          : `job ${job.id}: cancelled by its owner; stopping it`,
      );
    }
    stopJob.abort(reason);
  };
  const checkMs = Math.max(options.pollSeconds * 1000, LOG_INTERVAL_MS);
  const lease = keepLease({ ...deps, log }, acquired, checkMs, stop);
  // Every answer about the job says whether it was cancelled: a job that writes output stops at its next upload.
  const update = async (fields: Omit<UpdateJobRequest, 'jobId' | 'claimId'>): Promise<UpdateJobResponseData> => {
    const sent = (deps.now ?? Date.now)();
    const answer = await deps.client.updateJob({ jobId: job.id, claimId, ...fields });
    lease.answered(answer.state, sent);
    return answer;
  };
  const jobLog = createJobLog({
    send: async (log) => {
      await update({ state: 'running', log });
    },
    onSendError: (error) => {
      if (isTransient(error)) {
        log.info(`job ${job.id}: sending its log failed (${messageOf(error)}); will retry`);
        return 'retry';
      }
      log.info(
        `job ${job.id}: sending its log failed (${messageOf(error)}); no more tries until the job ends, keeping at most ${MAX_UNSENT_LOG} characters of it`,
      );
      return 'stop';
    },
  });
  let outcome: JobOutcome | undefined;
  let supervisorLost = false;
  try {
    const { secrets, newMasker } = await openJobSecrets(privateKey, acquired);
    redact = redactor(newMasker);
    log.info(
      `job ${job.id}: env secrets ${keyList(Object.keys(secrets.env))}; secret files ${keyList(Object.keys(secrets.files))}`,
    );
    // No "running" report: the server marked the job running when it handed it out.
    outcome = await runJob({
      jobId: job.id,
      command: job.spec.exec,
      secrets,
      workRoot: options.workdir,
      keepWorkdir: options.keepWorkdir,
      baseEnv: deps.payloadEnv,
      onOutput: (text) => jobLog.add(text),
      signal: AbortSignal.any([deps.signal, stopJob.signal]),
      ...(deps.killGraceMs === undefined ? {} : { killGraceMs: deps.killGraceMs }),
      runAs: options.runAs,
      ...(options.hiddenFiles === undefined ? {} : { hiddenFiles: options.hiddenFiles }),
      newMasker,
      supervisor,
    });
    if (outcome.aborted) jobLog.add(redact(`panda-pilot: ${stoppedNote(deps, stopJob.signal)}\n`));
  } catch (error) {
    if (error instanceof SupervisorLostError) {
      // The payload died with its supervisor, through no fault of its own: another attempt may run it.
      supervisorLost = true;
      log.info(`job ${job.id}: ${error.message}`);
      jobLog.add(redact(`panda-pilot: ${error.message}; the job was killed and handed back to the queue\n`));
    } else {
      // Setting the job up failed (its bundle, its files, starting bash): the job fails with the reason.
      const reason = describeRunError(error);
      log.info(`job ${job.id}: could not run: ${reason}`);
      jobLog.add(redact(`panda-pilot: the job could not run: ${reason}\n`));
    }
  }
  payloadEnded = true;

  if (
    outcome !== undefined &&
    !outcome.aborted &&
    (outcome.signal !== null || outcome.exitCode > 128) &&
    !deps.signal.aborted
  ) {
    await deps.sleep(STOP_SIGNAL_GRACE_MS, deps.signal);
    if (deps.signal.aborted) jobLog.add(`panda-pilot: ${stoppedNote(deps, stopJob.signal)}\n`);
  }
  const state = finalState(deps, stopJob.signal, outcome, supervisorLost);
  const exitCode = outcome?.exitCode ?? null;
  const pieces = await jobLog.close();
  if (stopJob.signal.reason === 'lost') {
    await lease.end();
    log.info(
      `job ${job.id}: stopped, exit code ${exitCode ?? 'none'}; its attempt had ended on the server, which keeps no more of it`,
    );
    return outcome;
  }
  const reported = await sendFinal({ ...deps, log }, job.id, pieces, lease.deadline, (log, last) =>
    update(last ? { state, exitCode, log } : { state: 'running', log }),
  );
  await lease.end();
  if (reported) log.info(`job ${job.id}: ${describeState(state, stopJob.signal)}, exit code ${exitCode ?? 'none'}`);
  return outcome;
}

/** Why the payload was stopped, for its log. */
function stoppedNote(deps: PilotDeps, stopped: AbortSignal): string {
  if (deps.signal.aborted)
    return `the pilot was stopped (${String(deps.signal.reason)}); the job was killed and handed back to the queue`;
  if (stopped.reason === 'cancelled') return 'the job was cancelled by its owner; it was killed';
  return 'the server no longer holds this attempt; the job was killed';
}

/**
 * What the pilot reports: `released` when it was stopped or its supervisor was lost (the job goes
 * back to the queue, as a new attempt while it has attempts left: not the user's fault); otherwise
 * the payload's verdict (a cancelled job stays cancelled whatever is sent).
 */
function finalState(
  deps: PilotDeps,
  stopped: AbortSignal,
  outcome: JobOutcome | undefined,
  supervisorLost: boolean,
): UpdateJobState {
  if ((deps.signal.aborted || supervisorLost) && !stopped.aborted) return 'released';
  return outcome !== undefined && outcome.exitCode === 0 && !outcome.aborted ? 'finished' : 'failed';
}

function describeState(state: UpdateJobState, stopped: AbortSignal): string {
  if (stopped.reason === 'cancelled') return 'cancelled';
  return state === 'released' ? 'handed back to the queue' : state;
}

/**
 * Sends the rest of the log, the last piece with the final state. A piece the server does not take
 * because it is away (down, restarting) is sent again with backoff until the lease would run out;
 * the log waits in memory meanwhile (bounded by the job log's cap). Returns whether all was taken.
 */
async function sendFinal(
  deps: PilotDeps,
  jobId: string,
  pieces: string[],
  deadline: () => number,
  send: (log: string, last: boolean) => Promise<unknown>,
): Promise<boolean> {
  const now = deps.now ?? Date.now;
  const minTimeout = deps.retryMinMs ?? 1000;
  for (const [index, piece] of pieces.entries()) {
    try {
      await pRetry(
        async () => {
          try {
            await send(piece, index === pieces.length - 1);
          } catch (error) {
            // Only a server that is away is worth another try, and only while the lease lasts.
            if (!isTransient(error) || now() + minTimeout >= deadline()) throw new AbortError(error as Error);
            throw error;
          }
        },
        {
          forever: true,
          maxRetryTime: Math.max(0, deadline() - now()),
          minTimeout,
          maxTimeout: MAX_RETRY_WAIT_MS,
          onFailedAttempt: (error) => {
            deps.log.info(
              `job ${jobId}: reporting its end failed (${messageOf(error)}); trying again until its lease runs out`,
            );
          },
        },
      );
    } catch (error) {
      // p-retry rejects with the error an AbortError carried.
      deps.log.info(`job ${jobId}: reporting its end failed: ${messageOf(error)}`);
      return false;
    }
  }
  return true;
}
