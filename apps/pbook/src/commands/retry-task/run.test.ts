import { describe, expect, it } from '@jest/globals';
import { FakeClient, runPbook } from '../../testing/fakes.js';

function clientWithTasks(): FakeClient {
  const client = new FakeClient();
  client.addTask('exit 1', [
    { state: 'failed', exitCode: 1 },
    { state: 'cancelled' },
    { state: 'finished', exitCode: 0 },
  ]);
  client.addTask('echo done', [{ state: 'finished', exitCode: 0 }]);
  return client;
}

describe('retry-task and retry', () => {
  it.each([
    [['retry-task', '1']],
    [['retry', '1']],
    [['-c', 'retry(1)']],
  ])('pbook %j queues the failed and cancelled jobs again', async (args) => {
    const client = clientWithTasks();
    const run = await runPbook(args, { client });
    expect([run.code, run.stderr]).toEqual([0, 'retried task 1: 2 job(s) queued again\n']);
    expect(client.tasks.get(1)?.jobs.map((job) => job.state)).toEqual(['queued', 'queued', 'finished']);
  });

  it.each([
    [['retry-task', '2'], 6, 'pbook: task 2 has no failed or cancelled job to retry\n'],
    [['retry-task', '7'], 3, 'pbook: no task 7\n'],
    [['-c', "retry('x')"], 5, 'pbook: invalid task ID "x": a task ID is a whole number from 1 on, such as 42\n'],
    [['-c', 'retry(1.5)'], 5, 'pbook: invalid task ID that value: a task ID is a whole number from 1 on, such as 42\n'],
  ])('pbook %j exits %i and changes nothing', async (args, code, stderr) => {
    const client = clientWithTasks();
    const run = await runPbook(args, { client });
    expect([run.code, run.stderr]).toEqual([code, stderr]);
    expect(client.tasks.get(1)?.jobs.map((job) => job.state)).toEqual(['failed', 'cancelled', 'finished']);
  });
});
