import { describe, expect, it } from '@jest/globals';
import { FakeClient, runCommand, runPbook } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { runShowTasks } from './run.js';

const TTY = { stdin: true, stdout: true };

function clientWithTasks(): FakeClient {
  const client = new FakeClient();
  client.addTask('echo first', [{ state: 'finished', exitCode: 0 }]);
  client.addTask('python3 analysis.py --input data.root --output result.root --verbose', [
    { state: 'running' },
    {
      state: 'finished',
      exitCode: 0,
      attempts: [
        {
          attemptNr: 1,
          pilot: 'pilot-a',
          startedAt: '2026-11-27T14:51:00.000Z',
          endedAt: '2026-11-27T14:52:00.000Z',
          outcome: 'released',
          exitCode: null,
        },
        {
          attemptNr: 2,
          pilot: 'pilot-b',
          startedAt: '2026-11-27T14:52:05.000Z',
          endedAt: '2026-11-27T14:52:09.000Z',
          outcome: 'finished',
          exitCode: 0,
        },
      ],
    },
    { state: 'queued' },
  ]);
  return client;
}

function show(task: string | undefined, json: boolean, setup: FakeSetup = {}) {
  return runCommand(
    runShowTasks,
    { ...(task === undefined ? {} : { task }), json },
    { client: clientWithTasks(), ...setup },
    { verbose: false, color: false },
  );
}

describe('show-tasks', () => {
  it('lists the tasks newest first as tab-separated rows when piped, the command whole', async () => {
    const run = await show(undefined, false);
    expect(run.stdout).toBe(
      '2\trunning\t1 queued, 1 running, 1 finished\t2026-11-27 14:50:01\tpython3 analysis.py --input data.root --output result.root --verbose\n' +
        '1\tfinished\t1 finished\t2026-11-27 14:50:01\techo first\n',
    );
    expect(run.stderr).toBe('');
  });

  it('cuts the command to fit the terminal in the table', async () => {
    const run = await show(undefined, false, { isTTY: TTY, terminalWidth: 100 });
    const lines = run.stdout.split('\n');
    expect(lines[1]).toMatch(/^│ Task ID │ Status +│ Jobs +│ Created +│ Exec +│$/);
    expect(lines[3]).toBe(
      '│ 2       │ running  │ 1 queued, 1 running, 1 finished │ 2026-11-27 14:50:01 │ python3 analysis... │',
    );
    expect(lines[3]).toHaveLength(100);
    expect(lines[4]).toMatch(/^│ 1 +│ finished │ 1 finished +│ 2026-11-27 14:50:01 │ echo first +│$/);
  });

  it('prints the task list as JSON', async () => {
    const run = await show(undefined, true);
    const tasks = JSON.parse(run.stdout) as Array<{
      taskId: number;
      status: string;
      jobsByState: Record<string, number>;
    }>;
    expect(tasks.map((task) => [task.taskId, task.status])).toEqual([
      [2, 'running'],
      [1, 'finished'],
    ]);
    expect(tasks[0]?.jobsByState).toEqual({ queued: 1, running: 1, finished: 1, failed: 0, cancelled: 0 });
  });

  it('shows one task with its jobs and their attempts', async () => {
    const run = await show('2', false);
    expect(run.stdout).toBe(
      [
        'Task ID: 2',
        'Status:  running',
        'Jobs:    3: 1 queued, 1 running, 1 finished',
        'Created: 2026-11-27 14:50:01',
        'Updated: 2026-11-27 14:50:01',
        'OutDS:   user.alice.test',
        'Exec:    python3 analysis.py --input data.root --output result.root --verbose',
        '',
        '1\tid-2-1\trunning\t\t\t',
        '2\tid-2-2\tfinished\t0\t\t1 released (pilot-a), 2 finished 0 (pilot-b)',
        '3\tid-2-3\tqueued\t\t\t',
        '',
      ].join('\n'),
    );
    const json = await show('2', true);
    const detail = JSON.parse(json.stdout) as { task: { taskId: number }; jobs: Array<{ attempts: unknown[] }> };
    expect([detail.task.taskId, detail.jobs.map((job) => job.attempts.length)]).toEqual([2, [0, 2, 0]]);
  });

  it.each([
    [['show-tasks', '9'], 3, 'pbook: no task 9\n'],
    [['show-tasks', 'abc'], 5, 'pbook: invalid task ID "abc": a task ID is a whole number from 1 on, such as 42\n'],
    [['show-tasks', '0'], 5, 'pbook: invalid task ID "0": a task ID is a whole number from 1 on, such as 42\n'],
    [
      ['show-tasks', '99999999999999999999'],
      5,
      'pbook: invalid task ID "99999999999999999999": a task ID is a whole number from 1 on, such as 42\n',
    ],
    [['show', '-1'], 2, expect.stringMatching(/^pbook: unknown option -1/)],
  ])('pbook %j exits %i', async (args, code, stderr) => {
    const client = clientWithTasks();
    const run = await runPbook(args, { client });
    expect([run.code, run.stderr]).toEqual([code, stderr]);
    expect(client.taskCalls.filter((call) => !call.startsWith('get '))).toEqual([]);
  });
});
