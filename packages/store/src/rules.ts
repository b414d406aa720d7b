import { randomUUID } from 'node:crypto';
import { FILE_PREFIX, FINAL_JOB_STATES, PandaError, isPandaError } from '@panda-secrets/protocol';
import type { Quota, Store } from './types.js';

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
export function assertWithinQuota(key: string, size: number, others: QuotaUsage, quota: Quota): void {
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
export function assertBatchWithinQuota(inputs: readonly { key: string; size: number }[], others: QuotaUsage, quota: Quota): void {
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

/** The keys a delete of `key` tries, in order: the key itself, then PanDA's file fallback. */
export function deletionCandidates(key: string): [string, string] {
  return [key, FILE_PREFIX + key];
}

/** The parts of a job row that decide whether a pilot may update it, and how its log may grow. */
export interface JobOwnership {
  state: string;
  pilot: string | null;
  claimId: string | null;
  logLength: number;
}

/** What closes a log that reached its limit. */
export function logTruncatedNote(maxLogLength: number): string {
  return `\n[the log is truncated at ${maxLogLength} characters]\n`;
}

/**
 * The part of `chunk` a log of `logLength` characters may still take under `maxLogLength`: all of
 * it, or what fits followed by the truncation note; nothing once the note is there (only the note
 * makes a log longer than its limit).
 */
export function fitLogChunk(logLength: number, chunk: string, maxLogLength: number | undefined): string {
  if (maxLogLength === undefined || logLength + chunk.length <= maxLogLength) return chunk;
  if (logLength > maxLogLength) return '';
  return chunk.slice(0, maxLogLength - logLength) + logTruncatedNote(maxLogLength);
}

/**
 * Throws NOT_FOUND for a missing job and FORBIDDEN unless `pilot` holds the job's current claim
 * and the job has not ended. Messages never echo the claim id: it is a credential.
 */
export function assertJobUpdatable(
  id: string,
  job: JobOwnership | undefined,
  pilot: string,
  claimId: string,
): void {
  if (job === undefined) throw new PandaError('NOT_FOUND', `no job ${JSON.stringify(id)}`);
  if (job.pilot !== pilot || job.claimId !== claimId) {
    throw new PandaError(
      'FORBIDDEN',
      `job ${JSON.stringify(id)} is not held by this pilot under this claim: only the pilot that acquired it may update it`,
    );
  }
  if ((FINAL_JOB_STATES as readonly string[]).includes(job.state)) {
    throw new PandaError('FORBIDDEN', `job ${JSON.stringify(id)} has already ended (${job.state}): it cannot be updated`);
  }
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
    return new PandaError('INVALID_INPUT', 'the request holds text the database cannot store (a NUL character): nothing was changed', { cause: error });
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
