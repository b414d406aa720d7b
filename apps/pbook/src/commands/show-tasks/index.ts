import type { CommandSpec } from '../spec.js';
import { optionalString } from '@panda-secrets/cli-kit';

export interface ShowTasksOptions {
  /** One task to show with its jobs and attempts; all tasks without it. */
  task?: string;
  json: boolean;
}

export const showTasksCommand: CommandSpec<ShowTasksOptions> = {
  command: 'show-tasks [task]',
  describe: 'List your tasks; with a task ID, that task with its jobs and attempts',
  builder: (yargs) =>
    yargs.positional('task', { type: 'string', describe: 'a task ID' }).option('json', {
      type: 'boolean',
      default: false,
      describe: 'print the task list, or the task with its jobs, as JSON',
    }),
  options: (argv) => {
    const task = optionalString(argv.task);
    return { ...(task === undefined ? {} : { task }), json: argv.json === true };
  },
  examples: [
    ['$0 show-tasks', 'your tasks, newest first'],
    ['$0 show-tasks 42 --json', 'task 42 with its jobs and their attempts, as JSON'],
  ],
  load: async () => (await import('./run.js')).runShowTasks,
};
