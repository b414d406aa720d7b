import { describe, expect, it } from '@jest/globals';
import { runShell } from '../commands/shell/run.js';
import { FakeClient, runCommand } from '../testing/fakes.js';

function clientWithTask(): FakeClient {
  const client = new FakeClient();
  client.addTask('sleep 100', [{ state: 'running', log: 'working\n' }]);
  return client;
}

function shell(lines: string[], client = clientWithTask()) {
  return runCommand(runShell, { interactive: false }, { stdin: `${lines.join('\n')}\n`, client });
}

describe("the shell's bookkeeping functions", () => {
  it('lists, shows, logs, kills and retries a task by its int ID', async () => {
    const client = clientWithTask();
    const run = await shell(['show()', 'show(1)', 'log(1)', 'kill(1)', 'show()', 'retry(1)', 'show()'], client);
    expect(run.error).toBeUndefined();
    expect(run.stdout.split('\n')).toEqual([
      '1\trunning\t1 running\t2026-11-27 14:50:01\tsleep 100',
      'Task ID: 1',
      'Status:  running',
      'Jobs:    1: 1 running',
      'Created: 2026-11-27 14:50:01',
      'Updated: 2026-11-27 14:50:01',
      'OutDS:   user.alice.test',
      'Exec:    sleep 100',
      '',
      '1\tid-1-1\trunning\t\t\t',
      'working',
      '1\tcancelled\t1 cancelled\t2026-11-27 14:50:01\tsleep 100',
      '1\tqueued\t1 queued\t2026-11-27 14:50:01\tsleep 100',
      '',
    ]);
    expect(run.stderr).toBe(
      'killed task 1: 1 job(s) cancelled (running ones are stopped by their pilot within seconds)\nretried task 1: 1 job(s) queued again\n',
    );
  });

  it('refuses malformed IDs with exit 5, and reports unknown tasks and ended ones, going on after each', async () => {
    const run = await shell([
      "show('x')",
      'show(True)',
      'kill(7)',
      'kill(1)',
      'kill(1)',
      'retry(1)',
      'retry(1)',
      'log(1, 0)',
    ]);
    expect(run.stderr.split('\n')).toEqual([
      'error: invalid task ID "x": a task ID is a whole number from 1 on, such as 42',
      'error: invalid task ID that value: a task ID is a whole number from 1 on, such as 42',
      'error: no task 7',
      'killed task 1: 1 job(s) cancelled (running ones are stopped by their pilot within seconds)',
      'error: task 1 has ended: nothing to kill',
      'retried task 1: 1 job(s) queued again',
      'error: task 1 has no failed or cancelled job to retry',
      'error: invalid job number "0": a job number is a whole number from 1 on, such as 1',
      '',
    ]);
    expect([run.error?.code, run.error?.message]).toEqual(['INVALID_INPUT', '6 statements failed (see above)']);
  });

  it('lists the functions in help() and explains each', async () => {
    const run = await shell(['help()', 'help(show)', 'help(log)']);
    expect(run.stdout).toContain('  show(task_id=None)\n  kill(task_id)\n  retry(task_id)\n  log(task_id, job=None)\n');
    expect(run.stdout).toContain('show(task_id=None)\n\n    Without task_id, list your tasks, newest first');
    expect(run.stdout).toContain("log(task_id, job=None)\n\n    Print a job's masked log");
  });
});
