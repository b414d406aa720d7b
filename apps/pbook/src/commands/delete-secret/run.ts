import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import type { DeleteSecretOptions } from './index.js';

/** Deletes one secret. */
export async function runDeleteSecret(deps: Deps, global: GlobalOptions, options: DeleteSecretOptions): Promise<void> {
  await new SecretActions(deps, global).delete(options.name);
}
