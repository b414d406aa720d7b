import type { PyFunction, PyValue } from '../python/index.js';
import type { TaskActions } from '../task-actions.js';
import { define } from './define.js';

/** A shell argument as the task actions take it: None is absent, an int its digits. */
function idArgument(value: PyValue | undefined): unknown {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'object' && value.type === 'int' ? value.value : value;
}

/**
 * PanDA's bookkeeping functions: show, kill, retry, and log for a job's masked log. IDs are ints
 * (`show(42)`), or words of digits in the batch form (`pbook show 42`).
 */
export function taskFunctions(tasks: TaskActions): PyFunction[] {
  return [
    define(
      'show',
      [{ name: 'task_id', type: 'any', default: null }],
      'Without task_id, list your tasks, newest first: ID, status, jobs by state, created, command.\n' +
        'With task_id, show that task with its jobs and their attempts (pilot, outcome, exit code).',
      (args) => tasks.show(idArgument(args.get('task_id'))),
    ),
    define(
      'kill',
      [{ name: 'task_id', type: 'any' }],
      'Cancel a task: its queued jobs never run, its running jobs are stopped by their pilot within\n' +
        'seconds (payload killed, files removed). A task that has ended cannot be killed.',
      (args) => tasks.kill(idArgument(args.get('task_id'))),
    ),
    define(
      'retry',
      [{ name: 'task_id', type: 'any' }],
      "Queue a task's failed and cancelled jobs again, as new attempts.",
      (args) => tasks.retry(idArgument(args.get('task_id'))),
    ),
    define(
      'log',
      [
        { name: 'task_id', type: 'any' },
        { name: 'job', type: 'any', default: null },
      ],
      "Print a job's masked log: job is its number in the task (1, 2, ...); without it, the task's\n" +
        "only job's, or each job's under a header. pbook log TASK JOB --follow follows a running job.",
      (args) => tasks.log(idArgument(args.get('task_id')), idArgument(args.get('job'))),
    ),
  ];
}
