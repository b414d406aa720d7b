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
/** The most jobs one submission may hold (prun --nJobs). */
export const MAX_JOBS_PER_SUBMIT = 1000;
/** Default cap on one user's unfinished (queued or running) jobs. */
export const DEFAULT_MAX_UNFINISHED_JOBS_PER_USER = 10_000;
/** Values shorter than this are not masked in job logs (they would mask too much). */
export const MIN_MASKED_LENGTH = 4;
/** Values longer than this are shown truncated in listings unless full output is asked for. */
export const LIST_TRUNCATE_AT = 50;
/** Default address of panda-server. */
export const DEFAULT_SERVER_HOST = '127.0.0.1';
export const DEFAULT_SERVER_PORT = 25080;
