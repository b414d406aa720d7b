import type { JobSpec, JobState } from '@panda-secrets/protocol';

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
  spec: JobSpec;
  state: JobState;
  exitCode: number | null;
  /** The pilot (token subject) that acquired the job, once acquired. */
  pilot: string | null;
  /** The secret proof of the acquisition a pilot must show with each update. */
  claimId: string | null;
  /** The masked log, appended chunk by chunk. */
  log: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface JobUpdateInput {
  state: 'running' | 'finished' | 'failed';
  exitCode?: number | null;
  /** Appended to the job's log. */
  appendLog?: string;
  /** The log's limit: what goes beyond it is dropped, after one note saying so. */
  maxLogLength?: number;
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
  /**
   * Deletes `key`, or if it does not exist `___file___:key` (PanDA's fallback), recording the
   * audit entry with the key actually deleted. Returns that key, or null when neither existed.
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

  /** Creates queued jobs for the owner, in order. */
  createJobs(owner: string, specs: readonly JobSpec[]): Promise<JobRow[]>;
  getJob(id: string): Promise<JobRow | null>;
  /** How many of the owner's jobs have not ended (queued or running), for the per-user job cap. */
  countUnfinishedJobs(owner: string): Promise<number>;
  /**
   * Atomically claims up to `limit` queued jobs, oldest first, for `pilot`: they become `running`
   * with a fresh claim id each. No job is ever returned to two callers.
   */
  claimJobs(pilot: string, limit: number): Promise<JobRow[]>;
  /**
   * Updates a job the pilot claimed. Throws PandaError NOT_FOUND for an unknown job and FORBIDDEN
   * when the pilot or claim id does not match, or when the job has already ended.
   */
  updateJob(id: string, pilot: string, claimId: string, update: JobUpdateInput): Promise<JobRow>;

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
