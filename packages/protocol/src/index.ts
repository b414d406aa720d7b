export { PandaError, isPandaError, httpStatusFor, errorCodeForStatus } from './errors.js';
export type { ErrorCode, PandaErrorOptions } from './errors.js';
export { ExitCode, exitCodeFor } from './exit-codes.js';
export type { ExitCodeValue } from './exit-codes.js';
export {
  MAX_VALUE_BYTES,
  MAX_ENV_ENTRY_BYTES,
  MAX_JOB_ENV_BYTES,
  MAX_FILE_BYTES,
  MAX_NAME_LENGTH,
  DEFAULT_MAX_SECRETS_PER_USER,
  DEFAULT_MAX_TOTAL_BYTES_PER_USER,
  DEFAULT_MAX_UNFINISHED_JOBS_PER_USER,
  MAX_JOBS_PER_SUBMIT,
  MIN_MASKED_LENGTH,
  LIST_TRUNCATE_AT,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
} from './limits.js';
export {
  FILE_PREFIX,
  ENV_NAME_PATTERN,
  FILE_NAME_PATTERN,
  ENV_NAME_RULE,
  FILE_NAME_RULE,
  assertEnvName,
  assertFileName,
  assertEnvValue,
  assertJobEnvFits,
  envEntryBytes,
  maxEnvValueBytes,
  assertFileSize,
  decodeFileValue,
  parseWireKey,
  wireKey,
  utf8Length,
  validateSecret,
  isLoopbackHost,
  DATASET_NAME_PATTERN,
  assertDatasetName,
  assertNoNul,
} from './names.js';
export type { SecretKind, SecretRef } from './names.js';
export { ApiPath, ROLE_CLAIM, FINAL_JOB_STATES, BUNDLE_JOB_HEADER, VO_NAME_PATTERN, authConfigPath } from './wire.js';
export type {
  ApiResponse,
  SetUserSecretsRequest,
  Role,
  JobSpec,
  SubmitJobsRequest,
  JobState,
  JobInfo,
  SubmitJobsResponseData,
  JobLogResponseData,
  AcquireJobsRequest,
  AcquiredJob,
  AcquireJobsResponseData,
  UpdateJobRequest,
  SecretBundle,
  AuthConfig,
  SecretMetadata,
  ImportSecretsRequest,
  ImportSecretsResponseData,
} from './wire.js';
