import { describe, expect, it } from '@jest/globals';
import { FakeClient, runPbook } from '../../testing/fakes.js';

function clientWithTasks(): FakeClient {
  const client = new FakeClient();
  client.addTask('sleep 100', [{ state: 'running' }, { state: 'queued' }, { state: 'finished', exitCode: 0 }]);
  client.addTask('echo done', [{ state: 'finished', exitCode: 0 }]);
  return client;
}

describe('kill-task and kill', () => {
  it.each([
    [['kill-task', '1']],
    [['kill', '1']],
    [['-c', 'kill(1)']],
  ])('pbook %j cancels the unfinished jobs', async (args) => {
    const client = clientWithTasks();
    const run = await runPbook(args, { client });
    expect([run.code, run.stdout, run.stderr]).toEqual([
      0,
      '',
      'killed task 1: 2 job(s) cancelled (running ones are stopped by their pilot within seconds)\n',
    ]);
    expect(client.tasks.get(1)?.jobs.map((job) => job.state)).toEqual(['cancelled', 'cancelled', 'finished']);
  });

  it.each([
    [['kill-task', '2'], 6, 'pbook: task 2 has ended: nothing to kill\n'],
    [['kill-task', '3'], 3, 'pbook: no task 3\n'],
    [['kill-task', '1x'], 5, 'pbook: invalid task ID "1x": a task ID is a whole number from 1 on, such as 42\n'],
    [
      ['kill'],
      2,
      expect.stringMatching(/^pbook: TypeError: kill\(\) missing 1 required positional argument: 'task_id'\n/),
    ],
  ])('pbook %j exits %i and changes nothing', async (args, code, stderr) => {
    const client = clientWithTasks();
    const run = await runPbook(args, { client });
    expect([run.code, run.stderr]).toEqual([code, stderr]);
    expect(client.tasks.get(1)?.jobs.map((job) => job.state)).toEqual(['running', 'queued', 'finished']);
  });
});
