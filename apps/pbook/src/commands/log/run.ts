import type { Deps, GlobalOptions } from '../../deps.js';
import { TaskActions } from '../../task-actions.js';
import type { LogOptions } from './index.js';

/** Prints, or follows, a job's masked log. */
export async function runLog(deps: Deps, global: GlobalOptions, options: LogOptions): Promise<void> {
  await new TaskActions(deps, global).log(options.task, options.job, options.follow);
}
