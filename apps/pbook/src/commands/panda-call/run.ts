import type { Deps, GlobalOptions } from '../../deps.js';
import { SecretActions, confirmOnTerminal } from '../../secret-actions.js';
import { ShellSession } from '../../shell/session.js';
import { TaskActions } from '../../task-actions.js';
import type { PandaCallOptions } from './index.js';

/** Runs `pbook set_secret K V` and the like: one shell function called with the words given. */
export async function runPandaCall(deps: Deps, global: GlobalOptions, options: PandaCallOptions): Promise<void> {
  // On a terminal, delete_all_secrets asks as every other form does; piped, it does not (as PanDA's pbook).
  const confirm = confirmOnTerminal(deps);
  const session = new ShellSession({
    actions: new SecretActions(deps, global),
    tasks: new TaskActions(deps, global),
    stdout: deps.stdout,
    echo: false,
    ...(confirm === undefined ? {} : { confirm }),
  });
  await session.callWithWords(options.name, options.words);
}
