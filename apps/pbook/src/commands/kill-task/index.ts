import type { CommandSpec } from '../spec.js';

export interface KillTaskOptions {
  task: string;
}

export const killTaskCommand: CommandSpec<KillTaskOptions> = {
  command: 'kill-task <task>',
  describe: 'Cancel a task: its queued jobs never run, its running ones stop',
  builder: (yargs) => yargs.positional('task', { type: 'string', describe: 'the task ID' }),
  options: (argv) => ({ task: String(argv.task) }),
  examples: [['$0 kill-task 42', 'cancel task 42: queued jobs never run, running ones are stopped']],
  load: async () => (await import('./run.js')).runKillTask,
};
