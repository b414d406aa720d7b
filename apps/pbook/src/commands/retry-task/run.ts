import type { Deps, GlobalOptions } from '../../deps.js';
import { TaskActions } from '../../task-actions.js';
import type { RetryTaskOptions } from './index.js';

/** Queues a task's failed and cancelled jobs again. */
export async function runRetryTask(deps: Deps, global: GlobalOptions, options: RetryTaskOptions): Promise<void> {
  await new TaskActions(deps, global).retry(options.task);
}
