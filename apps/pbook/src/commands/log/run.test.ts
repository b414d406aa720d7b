import { describe, expect, it } from '@jest/globals';
import { FakeClient, runPbook } from '../../testing/fakes.js';

function clientWithTasks(): FakeClient {
  const client = new FakeClient();
  client.addTask('echo one', [{ state: 'finished', exitCode: 0, log: 'one: MY_SECRET is ***\n' }]);
  client.addTask('echo two', [
    { state: 'finished', exitCode: 0, log: 'first\n' },
    {
      state: 'running',
      log: 'step 1\n',
      pending: [
        { log: 'step 2 ü\n', state: 'running' },
        { log: '', state: 'running' },
        { log: 'done\n', state: 'finished' },
      ],
    },
  ]);
  return client;
}

describe('log', () => {
  it.each([
    [['log', '1']],
    [['log', '1', '1']],
    [['-c', 'log(1)']],
    [['-c', 'log(1, 1)']],
    [['-c', 'log(task_id=1, job=1)']],
  ])("pbook %j prints the masked log of the task's job", async (args) => {
    const run = await runPbook(args, { client: clientWithTasks() });
    expect([run.code, run.stdout, run.stderr]).toEqual([0, 'one: MY_SECRET is ***\n', '']);
  });

  it("prints every job's log under a header when the task has several and no job is named", async () => {
    const run = await runPbook(['log', '2'], { client: clientWithTasks() });
    expect(run.stdout).toBe('== job 1 (id-2-1): finished\nfirst\n== job 2 (id-2-2): running\nstep 1\n');
  });

  it('follows a running job from where it read last, until the job has ended', async () => {
    const client = clientWithTasks();
    const run = await runPbook(['log', '2', '2', '--follow'], { client });
    expect([run.code, run.stdout]).toEqual([0, 'step 1\nstep 2 ü\ndone\n']);
    expect(client.taskCalls).toEqual(['log 2 2 0', 'log 2 2 7', 'log 2 2 17', 'log 2 2 17']);
  });

  it.each([
    [['log', '2', '--follow'], 2, 'pbook: task 2 has 2 jobs: name the one to follow, e.g. "pbook log 2 1 --follow"\n'],
    [['log', '2', '3'], 3, 'pbook: task 2 has no job 3\n'],
    [['log', '5'], 3, 'pbook: no task 5\n'],
    [
      ['log', '2', 'first'],
      5,
      'pbook: invalid job number "first": a job number is a whole number from 1 on, such as 1\n',
    ],
    [['log', '2.0'], 5, 'pbook: invalid task ID "2.0": a task ID is a whole number from 1 on, such as 42\n'],
  ])('pbook %j exits %i', async (args, code, stderr) => {
    const run = await runPbook(args, { client: clientWithTasks() });
    expect([run.code, run.stderr]).toEqual([code, stderr]);
  });
});
