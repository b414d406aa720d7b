import type { AttemptOutcome, JobSpec, JobState } from '@panda-secrets/protocol';
import { countByState, taskStatus } from './rules.js';
import type { AttemptRow, AuditAction, AuditRecord, JobRow, StoredSecret, TaskRow } from './types.js';

/**
 * Rows as both adapters read them. SQLite keeps times as epoch milliseconds and the job spec as
 * JSON text; PostgreSQL gives Dates, parsed jsonb and int8 as strings. The mappers accept both.
 */
type Time = number | Date;

export interface SecretColumns {
  owner: string;
  key: string;
  ciphertext: string;
  key_id: string;
  size: number;
  created_at: Time;
  updated_at: Time;
  revision: string;
}

export interface JobColumns {
  id: string;
  owner: string;
  task_id: number | string;
  job_index: number;
  spec: string | JobSpec;
  state: JobState;
  exit_code: number | null;
  attempt_nr: number;
  max_attempts: number;
  reason: string | null;
  pilot: string | null;
  claim_id: string | null;
  lease_expires_at: Time | null;
  log_bytes: number | string;
  created_at: Time;
  updated_at: Time;
}

export interface AttemptColumns {
  job_id: string;
  attempt_nr: number;
  pilot: string;
  started_at: Time;
  ended_at: Time | null;
  outcome: AttemptOutcome;
  exit_code: number | null;
}

/** One row per (task, state) of a task listing: the task's columns and how many of its jobs are in that state. */
export interface TaskStateColumns {
  task_id: number | string;
  owner: string;
  exec: string;
  out_ds: string;
  created_at: Time;
  state: string;
  n: number | string;
  /** Attempts started by the jobs in that state. */
  attempts: number | string;
  updated_at: Time;
}

export interface AuditColumns {
  id: number | string;
  at: Time;
  actor: string;
  action: AuditAction;
  key: string | null;
  job_id: string | null;
  remote: string | null;
}

export function toSecret(row: SecretColumns): StoredSecret {
  return {
    owner: row.owner,
    key: row.key,
    ciphertext: row.ciphertext,
    keyId: row.key_id,
    size: Number(row.size),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    revision: row.revision,
  };
}

export function toJob(row: JobColumns): JobRow {
  return {
    id: row.id,
    owner: row.owner,
    taskId: Number(row.task_id),
    jobIndex: row.job_index,
    spec: typeof row.spec === 'string' ? (JSON.parse(row.spec) as JobSpec) : row.spec,
    state: row.state,
    exitCode: row.exit_code,
    attemptNr: row.attempt_nr,
    maxAttempts: row.max_attempts,
    reason: row.reason,
    pilot: row.pilot,
    claimId: row.claim_id,
    leaseExpiresAt: row.lease_expires_at === null ? null : new Date(row.lease_expires_at),
    logBytes: Number(row.log_bytes),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

export function toAttempt(row: AttemptColumns): AttemptRow {
  return {
    jobId: row.job_id,
    attemptNr: row.attempt_nr,
    pilot: row.pilot,
    startedAt: new Date(row.started_at),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at),
    outcome: row.outcome,
    exitCode: row.exit_code,
  };
}

/** Tasks from their per-state rows, in the order their first rows come. */
export function toTasks(rows: readonly TaskStateColumns[]): TaskRow[] {
  const grouped = new Map<number, TaskStateColumns[]>();
  for (const row of rows) {
    const id = Number(row.task_id);
    grouped.set(id, [...(grouped.get(id) ?? []), row]);
  }
  return [...grouped.values()].map((states) => {
    const first = states[0]!;
    const jobsByState = countByState(states);
    const updatedAt = Math.max(...states.map((row) => new Date(row.updated_at).getTime()));
    return {
      taskId: Number(first.task_id),
      owner: first.owner,
      status: taskStatus(
        jobsByState,
        states.some((row) => Number(row.attempts) > 0),
      ),
      exec: first.exec,
      outDS: first.out_ds,
      nJobs: states.reduce((sum, row) => sum + Number(row.n), 0),
      jobsByState,
      createdAt: new Date(first.created_at),
      updatedAt: new Date(updatedAt),
    };
  });
}

/** A job log's chunks (from the offset asked for on) as one slice of text. */
export function toLogSlice(
  chunks: ReadonlyArray<{ start_offset: number | string; data: Uint8Array }>,
  offset: number,
  logBytes: number,
) {
  const parts = chunks.map(({ start_offset, data }) => {
    const start = Number(start_offset);
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return start < offset ? buffer.subarray(offset - start) : buffer;
  });
  return { log: Buffer.concat(parts).toString('utf8'), nextOffset: Math.max(offset, logBytes) };
}

export function toAudit(row: AuditColumns): AuditRecord {
  return {
    id: Number(row.id),
    at: new Date(row.at),
    actor: row.actor,
    action: row.action,
    key: row.key,
    jobId: row.job_id,
    remote: row.remote,
  };
}
