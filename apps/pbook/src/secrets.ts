import {
  ENV_NAME_RULE,
  FILE_NAME_RULE,
  FILE_PREFIX,
  MIN_MASKED_LENGTH,
  PandaError,
  assertEnvName,
  assertFileName,
  assertFileSize,
  assertValueSize,
  isPandaError,
  parseWireKey,
} from '@panda-secrets/protocol';
import { lazyClient } from './connect.js';
import type { Deps, GlobalOptions, SecretsClient } from './deps.js';

export const DELETE_ALL_QUESTION = 'Delete all your secrets? [y/N] ';

/** A yes to a [y/N] question: y or yes in any case; anything else, or nothing, is no. */
export function isYes(answer: string | null): boolean {
  return /^\s*y(es)?\s*$/i.test(answer ?? '');
}

/** Whether output may be coloured: asked for, a terminal, and NO_COLOR unset or empty. */
export function useColor(deps: Deps, options: GlobalOptions): boolean {
  return options.color && deps.isTTY.stdout && !deps.env.NO_COLOR;
}

/** Checks a name given for deletion: any env or file secret name, or a wire key. */
function assertDeletableName(name: string): void {
  if (name.startsWith(FILE_PREFIX)) {
    parseWireKey(name);
    return;
  }
  try {
    assertEnvName(name);
  } catch {
    try {
      assertFileName(name);
    } catch (error) {
      throw new PandaError(
        'INVALID_NAME',
        `invalid secret name ${JSON.stringify(name)}: a secret name must be ${ENV_NAME_RULE}; a secret file name must be ${FILE_NAME_RULE}`,
        { cause: error },
      );
    }
  }
}

/**
 * The secret operations all three forms of pbook share: validation before anything is sent,
 * messages (never values) to stderr, listings to stdout. The client is made on first use, so
 * `help()` needs no token.
 */
export class SecretActions {
  readonly #deps: Deps;
  readonly #options: GlobalOptions;
  readonly #connect: () => Promise<SecretsClient>;

  constructor(deps: Deps, options: GlobalOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#connect = lazyClient(deps, options);
  }

  #say(message: string): void {
    this.#deps.stderr.write(`${message}\n`);
  }

  /** Stores a string secret; warns when the value is too short to be masked in job logs. */
  async setValue(name: string, value: string): Promise<void> {
    assertEnvName(name);
    assertValueSize(name, value);
    const client = await this.#connect();
    await client.setSecret(name, value);
    this.#say(`set ${name}`);
    if (value.length < MIN_MASKED_LENGTH) {
      this.#say(
        `warning: the value of ${name} is shorter than ${MIN_MASKED_LENGTH} characters, so it is not masked in job logs`,
      );
    }
  }

  /** Stores a local file as a secret file: checked by size before it is read, sent as base64. */
  async setFile(name: string, path: string): Promise<void> {
    assertFileName(name);
    const bytes = await this.readLocalFile(path, (size) => assertFileSize(name, size));
    const client = await this.#connect();
    await client.setSecret(FILE_PREFIX + name, Buffer.from(bytes).toString('base64'));
    this.#say(`set file ${name} (${bytes.length} bytes)`);
  }

  /**
   * Reads a local file after `checkSize` accepted its size (and again after reading, in case it
   * grew). A missing or unreadable file is rejected input naming the path.
   */
  async readLocalFile(path: string, checkSize: (size: number) => void): Promise<Uint8Array> {
    const unreadable = (reason: string, cause?: unknown): PandaError =>
      new PandaError('INVALID_INPUT', `cannot read the file "${path}": ${reason}`, { cause });
    let bytes: Uint8Array;
    try {
      const stat = await this.#deps.fs.stat(path);
      if (!stat.isFile()) throw unreadable('not a regular file');
      checkSize(stat.size);
      bytes = await this.#deps.fs.readFile(path);
    } catch (error) {
      if (isPandaError(error)) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw unreadable(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message, error);
    }
    checkSize(bytes.length);
    return bytes;
  }

  /**
   * Prints the secrets: on a TTY a table that wraps long values within the terminal's width,
   * tab-separated rows when piped, or JSON.
   */
  async list(options: { full: boolean; json: boolean }): Promise<void> {
    const client = await this.#connect();
    const secrets = await client.getSecrets();
    const { renderSecrets, secretEntries } = await import('@panda-secrets/table');
    const format = options.json ? 'json' : this.#deps.isTTY.stdout ? 'table' : 'plain';
    // 0: the terminal does not say how wide it is.
    const width = this.#deps.terminalWidth() || undefined;
    this.#deps.stdout.write(
      renderSecrets(secretEntries(secrets), { format, full: options.full, color: useColor(this.#deps, this.#options), width }),
    );
  }

  /** Deletes one secret, env or file; NOT_FOUND when it does not exist. */
  async delete(name: string): Promise<void> {
    assertDeletableName(name);
    const client = await this.#connect();
    await client.deleteSecret(name);
    this.#say(`deleted ${name}`);
  }

  /** Deletes every secret of the user, once `confirm` (when given) says yes. */
  async deleteAll(confirm?: (question: string) => Promise<boolean>): Promise<void> {
    if (confirm !== undefined && !(await confirm(DELETE_ALL_QUESTION))) {
      this.#say('nothing deleted');
      return;
    }
    const client = await this.#connect();
    await client.deleteAllSecrets();
    this.#say('deleted all secrets');
  }
}
