import {
  ENV_NAME_RULE,
  FILE_NAME_RULE,
  FILE_PREFIX,
  MIN_MASKED_LENGTH,
  PandaError,
  assertEnvName,
  assertFileName,
  assertFileSize,
  assertEnvValue,
  isPandaError,
  parseWireKey,
  wireKeysOf,
} from '@panda-secrets/protocol';
import type { Deps, GlobalOptions, SecretsClient } from './deps.js';

const DELETE_ALL_QUESTION = 'Delete all your secrets? [y/N] ';

/** A yes to a [y/N] question: y or yes in any case; anything else, or nothing, is no. */
export function isYes(answer: string | null): boolean {
  return /^\s*y(es)?\s*$/i.test(answer ?? '');
}

/**
 * Reads a stream whole, counting as it reads: `checkSize` sees the running total after each chunk
 * and throws once it is too much, which stops the reading there (the rest is left unread), so an
 * endless or huge stream holds at most the limit and one chunk in memory.
 */
export async function readLimited(
  stream: NodeJS.ReadableStream,
  checkSize: (size: number) => void,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    checkSize(size);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

/** `question`'s answer; when Ctrl-C cancelled it, its INTERRUPTED error also says what was not done. */
export async function answerOf<T>(question: Promise<T>, notDone: string): Promise<T> {
  try {
    return await question;
  } catch (error) {
    if (isPandaError(error) && error.code === 'INTERRUPTED') {
      throw new PandaError('INTERRUPTED', `${error.message}: ${notDone}`, { cause: error });
    }
    throw error;
  }
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
 * The confirmation delete_all_secrets asks for in every form on a terminal; undefined without
 * one, where the batch forms do not ask (as PanDA's pbook).
 */
export function confirmOnTerminal(deps: Deps): ((question: string) => Promise<boolean>) | undefined {
  return deps.isTTY.stdin ? (question) => deps.prompt.confirm(question) : undefined;
}

/** What a listing shows. */
export interface ListOptions {
  full: boolean;
  json: boolean;
  /** Add each secret's size and last update (pbook list-secrets; PanDA's list_secrets() has none). */
  metadata?: boolean;
  /** Only the names. */
  names?: boolean;
}

/**
 * The secret operations all three forms of pbook share: validation before anything is sent,
 * messages (never values) to stderr, listings to stdout. The client (`deps.client()`) is made on
 * first use, so `help()` needs no token.
 */
export class SecretActions {
  readonly #deps: Deps;
  readonly #options: GlobalOptions;

  constructor(deps: Deps, options: GlobalOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** Signs in anew with the device flow (`pbook login`, `login()`); the next call uses the new token. */
  async login(): Promise<void> {
    const { login } = await import('./signin.js');
    await login(this.#deps, this.#options);
    this.#deps.client.reset();
  }

  /** Removes the saved sign-in (`pbook logout`, `logout()`). */
  async logout(): Promise<void> {
    const { logout } = await import('./signin.js');
    await logout(this.#deps, this.#options);
    this.#deps.client.reset();
  }

  /** Prints who the token says the user is (`pbook whoami`, `whoami()`). */
  async whoami(options: { json: boolean }): Promise<void> {
    const { whoAmI, whoAmIJson, whoAmIText } = await import('./signin.js');
    const who = await whoAmI(this.#deps, this.#options);
    this.#deps.stdout.write(options.json ? whoAmIJson(who) : whoAmIText(who, this.#deps.signIn?.now() ?? Date.now()));
  }

  #say(message: string): void {
    this.#deps.stderr.write(`${message}\n`);
  }

  /** Stores a string secret; warns when the value is too short to be masked in job logs. */
  async setValue(name: string, value: string): Promise<void> {
    assertEnvName(name);
    assertEnvValue(name, value);
    const client = await this.#deps.client();
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
    const client = await this.#deps.client();
    await client.setSecret(FILE_PREFIX + name, Buffer.from(bytes).toString('base64'));
    this.#say(`set file ${name} (${bytes.length} bytes)`);
  }

  /**
   * Reads a local file after `checkSize` accepted its size (and again after reading, in case it
   * grew); a pipe (a shell's `<(command)`) or a character device (`/dev/stdin`), which has no size
   * beforehand, is checked as it is read. A missing or unreadable file, a directory or anything
   * else is rejected input naming the path.
   */
  async readLocalFile(path: string, checkSize: (size: number) => void): Promise<Uint8Array> {
    const unreadable = (reason: string, cause?: unknown): PandaError =>
      new PandaError('INVALID_INPUT', `cannot read the file "${path}": ${reason}`, { cause });
    let bytes: Uint8Array;
    try {
      const stat = await this.#deps.fs.stat(path);
      if (stat.isFile()) {
        checkSize(stat.size);
        bytes = await this.#deps.fs.readFile(path);
      } else if (stat.isFIFO() || stat.isCharacterDevice()) {
        bytes = await readLimited(this.#deps.fs.createReadStream(path), checkSize);
      } else {
        throw unreadable(stat.isDirectory() ? 'it is a directory' : 'not a regular file, a pipe or a character device');
      }
    } catch (error) {
      if (isPandaError(error)) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw unreadable(
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message,
        error,
      );
    }
    checkSize(bytes.length);
    return bytes;
  }

  /**
   * Prints the secrets: on a TTY a table that wraps long values within the terminal's width,
   * tab-separated rows when piped, or JSON.
   */
  async list(options: ListOptions): Promise<void> {
    const client = await this.#deps.client();
    if (options.names) {
      await this.#listNames(client, options.json);
      return;
    }
    const [secrets, metadata] = await Promise.all([
      client.getSecrets(),
      options.metadata ? client.getSecretsMetadata() : [],
    ]);
    const { renderSecrets, secretEntries } = await import('@panda-secrets/table');
    const format = options.json ? 'json' : this.#deps.isTTY.stdout ? 'table' : 'plain';
    // 0: the terminal does not say how wide it is.
    const width = this.#deps.terminalWidth() || undefined;
    this.#deps.stdout.write(
      await renderSecrets(secretEntries(secrets, metadata), {
        format,
        full: options.full,
        color: this.#options.color,
        width,
      }),
    );
  }

  /** The names alone, one a line (or JSON with type, size and time): no value is even fetched. */
  async #listNames(client: SecretsClient, json: boolean): Promise<void> {
    const described = (await client.getSecretsMetadata()).map(({ key, size, updatedAt }) => {
      const { kind, name } = parseWireKey(key);
      return { key: name, type: kind, size, updatedAt };
    });
    this.#deps.stdout.write(
      json ? `${JSON.stringify(described, null, 2)}\n` : described.map(({ key }) => `${key}\n`).join(''),
    );
  }

  /** One secret by name, the env secret first, else the secret file; undefined when neither exists. */
  async getOne(name: string): Promise<{ key: string; value: string } | undefined> {
    assertDeletableName(name);
    const client = await this.#deps.client();
    const candidates = wireKeysOf(name);
    const secrets = await client.getSecrets(candidates);
    const key = candidates.find((candidate) => Object.hasOwn(secrets, candidate));
    return key === undefined ? undefined : { key, value: secrets[key] as string };
  }

  /** Deletes one secret, env or file; NOT_FOUND when it does not exist. */
  async delete(name: string): Promise<void> {
    assertDeletableName(name);
    const client = await this.#deps.client();
    await client.deleteSecret(name);
    this.#say(`deleted ${name}`);
  }

  /** Deletes every secret of the user, once `confirm` (when given) says yes. */
  async deleteAll(confirm?: (question: string) => Promise<boolean>): Promise<void> {
    if (confirm !== undefined && !(await answerOf(confirm(DELETE_ALL_QUESTION), 'nothing deleted'))) {
      this.#say('nothing deleted');
      return;
    }
    const client = await this.#deps.client();
    await client.deleteAllSecrets();
    this.#say('deleted all secrets');
  }
}
