// TypeBox's builders by name, not its `Type` object: a bundle then keeps only the builders used.
import * as Type from '@sinclair/typebox';
import type { TLiteral, TSchema, TUnion } from '@sinclair/typebox';
import { MAX_EXEC_LENGTH, MAX_JOBS_PER_ACQUIRE, MAX_JOBS_PER_SUBMIT, MAX_LOG_CHUNK } from '../limits.js';
import { ATTEMPT_OUTCOMES, JOB_STATES, TASK_STATUSES, UPDATE_JOB_STATES } from '../wire.js';
import { limitRefusal, refusal } from './problems.js';

// The bodies of every call, as TypeBox schemas: the server checks requests against them, the
// client checks answers, the pilot checks opened bundles; wire.ts derives the TypeScript types.
// Each `refusal` and `limitRefusal` says how a value that breaks that part is refused (see
// problems.ts); any other type error is refused in PanDA's words.

/** A schema that also takes null. */
function nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** One of the given strings; a value that is not one is refused with the list. */
function oneOf<const T extends readonly string[]>(
  values: T,
): TUnion<Extract<{ -readonly [K in keyof T]: TLiteral<T[K]> }, TSchema[]>> {
  return Type.Union(values.map((value) => Type.Literal(value))) as never;
}

/** The answer every call gives, in PanDA's shape. */
export const ApiResponseSchema = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  data: Type.Unknown(),
  /**
   * On failure: the stable error code, one of ERROR_CODES (an addition to PanDA's shape; PanDA's
   * client ignores it). A client reads a code it does not know as absent.
   */
  code: Type.Optional(Type.Unknown()),
});

/** Body of `set_user_secrets`: key and value strings upsert; value null (or absent) deletes; key null deletes all. */
export const SetUserSecretsRequestSchema = Type.Object(
  {
    key: nullable(Type.String()),
    value: Type.Optional(nullable(Type.String())),
  },
  refusal(
    'INVALID_INPUT',
    'the body must be a JSON object {"key": ..., "value": ...}: key and value strings set a secret, value null deletes key, key null deletes all your secrets',
  ),
);

/** Query of `get_user_secrets`: `?keys=a&keys=b` asks for those keys only. */
export const GetUserSecretsQuerySchema = Type.Object({ keys: Type.Optional(Type.Array(Type.String())) });

/** What `get_user_secrets` holds, once its `data` string is parsed: wire key to value (a file's in base64). */
export const UserSecretsSchema = Type.Record(Type.String(), Type.String());

export const SecretMetadataSchema = Type.Object({
  /** The wire key: `NAME`, or `___file___:NAME` for a file. */
  key: Type.String(),
  /** Bytes of the value as UTF-8, or of the file. */
  size: Type.Integer(),
  /** When it was last set, ISO 8601 in UTC. */
  updatedAt: Type.String(),
});

export const SecretMetadataListSchema = Type.Array(SecretMetadataSchema);

/** One secret of an import, by wire key, its value as set_user_secrets takes it. */
export const ImportSecretEntrySchema = Type.Object({ key: Type.String(), value: Type.String() });

const IMPORT_BODY = refusal(
  'INVALID_INPUT',
  'the body must be a JSON object {"secrets": [{"key": K, "value": V}, ...]}',
);

function importRequest<T extends TSchema>(entry: T) {
  return Type.Object(
    {
      secrets: Type.Array(entry, {
        minItems: 1,
        ...IMPORT_BODY,
        ...limitRefusal('INVALID_INPUT', 'the import holds no secrets: nothing was changed'),
      }),
    },
    IMPORT_BODY,
  );
}

/** Body of `secrets/import`: set all these secrets, or none. */
export const ImportSecretsRequestSchema = importRequest(ImportSecretEntrySchema);

/**
 * The import's body as the server's route takes it, its entries left to be checked one by one
 * against {@link ImportSecretEntrySchema}, so that one refusal names every bad entry.
 */
export const ImportSecretsEnvelopeSchema = importRequest(Type.Unknown());

export const ImportSecretsResponseDataSchema = Type.Object({ created: Type.Integer(), replaced: Type.Integer() });

const jobSpecFields = {
  /** The payload command, run as `bash -c exec` in the job's working directory. */
  exec: Type.String({
    maxLength: MAX_EXEC_LENGTH,
    pattern: '\\S',
    ...limitRefusal('INVALID_INPUT', `{field} must be a non-empty command of at most ${MAX_EXEC_LENGTH} characters`),
  }),
  /** The output dataset name (PanDA's --outDS). */
  outDS: Type.String(),
};
/** Wire keys (`NAME` or `___file___:NAME`) of the secrets the job receives; empty for none. */
const SecretKeysSchema = Type.Array(Type.String());

export const JobSpecSchema = Type.Object({ ...jobSpecFields, secrets: SecretKeysSchema });

/** A job as submitted: without `secrets`, it gets none. */
const SubmittedJobSpecSchema = Type.Object({ ...jobSpecFields, secrets: Type.Optional(SecretKeysSchema) });

export const SubmitJobsRequestSchema = Type.Object({
  jobs: Type.Array(SubmittedJobSpecSchema, {
    minItems: 1,
    maxItems: MAX_JOBS_PER_SUBMIT,
    ...refusal('INVALID_INPUT', `the body must be {"jobs": [...]} with 1 to ${MAX_JOBS_PER_SUBMIT} job specs`),
  }),
});

export const JobStateSchema = oneOf(JOB_STATES);

export const JobInfoSchema = Type.Object({
  id: Type.String(),
  owner: Type.String(),
  /** The task (one submission, PanDA's jediTaskID) the job belongs to. */
  taskId: Type.Integer(),
  /** The job's number within its task, from 1. */
  jobIndex: Type.Integer(),
  spec: JobSpecSchema,
  state: JobStateSchema,
  exitCode: nullable(Type.Integer()),
  /** Attempts started so far; 0 while the job has never run. */
  attemptNr: Type.Integer(),
  /** The attempt after which a lost attempt fails the job instead of queuing it again. */
  maxAttempts: Type.Integer(),
  /** Why the job failed or was cancelled, when the server knows; null otherwise. */
  reason: nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const SubmitJobsResponseDataSchema = Type.Object({ taskId: Type.Integer(), jobs: Type.Array(JobInfoSchema) });

export const JobLogResponseDataSchema = Type.Object({ id: Type.String(), state: JobStateSchema, log: Type.String() });

export const AttemptOutcomeSchema = oneOf(ATTEMPT_OUTCOMES);

export const AttemptInfoSchema = Type.Object({
  attemptNr: Type.Integer(),
  /** The pilot's token subject. */
  pilot: Type.String(),
  startedAt: Type.String(),
  endedAt: nullable(Type.String()),
  outcome: AttemptOutcomeSchema,
  exitCode: nullable(Type.Integer()),
});

export const TaskStatusSchema = oneOf(TASK_STATUSES);

export const TaskInfoSchema = Type.Object({
  taskId: Type.Integer(),
  owner: Type.String(),
  status: TaskStatusSchema,
  /** The first job's command and output dataset. */
  exec: Type.String(),
  outDS: Type.String(),
  nJobs: Type.Integer(),
  jobsByState: Type.Record(JobStateSchema, Type.Integer()),
  createdAt: Type.String(),
  /** When any of its jobs last changed. */
  updatedAt: Type.String(),
});

export const JobDetailSchema = Type.Object({ ...JobInfoSchema.properties, attempts: Type.Array(AttemptInfoSchema) });

export const TaskDetailSchema = Type.Object({ task: TaskInfoSchema, jobs: Type.Array(JobDetailSchema) });

export const ListTasksResponseDataSchema = Type.Object({ tasks: Type.Array(TaskInfoSchema) });

export const KillTaskResponseDataSchema = Type.Object({
  task: TaskInfoSchema,
  /** Jobs this kill cancelled (queued ones at once; running ones are stopped by their pilot within seconds). */
  cancelled: Type.Integer(),
});

export const RetryTaskResponseDataSchema = Type.Object({
  task: TaskInfoSchema,
  /** Failed and cancelled jobs queued again as new attempts. */
  retried: Type.Integer(),
});

export const TaskJobLogResponseDataSchema = Type.Object({
  taskId: Type.Integer(),
  jobIndex: Type.Integer(),
  id: Type.String(),
  state: JobStateSchema,
  log: Type.String(),
  nextOffset: Type.Integer(),
});

/** Path of the job calls: the job's id. */
export const JobParamsSchema = Type.Object({ id: Type.String() });

/** Path of the task calls: the task id, a whole number the route reads (and names in its refusal). */
export const TaskParamsSchema = Type.Object({ taskId: Type.String() });

/**
 * Path and query of a task job's log: the job's number in its task, and the byte to read from
 * (default 0), whole numbers the route reads; a repeated `offset` is refused there too.
 */
export const TaskJobLogParamsSchema = Type.Object({ taskId: Type.String(), jobIndex: Type.String() });
export const TaskJobLogQuerySchema = Type.Object({ offset: Type.Optional(Type.Unknown()) });

const PUBLIC_KEY = refusal('INVALID_INPUT', "'publicKey' must be the pilot's one-time public key as a JWK object");

/** Body of `acquire_jobs`: the pilot's one-time public key (a JWK of an ECDH key) and how many jobs it takes. */
export const AcquireJobsRequestSchema = Type.Object(
  {
    publicKey: Type.Record(Type.String(), Type.Unknown(), PUBLIC_KEY),
    nJobs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_JOBS_PER_ACQUIRE,
        ...refusal('INVALID_INPUT', `'nJobs' must be an integer from 1 to ${MAX_JOBS_PER_ACQUIRE}`),
      }),
    ),
  },
  PUBLIC_KEY,
);

export const AcquiredJobSchema = Type.Object({
  job: JobInfoSchema,
  /** Proof of this acquisition (this attempt), required with every heartbeat and update of the job. */
  claimId: Type.String(),
  bundle: nullable(Type.String()),
  /** When the attempt's lease runs out unless a heartbeat renews it. */
  leaseExpiresAt: Type.String(),
  /** The lease's length: a heartbeat renews it to this many seconds from then. */
  leaseSeconds: Type.Number(),
});

export const AcquireJobsResponseDataSchema = Type.Object({ jobs: Type.Array(AcquiredJobSchema) });

/** The attempt a pilot's call is about: the job, and the claim that stands for the attempt. */
const attemptFields = { jobId: Type.String(), claimId: Type.String() };

export const UpdateJobStateSchema = oneOf(UPDATE_JOB_STATES);

export const UpdateJobRequestSchema = Type.Object({
  ...attemptFields,
  state: UpdateJobStateSchema,
  exitCode: Type.Optional(
    nullable(
      Type.Integer({
        minimum: 0,
        maximum: 255,
        ...limitRefusal('INVALID_INPUT', "'exitCode' must be a process exit status from 0 to 255"),
      }),
    ),
  ),
  log: Type.Optional(
    Type.String({
      maxLength: MAX_LOG_CHUNK,
      ...limitRefusal('TOO_LARGE', `a log chunk may be at most ${MAX_LOG_CHUNK} characters`),
    }),
  ),
});

/**
 * What `update_job` answers: the job's state after the update. `cancelled` (the owner killed the
 * task) tells the pilot of a running job to stop it, as a heartbeat's `cancel` does.
 */
export const UpdateJobResponseDataSchema = Type.Object({ id: Type.String(), state: JobStateSchema });

export const HeartbeatRequestSchema = Type.Object(attemptFields);

export const HeartbeatResponseDataSchema = Type.Object({
  leaseExpiresAt: Type.String(),
  /** True when the job was cancelled: the pilot stops the payload and removes its files. */
  cancel: Type.Boolean(),
});

/** A sealed bundle's shape; its names and files are checked beside it, by the name rules and the base64 decoder. */
export const SecretBundleSchema = Type.Object(
  {
    jobId: Type.String({ minLength: 1, ...refusal('INVALID_INPUT', '"jobId" is not a non-empty string') }),
    /** Env secrets: name to value. */
    env: Type.Record(
      Type.String(),
      Type.String({ ...refusal('INVALID_INPUT', 'the env secret {name} is not a string') }),
      {
        ...refusal('INVALID_INPUT', '"env" is not an object'),
      },
    ),
    /** File secrets: file name to the file's bytes in base64. */
    files: Type.Record(
      Type.String(),
      Type.String({ ...refusal('INVALID_INPUT', 'the secret file {name} is not a base64 string') }),
      { ...refusal('INVALID_INPUT', '"files" is not an object') },
    ),
  },
  refusal('INVALID_INPUT', 'it is not a JSON object'),
);

/** Path of the auth config: `{VO}_auth_config.json`. */
export const AuthConfigParamsSchema = Type.Object({ file: Type.String() });

export const AuthConfigSchema = Type.Object({
  client_id: Type.String(),
  /** Empty for a public client; PanDA's client reads the field unconditionally, so it is always there. */
  client_secret: Type.String(),
  /** The audience the server verifies ID tokens against. */
  audience: Type.String(),
  /** The identity provider's discovery document, `ISSUER/.well-known/openid-configuration`. */
  oidc_config_url: Type.String(),
  /** `wlcg` asks for the WLCG scopes as well, as PanDA's client does. */
  jwt_profile: Type.Optional(Type.String()),
});
