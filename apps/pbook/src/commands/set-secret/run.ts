import { MAX_FILE_BYTES, MAX_VALUE_BYTES, PandaError, assertEnvName } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions, answerOf, readLimited } from '../../secret-actions.js';
import type { SetSecretOptions } from './index.js';

/** The most a value source may hold: the limit plus the one trailing CR LF that is dropped. */
const MAX_VALUE_SOURCE_BYTES = MAX_VALUE_BYTES + 2;

function tooLarge(name: string, source: string): PandaError {
  return new PandaError(
    'TOO_LARGE',
    `the value of ${JSON.stringify(name)} (${source}) is over the ${MAX_VALUE_BYTES} bytes of UTF-8 an environment variable can carry: ` +
      `store it as a secret file with --file (at most ${MAX_FILE_BYTES} bytes)`,
  );
}

/** The value as text: strict UTF-8 (binary belongs in --file), one trailing newline dropped. */
function decodeValue(name: string, bytes: Uint8Array, source: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new PandaError(
      'INVALID_INPUT',
      `the value of ${JSON.stringify(name)} (${source}) is not UTF-8 text; store binary data as a file with --file`,
      { cause: error },
    );
  }
  return text.replace(/\r?\n$/, '');
}

/** The value's bytes from stdin or --value-file, refused once over the limit; undefined: prompt instead. */
async function readValueSource(deps: Deps, actions: SecretActions, options: SetSecretOptions) {
  const { name, valueFile } = options;
  const source = valueFile === undefined || valueFile === '-' ? 'stdin' : `file "${valueFile}"`;
  const checkSize = (size: number): void => {
    if (size > MAX_VALUE_SOURCE_BYTES) throw tooLarge(name, source);
  };
  if (valueFile === '-' || (valueFile === undefined && !deps.isTTY.stdin)) {
    return { source, bytes: await readLimited(deps.stdin, checkSize) };
  }
  return valueFile === undefined ? undefined : { source, bytes: await actions.readLocalFile(valueFile, checkSize) };
}

async function readValue(deps: Deps, actions: SecretActions, options: SetSecretOptions): Promise<string> {
  const { name } = options;
  const read = await readValueSource(deps, actions, options);
  if (read !== undefined) return decodeValue(name, read.bytes, read.source);
  const typed = await answerOf(deps.prompt.secret(`Value of ${name}: `), 'nothing was stored');
  // Ctrl-D is no answer, also with --allow-empty: an empty value is an Enter alone.
  if (typed === null) throw new PandaError('INVALID_INPUT', `no value given for ${name} (Ctrl-D): nothing was stored`);
  return typed;
}

/** Stores one secret: a file with --file, else a value from --value-file, piped stdin or a hidden prompt. */
export async function runSetSecret(deps: Deps, global: GlobalOptions, options: SetSecretOptions): Promise<void> {
  const actions = new SecretActions(deps, global);
  if (options.file !== undefined) {
    await actions.setFile(options.name, options.file);
    return;
  }
  // Checked before asking for the value, so nobody types a secret for a name that is refused.
  assertEnvName(options.name);
  const value = await readValue(deps, actions, options);
  if (value === '' && !options.allowEmpty) {
    throw new PandaError(
      'INVALID_INPUT',
      `no value given for ${options.name}: nothing was stored (to store an empty value, pass --allow-empty)`,
    );
  }
  await actions.setValue(options.name, value);
}
