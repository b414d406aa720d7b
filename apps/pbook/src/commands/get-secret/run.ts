import { writePrivateOutput } from '@panda-secrets/cli-kit';
import { FILE_PREFIX, PandaError } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import type { GetSecretOptions } from './index.js';

/**
 * Prints one secret exactly as stored: an env secret's text, or a secret file's bytes (an env
 * secret of the name wins, as in delete-secret). Nothing is added, so `$(pbook get-secret K)`
 * and a file written with --output hold the value itself; on a terminal a newline follows, for
 * the prompt's sake.
 */
export async function runGetSecret(deps: Deps, global: GlobalOptions, options: GetSecretOptions): Promise<void> {
  const { name } = options;
  const found = await new SecretActions(deps, global).getOne(name);
  if (found === undefined) {
    throw new PandaError(
      'NOT_FOUND',
      `no secret named ${JSON.stringify(name)} (list your secrets with pbook list-secrets --names)`,
    );
  }
  const bytes = found.key.startsWith(FILE_PREFIX)
    ? Buffer.from(found.value, 'base64')
    : Buffer.from(found.value, 'utf8');
  if (options.output !== undefined) {
    await writePrivateOutput(options.output, bytes);
    deps.stderr.write(`wrote ${name} to ${options.output} (${bytes.length} bytes)\n`);
    return;
  }
  deps.stdout.write(bytes);
  if (deps.isTTY.stdout) deps.stdout.write('\n');
}
