import type { CommandSpec } from '../spec.js';

export interface RetryTaskOptions {
  task: string;
}

export const retryTaskCommand: CommandSpec<RetryTaskOptions> = {
  command: 'retry-task <task>',
  describe: "Queue a task's failed and cancelled jobs again",
  builder: (yargs) => yargs.positional('task', { type: 'string', describe: 'the task ID' }),
  options: (argv) => ({ task: String(argv.task) }),
  examples: [['$0 retry-task 42', "queue task 42's failed and cancelled jobs again"]],
  load: async () => (await import('./run.js')).runRetryTask,
};
