import type { AttemptOutcome, JobSpec, JobState, TaskInfo, UpdateJobState } from '@panda-secrets/protocol';

/** One encrypted secret as stored: one row per (owner, key). The value is never stored in plaintext. */
export interface StoredSecret {
  owner: string;
  /** The wire key: `NAME` for an env secret, `___file___:NAME` for a file. */
  key: string;
  /** Compact JWE produced by @panda-secrets/crypto. */
  ciphertext: string;
  /** The id of the master key that encrypted it. */
  keyId: string;
  /** Plaintext size in bytes (UTF-8 bytes of a value, raw bytes of a file), for quotas. */
  size: number;
  createdAt: Date;
  updatedAt: Date;
  /** Changes with every write of the row: the version a compare-and-set (key rotation) checks. */
  revision: string;
}

/**
 * What reading a stored secret takes: its address (to which the ciphertext is bound), the
 * ciphertext, and the plaintext's size (to reserve memory before decrypting).
 */
export type SecretCiphertext = Pick<StoredSecret, 'owner' | 'key' | 'ciphertext' | 'size'>;

export type AuditAction = 'set' | 'delete' | 'delete_all' | 'job_secrets';

/** Who did what to which key, when and from where. Never a value. */
export interface AuditInput {
  actor: string;
  action: AuditAction;
  /** The wire key for set/delete; the comma-joined keys for job_secrets; null for delete_all. */
  key: string | null;
  jobId?: string | null;
  /** The client's address. */
  remote?: string | null;
}

export interface AuditRecord extends Required<AuditInput> {
  id: number;
  at: Date;
}

export interface Quota {
  maxSecrets: number;
  maxTotalBytes: number;
}

export interface PutSecretInput {
  owner: string;
  key: string;
  ciphertext: string;
  keyId: string;
  size: number;
}

/** One secret of a batch written by putSecrets: its owner is the batch's. */
export type SecretWrite = Omit<PutSecretInput, 'owner'>;

export interface JobRow {
  id: string;
  owner: string;
  taskId: number;
  /** The job's number within its task, from 1. */
  jobIndex: number;
  spec: JobSpec;
  state: JobState;
  exitCode: number | null;
  /** Attempts started so far (0 while it never ran). */
  attemptNr: number;
  maxAttempts: number;
  /** Why it failed or was cancelled, when the server knows. */
  reason: string | null;
  /** The pilot (token subject) of the current or last attempt. */
  pilot: string | null;
  /** The secret proof of the current attempt a pilot must show with each heartbeat and update. */
  claimId: string | null;
  /** When the current attempt's lease runs out; null unless running. */
  leaseExpiresAt: Date | null;
  /** Bytes of log stored (UTF-8). */
  logBytes: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A job claimed for dispatch, with what its bundle is made of. */
export interface ClaimedJob {
  job: JobRow;
  /** The secrets of the job's owner that its spec names and that still exist, sorted by key. */
  secrets: SecretCiphertext[];
}

export interface AttemptRow {
  jobId: string;
  attemptNr: number;
  pilot: string;
  startedAt: Date;
  endedAt: Date | null;
  outcome: AttemptOutcome;
  exitCode: number | null;
}

/** A task as stored, with its jobs counted by state (`status` is derived from the counts); times are Dates. */
export type TaskRow = Omit<TaskInfo, 'createdAt' | 'updatedAt'> & { createdAt: Date; updatedAt: Date };

export interface TaskDetailRow {
  task: TaskRow;
  jobs: Array<JobRow & { attempts: AttemptRow[] }>;
}

export interface JobLimits {
  /** Most unfinished (queued or running) jobs the owner may have, these included. */
  maxUnfinishedJobs: number;
  /** Attempts each job gets. */
  maxAttempts: number;
}

export interface JobUpdateInput {
  state: UpdateJobState;
  exitCode?: number | null;
  /** Why a failed job failed, when the caller knows better than its exit code says. */
  reason?: string;
  /** Appended to the job's log (its UTF-8 bytes are stored as they are). */
  appendLog?: string;
  /** The log's limit in bytes: what goes beyond it is dropped, after one note saying so. */
  maxLogBytes?: number;
  /** The owner's budget of log bytes over all their jobs: beyond it, too, a chunk is dropped with a note. */
  ownerLogBudget?: number;
}

export interface LogSlice {
  /** The log's bytes from the offset asked for, as UTF-8 text. */
  log: string;
  /** The log's length in bytes: the offset of what comes next. */
  nextOffset: number;
}

export interface LeaseRenewal {
  leaseExpiresAt: Date;
  /** The job was cancelled: the pilot must stop it. */
  cancel: boolean;
}

export interface RetentionResult {
  /** Ended jobs deleted with their logs and attempts. */
  jobs: number;
  /** Logs of ended jobs emptied to bring an owner back within their log budget. */
  logs: number;
}

/** A ciphertext rewritten by key rotation, from the row as it was read. */
export interface CiphertextUpdate {
  owner: string;
  key: string;
  ciphertext: string;
  keyId: string;
  /** The revision the row had when it was read: the rewrite happens only if it still has it. */
  revision: string;
}

/**
 * The storage contract of panda-server. Both adapters (SQLite and PostgreSQL) implement it and
 * pass one conformance suite. Every write is one transaction.
 */
export interface Store {
  /** Upserts one secret after checking the owner's quota, and records the audit entry, atomically. */
  putSecret(input: PutSecretInput, quota: Quota, audit: AuditInput): Promise<void>;
  /**
   * Upserts several secrets of one owner in one transaction, all or none: the quota is checked
   * for the batch as a whole (the secrets it replaces counted once), and each secret gets the
   * audit entry `audit` with its key. Keys must be distinct.
   */
  putSecrets(owner: string, inputs: readonly SecretWrite[], quota: Quota, audit: AuditInput): Promise<void>;
  /** The owner's secrets (only those keys, when given), sorted by key. */
  getSecrets(owner: string, keys?: readonly string[]): Promise<StoredSecret[]>;
  /** The same secrets as getSecrets, in the same order, with only what decrypting them takes. */
  getCiphertexts(owner: string, keys?: readonly string[]): Promise<SecretCiphertext[]>;
  /**
   * Deletes the first of `wireKeysOf(key)` that exists (PanDA's fallback: `key`, else
   * `___file___:key`), recording the audit entry with the key actually deleted. Returns that key,
   * or null when none existed.
   */
  deleteSecret(owner: string, key: string, audit: AuditInput): Promise<string | null>;
  /** Deletes all of the owner's secrets and records one audit entry. Returns how many were deleted. */
  deleteAllSecrets(owner: string, audit: AuditInput): Promise<number>;
  /** Every secret of every owner, for key rotation and checks. */
  allSecrets(): Promise<StoredSecret[]>;
  /**
   * Rewrites ciphertexts in one transaction (key rotation), each only if its row still has the
   * revision that was read (compare-and-set): a value written meanwhile is never replaced by the
   * re-encryption of an older one. Returns how many rows changed.
   */
  replaceCiphertexts(updates: readonly CiphertextUpdate[]): Promise<number>;

  /**
   * Creates one task of queued jobs (numbered 1..n) for the owner, with a new task id from the
   * deployment's sequence. The owner's unfinished jobs are counted and the jobs inserted in one
   * serialised step, so concurrent submissions can never pass `limits.maxUnfinishedJobs` together:
   * QUOTA_EXCEEDED, nothing created.
   */
  createTask(owner: string, specs: readonly JobSpec[], limits: JobLimits): Promise<{ taskId: number; jobs: JobRow[] }>;
  getJob(id: string): Promise<JobRow | null>;
  /** How many of the owner's jobs have not ended (queued or running), for the per-user job cap. */
  countUnfinishedJobs(owner: string): Promise<number>;
  /** The owner's tasks, newest first. */
  listTasks(owner: string): Promise<TaskRow[]>;
  /** One of the owner's tasks with its jobs and their attempts; null when absent or another owner's. */
  getTask(owner: string, taskId: number): Promise<TaskDetailRow | null>;
  /** Job `jobIndex` of the owner's task; null when absent or another owner's. */
  getTaskJob(owner: string, taskId: number, jobIndex: number): Promise<JobRow | null>;
  /**
   * Cancels the task's queued and running jobs (a running one's pilot learns it at its next
   * heartbeat). NOT_FOUND for an absent or another owner's task, CONFLICT when no job is left to cancel.
   */
  killTask(owner: string, taskId: number, reason: string): Promise<{ task: TaskRow; cancelled: number }>;
  /**
   * Queues the task's failed and cancelled jobs again, each with `maxAttempts` more attempts.
   * NOT_FOUND as for kill; CONFLICT when none is failed or cancelled.
   */
  retryTask(owner: string, taskId: number, maxAttempts: number): Promise<{ task: TaskRow; retried: number }>;
  /** The job's log from byte `offset`. */
  readJobLog(id: string, offset: number): Promise<LogSlice>;
  /**
   * Ends the attempts whose lease ran out (`lost`): each job is queued again, or fails with the
   * reason once it had its last attempt. Safe to run from several instances at once. Returns how
   * many attempts it ended.
   */
  expireLeases(): Promise<number>;
  /**
   * Atomically claims up to `limit` queued jobs, oldest first, for `pilot` (after ending the
   * attempts whose lease ran out): each becomes `running` under a new attempt with a fresh claim
   * id and a lease of `leaseMs`. No job is ever returned to two callers. In the same transaction,
   * reads each claimed job's secrets and records the audit entry `job_secrets` of each job whose
   * secrets are all still there (actor: the pilot; key: the spec's names joined by commas; the job
   * id; `remote`), so no job's secrets leave the store for a pilot without their audit entry, and
   * no audit entry without its claim.
   */
  claimJobsWithSecrets(pilot: string, limit: number, leaseMs: number, remote: string | null): Promise<ClaimedJob[]>;
  /**
   * Renews the lease of the attempt `claimId` stands for. FORBIDDEN when it is not the job's
   * current attempt or its lease already ran out; a cancelled job answers `cancel: true`.
   */
  renewLease(id: string, pilot: string, claimId: string, leaseMs: number): Promise<LeaseRenewal>;
  /**
   * Updates a job through its current attempt. Throws NOT_FOUND for an unknown job and FORBIDDEN
   * when the pilot or claim id is not the current attempt's, its lease ran out, or the job has
   * ended (a cancelled job still takes its pilot's last log, and stays cancelled). `released`
   * ends the attempt and queues the job again (or fails it after its last attempt).
   */
  updateJob(id: string, pilot: string, claimId: string, update: JobUpdateInput): Promise<JobRow>;
  /**
   * Deletes jobs (with logs and attempts) that ended before `endedBefore`, and empties the logs of
   * the oldest ended jobs of each owner whose logs together exceed `ownerLogBudget`.
   */
  applyRetention(endedBefore: Date, ownerLogBudget: number): Promise<RetentionResult>;

  appendAudit(entry: AuditInput): Promise<void>;
  /** Audit records, oldest first, optionally only one actor's or one job's. */
  listAudit(filter?: { actor?: string; jobId?: string }): Promise<AuditRecord[]>;

  /** Small named values of the server itself (for example the key-ring check). */
  getMeta(name: string): Promise<string | null>;
  setMeta(name: string, value: string): Promise<void>;

  /** Throws PandaError UNAVAILABLE when the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
