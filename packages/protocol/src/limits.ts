/** The largest string value: 1000 kB of UTF-8. */
export const MAX_VALUE_BYTES = 1_024_000;
/** The largest secret file: 1000 kB of raw bytes. */
export const MAX_FILE_BYTES = 1_024_000;
/** The longest secret name (env or file). */
export const MAX_NAME_LENGTH = 255;
/** Default cap on the number of secrets one user may keep. */
export const DEFAULT_MAX_SECRETS_PER_USER = 500;
/** Default cap on the total stored size (bytes of values and files) per user: 50 MB. */
export const DEFAULT_MAX_TOTAL_BYTES_PER_USER = 50 * 1024 * 1024;
/** Default cap on one user's unfinished (queued or running) jobs. */
export const DEFAULT_MAX_UNFINISHED_JOBS_PER_USER = 10_000;
/** Values shorter than this are not masked in job logs (they would mask too much). */
export const MIN_MASKED_LENGTH = 4;
/** Values longer than this are shown truncated in listings unless full output is asked for. */
export const LIST_TRUNCATE_AT = 50;
/** Default address of panda-server. */
export const DEFAULT_SERVER_HOST = '127.0.0.1';
export const DEFAULT_SERVER_PORT = 25080;
/** Default length of a job attempt's lease, renewed by the pilot's heartbeats: 300 s. */
export const DEFAULT_JOB_LEASE_SECONDS = 300;
/** Default number of attempts a job gets before a lost attempt fails it. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Default time finished, failed and cancelled jobs (and their logs) are kept: 30 days. */
export const DEFAULT_JOB_RETENTION_SECONDS = 30 * 24 * 3600;
/** Default budget of one user's job logs together: 1 GiB. */
export const DEFAULT_LOG_BYTES_PER_USER = 1024 * 1024 * 1024;
