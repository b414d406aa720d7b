import type { ErrorCode } from './errors.js';

/** Every response body of panda-server, in PanDA's shape. */
export interface ApiResponse<T = unknown> {
  success: boolean;
  message: string;
  data: T;
  /** On failure: the stable error code (an addition to PanDA's shape; PanDA's client ignores it). */
  code?: ErrorCode;
}

/** HTTP paths of panda-server. The two `creds` calls are wire-compatible with PanDA's API. */
export const ApiPath = {
  setUserSecrets: '/api/v1/creds/set_user_secrets',
  getUserSecrets: '/api/v1/creds/get_user_secrets',
  submitJobs: '/api/v1/jobs/submit',
  /** GET `${jobs}/:id` for status, `${jobs}/:id/log` for the masked log. */
  jobs: '/api/v1/jobs',
  /**
   * The user's tasks: GET `tasks` lists them, GET `${tasks}/:taskId` shows one with its jobs and their
   * attempts, POST `${tasks}/:taskId/kill` and `/retry` change it, GET
   * `${tasks}/:taskId/jobs/:jobIndex/log?offset=N` reads a job's log from byte N.
   */
  tasks: '/api/v1/tasks',
  acquireJobs: '/api/v1/pilot/acquire_jobs',
  updateJob: '/api/v1/pilot/update_job',
  heartbeat: '/api/v1/pilot/heartbeat',
  health: '/api/v1/health',
} as const;

/** Body of `set_user_secrets`: key and value strings upsert; value null deletes; key null deletes all. */
export interface SetUserSecretsRequest {
  key: string | null;
  value: string | null;
}

/** The token claim that marks a pilot; a token without it is a user's. */
export const ROLE_CLAIM = 'role';
export type Role = 'user' | 'pilot';

/** What a user submits: one job. Secret references are wire keys, never values. */
export interface JobSpec {
  /** The payload command, run as `bash -c exec` in the job's working directory. */
  exec: string;
  /** The output dataset name (PanDA's --outDS). */
  outDS: string;
  /** Wire keys (`NAME` or `___file___:NAME`) of the secrets the job receives; empty for none. */
  secrets: string[];
}

export interface SubmitJobsRequest {
  jobs: JobSpec[];
}

/**
 * A job is `queued` until a pilot acquires it, `running` while an attempt holds it under a lease,
 * and ends `finished` (exit code 0), `failed` (non-zero exit, or its last attempt was lost) or
 * `cancelled` (killed by its owner).
 */
export type JobState = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'finished', 'failed', 'cancelled'];
export const FINAL_JOB_STATES: readonly JobState[] = ['finished', 'failed', 'cancelled'];

/** A job as the server reports it to its owner. */
export interface JobInfo {
  id: string;
  owner: string;
  /** The task (one submission, PanDA's jediTaskID) the job belongs to. */
  taskId: number;
  /** The job's number within its task, from 1. */
  jobIndex: number;
  spec: JobSpec;
  state: JobState;
  exitCode: number | null;
  /** Attempts started so far; 0 while the job has never run. */
  attemptNr: number;
  /** The attempt after which a lost attempt fails the job instead of queuing it again. */
  maxAttempts: number;
  /** Why the job failed or was cancelled, when the server knows; null otherwise. */
  reason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SubmitJobsResponseData {
  taskId: number;
  jobs: JobInfo[];
}

export interface JobLogResponseData {
  id: string;
  state: JobState;
  log: string;
}

/**
 * How an attempt ended: `lost` when its lease ran out (the pilot stopped renewing it), `released`
 * when its pilot was stopped (SIGTERM) and handed the job back; `running` while it runs.
 */
export type AttemptOutcome = 'running' | 'finished' | 'failed' | 'lost' | 'released' | 'cancelled';

/** One run of a job by one pilot. */
export interface AttemptInfo {
  attemptNr: number;
  /** The pilot's token subject. */
  pilot: string;
  startedAt: string;
  endedAt: string | null;
  outcome: AttemptOutcome;
  exitCode: number | null;
}

/**
 * A task's status, from its jobs: `queued` while none has started and some are queued, `running`
 * while any is queued or running, else `finished` when all finished, `failed` when any failed,
 * else `cancelled`.
 */
export type TaskStatus = 'queued' | 'running' | 'finished' | 'failed' | 'cancelled';

export interface TaskInfo {
  taskId: number;
  owner: string;
  status: TaskStatus;
  /** The first job's command and output dataset. */
  exec: string;
  outDS: string;
  nJobs: number;
  jobsByState: Record<JobState, number>;
  createdAt: string;
  /** When any of its jobs last changed. */
  updatedAt: string;
}

export type JobDetail = JobInfo & { attempts: AttemptInfo[] };

export interface TaskDetail {
  task: TaskInfo;
  jobs: JobDetail[];
}

export interface ListTasksResponseData {
  tasks: TaskInfo[];
}

export interface KillTaskResponseData {
  task: TaskInfo;
  /** Jobs this kill cancelled (queued ones at once; running ones are stopped at their pilot's next heartbeat). */
  cancelled: number;
}

export interface RetryTaskResponseData {
  task: TaskInfo;
  /** Failed and cancelled jobs queued again as new attempts. */
  retried: number;
}

/**
 * A job's log from byte `offset` on. The log is UTF-8 text, stored as bytes; offsets count those
 * bytes. Pass `nextOffset` back to read only what was added since.
 */
export interface TaskJobLogResponseData {
  taskId: number;
  jobIndex: number;
  id: string;
  state: JobState;
  log: string;
  nextOffset: number;
}

/** Body of `acquire_jobs`: the pilot's one-time public key (a JWK of an ECDH key). */
export interface AcquireJobsRequest {
  publicKey: Record<string, unknown>;
  nJobs?: number;
}

/** One acquired job. `bundle` is a compact JWE sealed to the pilot's key, present when the job has secrets. */
export interface AcquiredJob {
  job: JobInfo;
  /** Proof of this acquisition (this attempt), required with every heartbeat and update of the job. */
  claimId: string;
  bundle: string | null;
  /** When the attempt's lease runs out unless a heartbeat renews it. */
  leaseExpiresAt: string;
  /** The lease's length: a heartbeat renews it to this many seconds from then. */
  leaseSeconds: number;
}

export interface AcquireJobsResponseData {
  jobs: AcquiredJob[];
}

/**
 * Body of `update_job`. A log chunk is appended; `finished` or `failed` ends the attempt and the
 * job; `released` (the pilot was stopped) ends the attempt and queues the job again.
 */
export interface UpdateJobRequest {
  jobId: string;
  claimId: string;
  state: UpdateJobState;
  exitCode?: number | null;
  log?: string;
}

export type UpdateJobState = 'running' | 'finished' | 'failed' | 'released';
export const UPDATE_JOB_STATES: readonly UpdateJobState[] = ['running', 'finished', 'failed', 'released'];

/** Body of `heartbeat`: renews the lease of the attempt the claim stands for. */
export interface HeartbeatRequest {
  jobId: string;
  claimId: string;
}

export interface HeartbeatResponseData {
  leaseExpiresAt: string;
  /** True when the job was cancelled: the pilot stops the payload and removes its files. */
  cancel: boolean;
}

/** What a sealed bundle holds once opened on the node. */
export interface SecretBundle {
  jobId: string;
  /** Env secrets: name to value. */
  env: Record<string, string>;
  /** File secrets: file name to the file's bytes in base64. */
  files: Record<string, string>;
}

/** The protected-header parameter that binds a sealed bundle to its job. */
export const BUNDLE_JOB_HEADER = 'job_id';
