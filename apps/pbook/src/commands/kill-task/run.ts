import type { Deps, GlobalOptions } from '../../deps.js';
import { TaskActions } from '../../task-actions.js';
import type { KillTaskOptions } from './index.js';

/** Cancels one of the user's tasks. */
export async function runKillTask(deps: Deps, global: GlobalOptions, options: KillTaskOptions): Promise<void> {
  await new TaskActions(deps, global).kill(options.task);
}
