import type { Static } from '@sinclair/typebox';
import type {
  AcquireJobsRequestSchema,
  AcquireJobsResponseDataSchema,
  AcquiredJobSchema,
  ApiResponseSchema,
  AttemptInfoSchema,
  AttemptOutcomeSchema,
  AuthConfigSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseDataSchema,
  ImportSecretsRequestSchema,
  ImportSecretsResponseDataSchema,
  JobDetailSchema,
  JobInfoSchema,
  JobLogResponseDataSchema,
  JobSpecSchema,
  JobStateSchema,
  KillTaskResponseDataSchema,
  ListTasksResponseDataSchema,
  RetryTaskResponseDataSchema,
  SecretBundleSchema,
  SecretMetadataSchema,
  SetUserSecretsRequestSchema,
  SubmitJobsRequestSchema,
  SubmitJobsResponseDataSchema,
  TaskDetailSchema,
  TaskInfoSchema,
  TaskJobLogResponseDataSchema,
  TaskStatusSchema,
  UpdateJobRequestSchema,
  UpdateJobResponseDataSchema,
  UpdateJobStateSchema,
} from './schemas/bodies.js';

// The types of the wire protocol, derived from its schemas (schemas/bodies.ts), and its constants.

/** Every response body of panda-server, in PanDA's shape; `data` is the call's own. */
export type ApiResponse<T = unknown> = Omit<Static<typeof ApiResponseSchema>, 'data'> & { data: T };

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
  /** Ours, beside PanDA's two calls: each secret's name, size and last update, never a value. */
  secretsMetadata: '/api/v1/secrets/metadata',
  /** Ours: set several secrets in one transaction, all or none. */
  importSecrets: '/api/v1/secrets/import',
} as const;

/** One secret as `secrets/metadata` describes it: no value. */
export type SecretMetadata = Static<typeof SecretMetadataSchema>;
/** Body of `secrets/import`: secrets by wire key, each value as set_user_secrets takes it. */
export type ImportSecretsRequest = Static<typeof ImportSecretsRequestSchema>;
/** What `secrets/import` stored: how many secrets it created and how many it replaced. */
export type ImportSecretsResponseData = Static<typeof ImportSecretsResponseDataSchema>;
/** Body of `set_user_secrets`: key and value strings upsert; value null deletes; key null deletes all. */
export type SetUserSecretsRequest = Static<typeof SetUserSecretsRequestSchema>;

/** The token claim that marks a pilot; a token without it is a user's. */
export const ROLE_CLAIM = 'role';
export type Role = 'user' | 'pilot';

/** What a user submits: one job. Secret references are wire keys, never values. */
export type JobSpec = Static<typeof JobSpecSchema>;
export type SubmitJobsRequest = Static<typeof SubmitJobsRequestSchema>;

/** The states of a job, in the order of its life (see JobState). */
export const JOB_STATES = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const;
/**
 * A job is `queued` until a pilot acquires it, `running` while an attempt holds it under a lease,
 * and ends `finished` (exit code 0), `failed` (non-zero exit, or its last attempt was lost) or
 * `cancelled` (killed by its owner).
 */
export type JobState = Static<typeof JobStateSchema>;
export const FINAL_JOB_STATES: readonly JobState[] = ['finished', 'failed', 'cancelled'];

/** A job as the server reports it to its owner. */
export type JobInfo = Static<typeof JobInfoSchema>;
export type SubmitJobsResponseData = Static<typeof SubmitJobsResponseDataSchema>;
export type JobLogResponseData = Static<typeof JobLogResponseDataSchema>;

/** How an attempt can end (see AttemptOutcome). */
export const ATTEMPT_OUTCOMES = ['running', 'finished', 'failed', 'lost', 'released', 'cancelled'] as const;
/**
 * How an attempt ended: `lost` when its lease ran out (the pilot stopped renewing it), `released`
 * when its pilot was stopped (SIGTERM) and handed the job back; `running` while it runs.
 */
export type AttemptOutcome = Static<typeof AttemptOutcomeSchema>;
/** One run of a job by one pilot. */
export type AttemptInfo = Static<typeof AttemptInfoSchema>;

/** The statuses of a task (see TaskStatus). */
export const TASK_STATUSES = ['queued', 'running', 'finished', 'failed', 'cancelled'] as const;
/**
 * A task's status, from its jobs: `queued` while none has started and some are queued, `running`
 * while any is queued or running, else `finished` when all finished, `failed` when any failed,
 * else `cancelled`.
 */
export type TaskStatus = Static<typeof TaskStatusSchema>;
export type TaskInfo = Static<typeof TaskInfoSchema>;
export type JobDetail = Static<typeof JobDetailSchema>;
export type TaskDetail = Static<typeof TaskDetailSchema>;
export type ListTasksResponseData = Static<typeof ListTasksResponseDataSchema>;
export type KillTaskResponseData = Static<typeof KillTaskResponseDataSchema>;
export type RetryTaskResponseData = Static<typeof RetryTaskResponseDataSchema>;
/**
 * A job's log from byte `offset` on. The log is UTF-8 text, stored as bytes; offsets count those
 * bytes. Pass `nextOffset` back to read only what was added since.
 */
export type TaskJobLogResponseData = Static<typeof TaskJobLogResponseDataSchema>;

/** Body of `acquire_jobs`: the pilot's one-time public key (a JWK of an ECDH key). */
export type AcquireJobsRequest = Static<typeof AcquireJobsRequestSchema>;
/** One acquired job. `bundle` is a compact JWE sealed to the pilot's key, present when the job has secrets. */
export type AcquiredJob = Static<typeof AcquiredJobSchema>;
export type AcquireJobsResponseData = Static<typeof AcquireJobsResponseDataSchema>;

/** What a pilot reports of an attempt: its progress, its end, or that it hands the job back. */
export const UPDATE_JOB_STATES = ['running', 'finished', 'failed', 'released'] as const;
export type UpdateJobState = Static<typeof UpdateJobStateSchema>;
/**
 * Body of `update_job`. A log chunk is appended; `finished` or `failed` ends the attempt and the
 * job; `released` (the pilot was stopped) ends the attempt and queues the job again.
 */
export type UpdateJobRequest = Static<typeof UpdateJobRequestSchema>;
/** What `update_job` answers: the job's state after the update (`cancelled` when its owner killed it). */
export type UpdateJobResponseData = Static<typeof UpdateJobResponseDataSchema>;
/** Body of `heartbeat`: renews the lease of the attempt the claim stands for. */
export type HeartbeatRequest = Static<typeof HeartbeatRequestSchema>;
export type HeartbeatResponseData = Static<typeof HeartbeatResponseDataSchema>;

/** What a sealed bundle holds once opened on the node. */
export type SecretBundle = Static<typeof SecretBundleSchema>;

/** The protected-header parameter that binds a sealed bundle to its job. */
export const BUNDLE_JOB_HEADER = 'job_id';

/**
 * PanDA's auth config, published by panda-server at `authConfigPath(vo)` for the clients that sign
 * people in with the device flow. The field names are PanDA's, so that PanDA's own client reads it.
 */
export type AuthConfig = Static<typeof AuthConfigSchema>;

/** The VO names an auth config may be published for: they become part of a URL path. */
export const VO_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Where panda-server publishes the auth config of a VO, on the server's root (PanDA's path).
 *
 * @example
 * authConfigPath('atlas') // '/auth/atlas_auth_config.json'
 */
export function authConfigPath(vo: string): string {
  return `/auth/${vo}_auth_config.json`;
}
