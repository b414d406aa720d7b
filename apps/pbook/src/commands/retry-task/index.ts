import type { CommandSpec } from '../spec.js';

export interface RetryTaskOptions {
  task: string;
}

export const retryTaskCommand: CommandSpec<RetryTaskOptions> = {
  command: 'retry-task <task>',
  describe: "Queue a task's failed and cancelled jobs again",
  builder: (yargs) => yargs.positional('task', { type: 'string', describe: 'the task ID' }),
  options: (argv) => ({ task: String(argv.task) }),
  load: async () => (await import('./run.js')).runRetryTask,
};
