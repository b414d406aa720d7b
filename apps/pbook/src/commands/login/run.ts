import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';

/** `pbook login`. */
export async function runLogin(deps: Deps, global: GlobalOptions): Promise<void> {
  await new SecretActions(deps, global).login();
}
