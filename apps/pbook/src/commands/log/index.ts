import type { CommandSpec } from '../spec.js';
import { optionalString } from '@panda-secrets/cli-kit';

export interface LogOptions {
  task: string;
  /** The job's number in the task; without it the only job's log, or every job's. */
  job?: string;
  follow: boolean;
}

export const logCommand: CommandSpec<LogOptions> = {
  command: 'log <task> [job]',
  describe: "Print a job's masked log; --follow prints what it adds until it ends",
  builder: (yargs) =>
    yargs
      .positional('task', { type: 'string', describe: 'the task ID' })
      .positional('job', { type: 'string', describe: "the job's number in the task (1, 2, ...)" })
      .option('follow', {
        alias: 'f',
        type: 'boolean',
        default: false,
        describe: 'keep printing what the running job adds, until it ends',
      }),
  options: (argv) => {
    const job = optionalString(argv.job);
    return { task: String(argv.task), ...(job === undefined ? {} : { job }), follow: argv.follow === true };
  },
  examples: [
    ['$0 log 42', "the masked logs of task 42's jobs (of its only job, when it has one)"],
    ['$0 log 42 3 --follow', 'the log of its job 3, followed while it runs'],
  ],
  load: async () => (await import('./run.js')).runLog,
};
