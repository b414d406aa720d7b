import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions } from '../../secret-actions.js';
import type { WhoAmIOptions } from './index.js';

/** `pbook whoami`: the token's holder, groups and expiry, on stdout. */
export async function runWhoAmI(deps: Deps, global: GlobalOptions, options: WhoAmIOptions): Promise<void> {
  await new SecretActions(deps, global).whoami(options);
}
