import { randomUUID } from 'node:crypto';
import { FINAL_JOB_STATES, JOB_STATES, PandaError, isPandaError } from '@panda-secrets/protocol';
import type { AttemptOutcome, JobState, TaskStatus } from '@panda-secrets/protocol';
import type { AuditInput, JobRow, Quota, SecretCiphertext, Store } from './types.js';

/** The clock and id source of a store, injected so tests can control them. */
export interface StoreClock {
  /** The current time; default `new Date()`. */
  now?: () => Date;
  /** A fresh unguessable id (job ids and claim ids); default a random UUID. */
  newId?: () => string;
}

export function resolveClock(options: StoreClock): Required<StoreClock> {
  return { now: options.now ?? (() => new Date()), newId: options.newId ?? randomUUID };
}

/**
 * A fresh revision for a secret row, written with every change to it. A random id rather than a
 * counter: a key deleted and set again never comes back to a revision a reader saw before.
 */
export function newRevision(): string {
  return randomUUID();
}

/** What the owner holds apart from the key being written (a replaced key is counted once). */
export interface QuotaUsage {
  count: number;
  bytes: number;
}

/**
 * Throws QUOTA_EXCEEDED when storing `size` bytes under `key` would take the owner past either
 * cap. `others` must exclude the key itself, so replacing a secret counts it only once.
 */
function assertWithinQuota(key: string, size: number, others: QuotaUsage, quota: Quota): void {
  const count = others.count + 1;
  const bytes = others.bytes + size;
  if (count <= quota.maxSecrets && bytes <= quota.maxTotalBytes) return;
  throw new PandaError(
    'QUOTA_EXCEEDED',
    `storing ${JSON.stringify(key)} (${size} bytes) would make ${count} secrets of ${bytes} bytes in total; ` +
      `you have ${others.count} other secrets of ${others.bytes} bytes and the limits are ` +
      `${quota.maxSecrets} secrets and ${quota.maxTotalBytes} bytes per user: nothing was changed`,
  );
}

/**
 * Throws QUOTA_EXCEEDED when storing the batch `inputs` would take the owner past either cap.
 * `others` must exclude the batch's keys, so a secret the batch replaces counts only once.
 */
export function assertBatchWithinQuota(
  inputs: readonly { key: string; size: number }[],
  others: QuotaUsage,
  quota: Quota,
): void {
  const [only] = inputs;
  if (inputs.length === 1 && only !== undefined) {
    assertWithinQuota(only.key, only.size, others, quota);
    return;
  }
  const size = inputs.reduce((sum, input) => sum + input.size, 0);
  const count = others.count + inputs.length;
  const bytes = others.bytes + size;
  if (count <= quota.maxSecrets && bytes <= quota.maxTotalBytes) return;
  throw new PandaError(
    'QUOTA_EXCEEDED',
    `storing these ${inputs.length} secrets (${size} bytes) would make ${count} secrets of ${bytes} bytes in total; ` +
      `you have ${others.count} other secrets of ${others.bytes} bytes and the limits are ` +
      `${quota.maxSecrets} secrets and ${quota.maxTotalBytes} bytes per user: nothing was changed`,
  );
}

/** How many jobs a claim of `limit` may take: a whole number, never negative. */
export function claimCount(limit: number): number {
  return Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;
}

/**
 * The secrets a job's spec names that are not among those `found` for it: deleted after it was
 * submitted. A job with one missing is not dispatched, so none of its secrets leaves.
 */
export function missingJobSecrets(job: JobRow, found: readonly SecretCiphertext[]): string[] {
  const present = new Set(found.map((secret) => secret.key));
  return job.spec.secrets.filter((name) => !present.has(name));
}

/**
 * The audit entry of a job claimed with its secrets `found`: null when its spec names none, or
 * when one of them no longer exists (the job then fails before dispatch, and no secret leaves).
 */
export function jobSecretsAudit(
  job: JobRow,
  found: readonly SecretCiphertext[],
  pilot: string,
  remote: string | null,
): AuditInput | null {
  const names = job.spec.secrets;
  if (names.length === 0 || missingJobSecrets(job, found).length > 0) return null;
  return { actor: pilot, action: 'job_secrets', key: names.join(','), jobId: job.id, remote };
}

/** The parts of a job row that decide whether a pilot may update it, and how its log may grow. */
export interface JobOwnership {
  owner: string;
  state: string;
  pilot: string | null;
  claimId: string | null;
  attemptNr: number;
  maxAttempts: number;
  leaseExpiresAt: number | Date | null;
  logBytes: number;
}

/** What closes a log that reached its limit. */
function logTruncatedNote(maxLogBytes: number): string {
  return `\n[the log is truncated at ${maxLogBytes} bytes]\n`;
}

/** What closes a log when its owner's logs together reached their budget. */
function logBudgetNote(budget: number): string {
  return `\n[the log is truncated: your job logs together reached their budget of ${budget} bytes]\n`;
}

/** The first `max` bytes of `bytes`, not ending inside a UTF-8 sequence. */
function utf8Head(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let end = Math.max(0, max);
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end);
}

/**
 * The bytes of `chunk` (UTF-8) a log of `logBytes` may still take: all of them, or what fits
 * followed by a note saying why it stops; nothing once a note is there (only a note makes a log
 * longer than its limit). The limit is the job's own (`maxLogBytes`) or what is left of the owner's
 * budget (`ownerRoom`), whichever is smaller.
 */
export function fitLogChunk(
  logBytes: number,
  chunk: string,
  limits: { maxLogBytes?: number; ownerRoom?: number; ownerBudget?: number } = {},
): Buffer {
  const bytes = Buffer.from(chunk, 'utf8');
  const jobRoom = limits.maxLogBytes === undefined ? Infinity : limits.maxLogBytes - logBytes;
  const ownerRoom = limits.ownerRoom ?? Infinity;
  const room = Math.min(jobRoom, ownerRoom);
  if (bytes.length <= room) return bytes;
  // A log already past its own limit carries the note, and a full budget was noted where it filled.
  if (jobRoom < 0 || ownerRoom <= 0) return Buffer.alloc(0);
  const note = jobRoom <= ownerRoom ? logTruncatedNote(limits.maxLogBytes!) : logBudgetNote(limits.ownerBudget ?? 0);
  return Buffer.concat([utf8Head(bytes, room), Buffer.from(note, 'utf8')]);
}

/** A lease time as epoch milliseconds (SQLite keeps numbers, PostgreSQL Dates). */
function epochMs(time: number | Date | null): number | null {
  return time === null ? null : new Date(time).getTime();
}

/**
 * Throws NOT_FOUND for a missing job and FORBIDDEN unless `pilot` holds the job's current attempt
 * under `claimId`, its lease has not run out at `now`, and the job has not ended, except that a
 * cancelled job's pilot may still report to it (`allowCancelled`). Messages never echo the claim
 * id: it is a credential.
 */
export function assertJobUpdatable(
  id: string,
  job: JobOwnership | undefined,
  pilot: string,
  claimId: string,
  now: Date,
  options: { allowCancelled?: boolean } = {},
): asserts job is JobOwnership {
  if (job === undefined) throw new PandaError('NOT_FOUND', `no job ${JSON.stringify(id)}`);
  if (job.pilot !== pilot || job.claimId !== claimId) {
    throw new PandaError(
      'FORBIDDEN',
      `job ${JSON.stringify(id)} is not held by this pilot under this claim: only the pilot of its current attempt may update it`,
    );
  }
  if (job.state === 'cancelled' && options.allowCancelled) return;
  if ((FINAL_JOB_STATES as readonly string[]).includes(job.state)) {
    throw new PandaError(
      'FORBIDDEN',
      `job ${JSON.stringify(id)} has already ended (${job.state}): it cannot be updated`,
    );
  }
  const lease = epochMs(job.leaseExpiresAt);
  if (lease !== null && lease <= now.getTime()) {
    throw new PandaError(
      'FORBIDDEN',
      `the lease of job ${JSON.stringify(id)} ran out: its attempt ${job.attemptNr} is over`,
    );
  }
}

/** What ending an attempt does to its job. */
export interface AttemptEnd {
  /** The job's next state. */
  state: JobState;
  /** Why, for a job that failed after its last attempt; null otherwise. */
  reason: string | null;
  /** The line the server adds to the job's log. */
  note: string;
}

/**
 * The job's fate when its attempt ends without the payload's verdict (`lost`: the lease ran out;
 * `released`: the pilot handed it back): queued again as a new attempt, or failed with the reason
 * after its last attempt.
 */
export function attemptEnd(
  job: Pick<JobOwnership, 'attemptNr' | 'maxAttempts' | 'pilot'>,
  outcome: Extract<AttemptOutcome, 'lost' | 'released'>,
): AttemptEnd {
  const why =
    outcome === 'lost'
      ? `its lease ran out (pilot ${job.pilot ?? '?'} stopped renewing it)`
      : `pilot ${job.pilot ?? '?'} was stopped and handed the job back`;
  const ended = `attempt ${job.attemptNr} of ${job.maxAttempts} ended ${outcome}: ${why}`;
  if (job.attemptNr < job.maxAttempts) {
    return { state: 'queued', reason: null, note: `\npanda-server: ${ended}; the job is queued again\n` };
  }
  const reason = `${ended}, and it was the last attempt`;
  return { state: 'failed', reason, note: `\npanda-server: ${reason}; the job failed\n` };
}

/** Jobs of each state, every state present. */
export function countByState(counts: Iterable<{ state: string; n: number | string }>): Record<JobState, number> {
  const byState = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  for (const { state, n } of counts) {
    if ((JOB_STATES as readonly string[]).includes(state)) byState[state as JobState] += Number(n);
  }
  return byState;
}

/**
 * A task's status from its jobs: queued/running while any job is queued or running (queued when
 * none has started), else finished when all finished, failed when any failed, else cancelled.
 */
export function taskStatus(byState: Record<JobState, number>, anyStarted: boolean): TaskStatus {
  if (byState.queued + byState.running > 0) return byState.running > 0 || anyStarted ? 'running' : 'queued';
  const total = JOB_STATES.reduce((sum, state) => sum + byState[state], 0);
  if (byState.finished === total) return 'finished';
  if (byState.failed > 0) return 'failed';
  return 'cancelled';
}

/** The refusal of a per-user job cap, for submissions that would take the owner past it. */
export function jobCapError(unfinished: number, submitted: number, max: number): PandaError {
  return new PandaError(
    'QUOTA_EXCEEDED',
    `you have ${unfinished} unfinished jobs and submitted ${submitted}; the limit is ${max} queued or running jobs per user: nothing was submitted`,
  );
}

/** Why a job failed, from its payload's exit code (null: the pilot could not run it). */
export function failureReason(exitCode: number | null): string {
  return exitCode === null
    ? 'the pilot could not run the payload (see its log)'
    : `the payload exited with code ${exitCode}`;
}

export function emptyTask(): PandaError {
  return new PandaError('INVALID_INPUT', 'a task needs at least one job');
}

/** NOT_FOUND for an absent task and for another owner's, in the same words. */
export function taskNotFound(taskId: number): PandaError {
  return new PandaError('NOT_FOUND', `no task ${taskId} of yours`);
}

export function nothingToKill(taskId: number, status: TaskStatus): PandaError {
  return new PandaError('CONFLICT', `task ${taskId} has ended (${status}): there is no queued or running job to kill`);
}

export function nothingToRetry(taskId: number, status: TaskStatus): PandaError {
  return new PandaError('CONFLICT', `task ${taskId} (${status}) has no failed or cancelled job to retry`);
}

/** The server's line in the log of a job cancelled by its owner. */
export function cancelledNote(reason: string): string {
  return `\npanda-server: ${reason}\n`;
}

/** The server's line in the log of a job queued again by its owner's retry. */
export function retriedNote(attemptNr: number): string {
  const after = attemptNr === 0 ? '' : ` after attempt ${attemptNr}`;
  return `\npanda-server: retried by its owner${after}; the job is queued again\n`;
}

/**
 * PostgreSQL's SQLSTATEs for text it cannot hold (a NUL in text, `\u0000` in jsonb). Callers refuse
 * such input first with a message of their own; this keeps any they miss a 400, never a 500.
 */
const TEXT_NOT_STORABLE: ReadonlySet<string> = new Set(['22021', '22P05']);

/**
 * The error a store method reports: PandaErrors pass through; a lost database becomes UNAVAILABLE
 * (`unavailableReason` says whether it is lost, and why, in a few words); anything else SERVER_ERROR.
 */
export function storeError(error: unknown, unavailableReason: (error: unknown) => string | null): PandaError {
  if (isPandaError(error)) return error;
  const reason = unavailableReason(error);
  if (reason !== null) {
    return new PandaError('UNAVAILABLE', `the database is unavailable: ${reason}`, { cause: error });
  }
  if (TEXT_NOT_STORABLE.has((error as { code?: unknown }).code as string)) {
    return new PandaError(
      'INVALID_INPUT',
      'the request holds text the database cannot store (a NUL character): nothing was changed',
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PandaError('SERVER_ERROR', `the database failed: ${message}`, { cause: error });
}

/**
 * A store's methods as an adapter writes them: synchronous (better-sqlite3) or asynchronous (pg).
 * `withStoreErrors` turns it into the Store.
 */
export type StoreMethods = {
  [K in keyof Store]: (...args: Parameters<Store[K]>) => Awaited<ReturnType<Store[K]>> | ReturnType<Store[K]>;
};

/**
 * Makes the Store of an adapter's methods: each returns a promise, and whatever a method throws
 * or rejects with reaches the caller as the PandaError `storeError` makes of it, so no method
 * needs its own try/catch.
 */
export function withStoreErrors(methods: StoreMethods, unavailableReason: (error: unknown) => string | null): Store {
  const store: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods)) {
    store[name] = async (...args: unknown[]) => {
      try {
        return await (method as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        throw storeError(error, unavailableReason);
      }
    };
  }
  return store as unknown as Store;
}
