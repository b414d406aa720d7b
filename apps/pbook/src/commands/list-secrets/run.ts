import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import type { ListSecretsOptions } from './index.js';

/** Prints the user's secrets, with their size and last update, to stdout. */
export async function runListSecrets(deps: Deps, global: GlobalOptions, options: ListSecretsOptions): Promise<void> {
  await new SecretActions(deps, global).list({ ...options, metadata: true });
}
