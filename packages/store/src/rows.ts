import type { JobSpec, JobState } from '@panda-secrets/protocol';
import type { AuditAction, AuditRecord, JobRow, StoredSecret } from './types.js';

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
  spec: string | JobSpec;
  state: JobState;
  exit_code: number | null;
  pilot: string | null;
  claim_id: string | null;
  log: string;
  created_at: Time;
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
    spec: typeof row.spec === 'string' ? (JSON.parse(row.spec) as JobSpec) : row.spec,
    state: row.state,
    exitCode: row.exit_code,
    pilot: row.pilot,
    claimId: row.claim_id,
    log: row.log,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
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
