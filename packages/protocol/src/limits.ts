/**
 * The most one environment variable can carry: Linux's MAX_ARG_STRLEN, the largest string
 * `execve` passes, counted as `NAME=value` plus its terminating NUL. An env secret's value is
 * limited by it (less its name), so every value that can be stored can be delivered.
 */
export const MAX_ENV_ENTRY_BYTES = 131_072;
/** The largest env value (UTF-8 bytes), reached with a one-character name; larger text belongs in a file. */
export const MAX_VALUE_BYTES = MAX_ENV_ENTRY_BYTES - 3;
/**
 * What a job's env secrets may take together of `execve`'s budget: each counted as its
 * `NAME=value` string with its NUL plus the 8-byte pointer to it. Linux gives argv and the
 * environment together a quarter of the stack limit (2 MiB with the usual 8 MiB); half of that is
 * left to the payload's own environment (the pilot's, minus its credentials) and `bash -c CMD`.
 */
export const MAX_JOB_ENV_BYTES = 1_048_576;
/** The largest secret file: 1000 kB of raw bytes. */
export const MAX_FILE_BYTES = 1_024_000;
/** The longest secret name (env or file). */
export const MAX_NAME_LENGTH = 255;
/** Default cap on the number of secrets one user may keep. */
export const DEFAULT_MAX_SECRETS_PER_USER = 500;
/** Default cap on the total stored size (bytes of values and files) per user: 50 MB. */
export const DEFAULT_MAX_TOTAL_BYTES_PER_USER = 50 * 1024 * 1024;
/** The most jobs one submission may hold (prun --nJobs). */
export const MAX_JOBS_PER_SUBMIT = 1000;
/** The longest job command (characters). */
export const MAX_EXEC_LENGTH = 65_536;
/** The most jobs one acquire_jobs call may claim. */
export const MAX_JOBS_PER_ACQUIRE = 10;
/** The longest log chunk (characters) one update_job call may carry. */
export const MAX_LOG_CHUNK = 1_048_576;
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
