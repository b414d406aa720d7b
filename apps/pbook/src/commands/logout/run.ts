import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';

/** `pbook logout`. */
export async function runLogout(deps: Deps, global: GlobalOptions): Promise<void> {
  await new SecretActions(deps, global).logout();
}
