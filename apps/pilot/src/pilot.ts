import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import type { PilotKeyPair } from '@panda-secrets/crypto';
import type { PandaClient } from '@panda-secrets/client';
import { isPandaError } from '@panda-secrets/protocol';
import type { AcquiredJob, SecretBundle, UpdateJobRequest } from '@panda-secrets/protocol';
import { MAX_UNSENT_LOG, createJobLog } from './job-log.js';
import { bundleMaskValues, maskerFactory } from './mask.js';
import { describeRunError, redactor } from './redact.js';
import { checkIsolation, runJob } from './run.js';
import type { JobOutcome } from './run.js';
import type { RunAsUser } from './users.js';
import { prepareWorkRoot, removeStaleJobDirs } from './workdir.js';

/** The server calls the pilot makes; unit tests pass a fake with these methods. */
export type PilotClient = Pick<PandaClient, 'acquireJobs' | 'updateJob'>;

export interface PilotOptions {
  /** Folder under which each job gets its fresh working directory. */
  workdir: string;
  /** Seconds between polls while no job is queued. */
  pollSeconds: number;
  /** Run at most one job; exit when none is queued. */
  once: boolean;
  /** Stop after this many jobs. */
  maxJobs?: number;
  /** Exit as soon as no job is queued instead of polling. */
  exitWhenIdle: boolean;
  keepWorkdir: boolean;
  verbose: boolean;
  /** The user payloads run as; without it they run as the pilot's own user. */
  runAs?: RunAsUser;
}

/** Everything the pilot takes from its process, injected so that tests drive it. */
export interface PilotDeps {
  client: PilotClient;
  /** The pilot's own log (stderr): job ids, key names, states and exit codes only. */
  log(line: string): void;
  /** The payload's environment before its env secrets: the pilot's own, minus its credentials. */
  payloadEnv: NodeJS.ProcessEnv;
  /** Aborted when the pilot gets one of its stop signals (SIGTERM, SIGHUP, ...); its reason is the signal's name. */
  signal: AbortSignal;
  /** Waits `ms`, or less when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** How long a stopped payload may take before SIGKILL; default runJob's. */
  killGraceMs?: number;
}

export interface PilotSummary {
  /** Jobs run to their end (finished or failed). */
  jobs: number;
  /** True when a signal stopped the pilot in the middle of a job, which was reported failed. */
  interruptedJob: boolean;
}

/** Failures worth another try after the poll interval: the server is briefly away. */
const TRANSIENT = new Set(['SERVER_UNREACHABLE', 'UNAVAILABLE', 'SERVER_ERROR']);
const FINAL_UPDATE_ATTEMPTS = 3;

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
  for (const stale of await removeStaleJobDirs(workdir)) {
    deps.log(`removed the job directory ${stale.name} left by a job supervisor that is gone (pid ${stale.pid})`);
  }
  await checkIsolation(workdir, options.runAs);
  const summary: PilotSummary = { jobs: 0, interruptedJob: false };
  const limit = options.once ? 1 : (options.maxJobs ?? Infinity);
  const pollMs = options.pollSeconds * 1000;
  while (!deps.signal.aborted && summary.jobs < limit) {
    const { publicJwk, privateKey } = await generatePilotKeyPair();
    let acquired: AcquiredJob[];
    try {
      acquired = await deps.client.acquireJobs(publicJwk as Record<string, unknown>, 1);
    } catch (error) {
      if (options.once || !isTransient(error)) throw error;
      deps.log(`cannot acquire jobs (${messageOf(error)}); trying again in ${options.pollSeconds} s`);
      await deps.sleep(pollMs, deps.signal);
      continue;
    }
    const [job] = acquired;
    if (job === undefined) {
      if (options.once || options.exitWhenIdle) {
        deps.log('no job is queued');
        break;
      }
      if (options.verbose) deps.log(`no job is queued; polling again in ${options.pollSeconds} s`);
      await deps.sleep(pollMs, deps.signal);
      continue;
    }
    const outcome = await processJob(deps, { ...options, workdir }, job, privateKey);
    summary.jobs += 1;
    if (outcome?.aborted) summary.interruptedJob = true;
  }
  return summary;
}

/** Opens the job's bundle (a job without secrets has none). */
async function openSecrets(privateKey: PilotKeyPair['privateKey'], acquired: AcquiredJob): Promise<Pick<SecretBundle, 'env' | 'files'>> {
  if (acquired.bundle === null) return { env: {}, files: {} };
  return openBundle(privateKey, acquired.bundle, acquired.job.id);
}

/** Runs one acquired job and reports its log and end; returns how the payload ended, if it ran. */
async function processJob(
  deps: PilotDeps,
  options: PilotOptions,
  acquired: AcquiredJob,
  privateKey: PilotKeyPair['privateKey'],
): Promise<JobOutcome | undefined> {
  const { job, claimId } = acquired;
  const update = (fields: Omit<UpdateJobRequest, 'jobId' | 'claimId'>): Promise<void> =>
    deps.client.updateJob({ jobId: job.id, claimId, ...fields });
  // Once the job's secrets are known, everything the pilot writes about the job is masked first.
  let redact = (text: string): string => text;
  const log = (line: string): void => deps.log(redact(line));
  log(`job ${job.id}: acquired`);

  const jobLog = createJobLog({
    send: (log) => update({ state: 'running', log }),
    onSendError: (error) => {
      if (isTransient(error)) {
        log(`job ${job.id}: sending its log failed (${messageOf(error)}); will retry`);
        return 'retry';
      }
      log(
        `job ${job.id}: sending its log failed (${messageOf(error)}); no more tries until the job ends, keeping at most ${MAX_UNSENT_LOG} characters of it`,
      );
      return 'stop';
    },
  });
  let outcome: JobOutcome | undefined;
  try {
    const secrets = await openSecrets(privateKey, acquired);
    const newMasker = maskerFactory(bundleMaskValues(secrets));
    redact = redactor(newMasker);
    log(
      `job ${job.id}: env secrets ${keyList(Object.keys(secrets.env))}; secret files ${keyList(Object.keys(secrets.files))}`,
    );
    await update({ state: 'running' });
    outcome = await runJob({
      jobId: job.id,
      command: job.spec.exec,
      secrets,
      workRoot: options.workdir,
      keepWorkdir: options.keepWorkdir,
      baseEnv: deps.payloadEnv,
      onOutput: (text) => jobLog.add(text),
      signal: deps.signal,
      ...(deps.killGraceMs === undefined ? {} : { killGraceMs: deps.killGraceMs }),
      runAs: options.runAs,
      newMasker,
    });
    if (outcome.aborted) {
      jobLog.add(redact(`panda-pilot: the pilot was stopped (${String(deps.signal.reason)}); the job was killed\n`));
    }
  } catch (error) {
    // Setting the job up failed (its bundle, its files, starting bash): the job fails with the reason.
    const reason = describeRunError(error);
    log(`job ${job.id}: could not run: ${reason}`);
    jobLog.add(redact(`panda-pilot: the job could not run: ${reason}\n`));
  }

  const finished = outcome !== undefined && outcome.exitCode === 0 && !outcome.aborted;
  const state = finished ? 'finished' : 'failed';
  const exitCode = outcome?.exitCode ?? null;
  const pieces = await jobLog.close();
  await sendFinal({ ...deps, log }, job.id, pieces, (log, last) =>
    update(last ? { state, exitCode, log } : { state: 'running', log }),
  );
  log(`job ${job.id}: ${state}, exit code ${exitCode ?? 'none'}`);
  return outcome;
}

/** Sends the rest of the log, the last piece with the final state, trying each a few times. */
async function sendFinal(
  deps: PilotDeps,
  jobId: string,
  pieces: string[],
  send: (log: string, last: boolean) => Promise<void>,
): Promise<void> {
  for (const [index, piece] of pieces.entries()) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await send(piece, index === pieces.length - 1);
        break;
      } catch (error) {
        if (attempt >= FINAL_UPDATE_ATTEMPTS || !isTransient(error)) {
          deps.log(`job ${jobId}: reporting its end failed: ${messageOf(error)}`);
          return;
        }
        await deps.sleep(1000 * attempt, new AbortController().signal);
      }
    }
  }
}
