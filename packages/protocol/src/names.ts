import { PandaError } from './errors.js';
import { MAX_ENV_ENTRY_BYTES, MAX_FILE_BYTES, MAX_JOB_ENV_BYTES, MAX_NAME_LENGTH } from './limits.js';

/** The prefix PanDA's wire protocol puts before the name of a file secret. */
export const FILE_PREFIX = '___file___:';

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const FILE_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

export const ENV_NAME_RULE =
  `an environment variable name: a letter or underscore, then letters, digits or underscores ` +
  `(${ENV_NAME_PATTERN.source}), at most ${MAX_NAME_LENGTH} characters`;
export const FILE_NAME_RULE =
  `a plain file name: letters, digits, '.', '_' or '-' (${FILE_NAME_PATTERN.source}), ` +
  `not '.' or '..', at most ${MAX_NAME_LENGTH} characters`;

export type SecretKind = 'env' | 'file';

export interface SecretRef {
  kind: SecretKind;
  /** The name without the file prefix: the env variable or the file's name in the job's directory. */
  name: string;
}

/** A name quoted for messages: JSON quoting shows spaces, control characters and emptiness. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 300 ? `${name.slice(0, 300)}...` : name);
}

/** Throws INVALID_NAME unless `name` is a valid env secret name. */
export function assertEnvName(name: string): void {
  if (name.length > MAX_NAME_LENGTH || !ENV_NAME_PATTERN.test(name)) {
    throw new PandaError(
      'INVALID_NAME',
      `invalid secret name ${quoteName(name)}: a secret name must be ${ENV_NAME_RULE}`,
    );
  }
}

/** Throws INVALID_NAME unless `name` is a valid file secret name. */
export function assertFileName(name: string): void {
  if (name.length > MAX_NAME_LENGTH || !FILE_NAME_PATTERN.test(name) || name === '.' || name === '..') {
    throw new PandaError(
      'INVALID_NAME',
      `invalid secret file name ${quoteName(name)}: a secret file name must be ${FILE_NAME_RULE}`,
    );
  }
}

/** The wire key of a secret: the env name as is, a file name behind FILE_PREFIX. */
export function wireKey(ref: SecretRef): string {
  return ref.kind === 'file' ? FILE_PREFIX + ref.name : ref.name;
}

/**
 * The wire keys a name given for one secret stands for, in PanDA's order: the env secret `NAME`,
 * else the secret file `___file___:NAME`. A wire key of a file stands for itself alone.
 *
 * @example
 * wireKeysOf('cfg') // ['cfg', '___file___:cfg']
 * wireKeysOf('___file___:cfg') // ['___file___:cfg']
 */
export function wireKeysOf(name: string): string[] {
  return name.startsWith(FILE_PREFIX) ? [name] : [name, FILE_PREFIX + name];
}

/**
 * Parses and validates a wire key (`NAME` or `___file___:NAME`).
 *
 * @example
 * parseWireKey('___file___:my_secret_file.dat') // { kind: 'file', name: 'my_secret_file.dat' }
 */
export function parseWireKey(key: string): SecretRef {
  if (key.startsWith(FILE_PREFIX)) {
    const name = key.slice(FILE_PREFIX.length);
    assertFileName(name);
    return { kind: 'file', name };
  }
  assertEnvName(key);
  return { kind: 'env', name: key };
}

/** UTF-8 length of a string in bytes. */
export function utf8Length(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** The bytes the env secret `name` with a value of `valueBytes` takes as `NAME=value` with its NUL. */
export function envEntryBytes(name: string, valueBytes: number): number {
  return utf8Length(name) + 1 + valueBytes + 1;
}

/** The largest value (UTF-8 bytes) the env secret `name` can hold: what `execve` passes, less the name. */
export function maxEnvValueBytes(name: string): number {
  return MAX_ENV_ENTRY_BYTES - envEntryBytes(name, 0);
}

const AS_A_FILE = `store it as a secret file instead (at most ${MAX_FILE_BYTES} bytes, any bytes)`;

/**
 * Throws unless `value` can be delivered as the environment variable `name`: well-formed
 * Unicode (it is sent as UTF-8), no NUL character (which ends a C string, so no environment can
 * hold it) and at most what the operating system passes as one variable. The message never holds
 * the value.
 */
export function assertEnvValue(name: string, value: string): void {
  const size = utf8Length(value);
  const max = maxEnvValueBytes(name);
  if (size > max) {
    throw new PandaError(
      'TOO_LARGE',
      `the value of ${quoteName(name)} is ${size} bytes of UTF-8; an environment variable can carry at most ` +
        `${max} bytes under this name (${MAX_ENV_ENTRY_BYTES} bytes for NAME=value): ${AS_A_FILE}`,
    );
  }
  if (value.includes('\0')) {
    throw new PandaError(
      'INVALID_INPUT',
      `the value of ${quoteName(name)} holds a NUL character, which no environment variable can carry: ${AS_A_FILE}`,
    );
  }
  if (!value.isWellFormed()) {
    throw new PandaError(
      'INVALID_INPUT',
      `the value of ${quoteName(name)} is not well-formed Unicode (it holds a lone surrogate); a value must be text that encodes to UTF-8`,
    );
  }
}

/**
 * Throws TOO_LARGE unless a job's env secrets (`name` and value size in UTF-8 bytes) can be
 * passed: each within what one environment variable can carry, all together within the budget
 * `execve` leaves them (MAX_JOB_ENV_BYTES). A job that could never start is refused when it is
 * submitted.
 */
export function assertJobEnvFits(secrets: ReadonlyArray<{ name: string; size: number }>): void {
  // A value stored before the limit was what the operating system can pass would fail every job.
  for (const { name, size } of secrets) {
    if (size > maxEnvValueBytes(name)) {
      throw new PandaError(
        'TOO_LARGE',
        `the env secret ${quoteName(name)} is ${size} bytes, more than an environment variable can carry ` +
          `(${maxEnvValueBytes(name)} bytes under this name): ${AS_A_FILE}, or leave it out with --secrets`,
      );
    }
  }
  const POINTER_BYTES = 8;
  const total = secrets.reduce((sum, { name, size }) => sum + envEntryBytes(name, size) + POINTER_BYTES, 0);
  if (total > MAX_JOB_ENV_BYTES) {
    throw new PandaError(
      'TOO_LARGE',
      `the job's ${secrets.length} env secrets take ${total} bytes of its environment together; at most ` +
        `${MAX_JOB_ENV_BYTES} bytes fit beside the payload's own environment: name fewer with --secrets, ` +
        `or store large values as secret files`,
    );
  }
}

/** Throws TOO_LARGE if a file's raw size is over the limit. */
export function assertFileSize(name: string, size: number): void {
  if (size > MAX_FILE_BYTES) {
    throw new PandaError(
      'TOO_LARGE',
      `the secret file ${quoteName(name)} is ${size} bytes; the limit is ${MAX_FILE_BYTES} bytes (1000 kB)`,
    );
  }
}

function isBase64Letter(code: number): boolean {
  return (
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    (code >= 48 && code <= 57) ||
    code === 43 ||
    code === 47
  );
}

/**
 * True for standard base64 with its padding. A loop, not a regular expression: a pattern that
 * repeats a group keeps backtracking state for each repetition, about 33 MB for a 1 MB file.
 */
function isStrictBase64(value: string): boolean {
  if (value.length % 4 !== 0) return false;
  const end = value.endsWith('==') ? value.length - 2 : value.endsWith('=') ? value.length - 1 : value.length;
  for (let at = 0; at < end; at += 1) if (!isBase64Letter(value.charCodeAt(at))) return false;
  return true;
}

/**
 * Checks the base64 wire value of a file secret as {@link decodeFileValue} does, without
 * decoding it: the raw size limit (from the encoded length) and strict base64.
 */
export function assertFileValue(name: string, value: string): void {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const rawSize = Math.floor((value.length * 3) / 4) - padding;
  assertFileSize(name, rawSize);
  if (!isStrictBase64(value)) {
    throw new PandaError(
      'INVALID_INPUT',
      `the value of secret file ${quoteName(name)} must be the file's bytes in standard base64 (A-Z, a-z, 0-9, '+', '/', '=' padding)`,
    );
  }
}

/**
 * Decodes the base64 wire value of a file secret strictly, checking the raw size limit first
 * from the encoded length so an oversize upload is never decoded.
 */
export function decodeFileValue(name: string, value: string): Buffer {
  assertFileValue(name, value);
  return Buffer.from(value, 'base64');
}

/**
 * Validates a key and its value as the server receives them: the name rule for the key's kind,
 * what an environment variable can carry for a string value (see assertEnvValue), strict base64 and the raw-byte limit
 * for a file. Returns the parsed reference, the plaintext bytes to store and their size.
 */
export function validateSecret(key: string, value: string): { ref: SecretRef; plaintext: Buffer; size: number } {
  const ref = parseWireKey(key);
  if (ref.kind === 'file') {
    const plaintext = decodeFileValue(ref.name, value);
    return { ref, plaintext, size: plaintext.length };
  }
  assertEnvValue(ref.name, value);
  const plaintext = Buffer.from(value, 'utf8');
  return { ref, plaintext, size: plaintext.length };
}

/**
 * True for host names and addresses only this machine can reach: `localhost`, 127.0.0.0/8, ::1.
 * Plain HTTP is acceptable only to such hosts.
 *
 * @example
 * isLoopbackHost('127.0.0.1') // true
 * isLoopbackHost('[::1]')      // true (as URL.hostname writes it)
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

export const DATASET_NAME_PATTERN = /^[A-Za-z0-9._:/-]{1,255}$/;

/** Throws INVALID_INPUT unless `name` is a dataset name (prun's --outDS). */
export function assertDatasetName(name: string): void {
  if (!DATASET_NAME_PATTERN.test(name)) {
    throw new PandaError(
      'INVALID_INPUT',
      `invalid output dataset name ${quoteName(name)}: use 1 to 255 letters, digits or '.', '_', ':', '/', '-' (for example user.jdoe.test)`,
    );
  }
}

/**
 * Throws INVALID_INPUT when `text` holds a NUL character: no command line, user name or other text
 * the server stores can carry one (PostgreSQL text cannot, nor can an argument of `execve`).
 */
export function assertNoNul(field: string, text: string): void {
  const at = text.indexOf('\0');
  if (at === -1) return;
  throw new PandaError(
    'INVALID_INPUT',
    `${field} holds a NUL character (at position ${at}), which no command, name or stored text may contain`,
  );
}
