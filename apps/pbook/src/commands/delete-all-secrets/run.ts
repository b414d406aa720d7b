import { PandaError } from '@panda-secrets/protocol';
import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import type { DeleteAllSecretsOptions } from './index.js';

/** Deletes all the user's secrets once confirmed on the terminal or by --yes. */
export async function runDeleteAllSecrets(
  deps: Deps,
  global: GlobalOptions,
  options: DeleteAllSecretsOptions,
): Promise<void> {
  if (!options.yes && !deps.isTTY.stdin) {
    throw new PandaError(
      'USAGE',
      'delete-all-secrets deletes every secret you have: pass --yes to confirm when not on a terminal',
    );
  }
  await new SecretActions(deps, global).deleteAll(
    options.yes ? undefined : (question) => deps.prompt.confirm(question),
  );
}
