import type { Deps, GlobalOptions } from '../../deps.js';
import { TaskActions } from '../../task-actions.js';
import type { ShowTasksOptions } from './index.js';

/** Prints the user's tasks, or one task with its jobs and attempts. */
export async function runShowTasks(deps: Deps, global: GlobalOptions, options: ShowTasksOptions): Promise<void> {
  await new TaskActions(deps, global).show(options.task, options.json);
}
