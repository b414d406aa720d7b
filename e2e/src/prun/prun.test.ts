import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { PandaClient } from '@panda-secrets/client';
import { binPath, cleanEnv, runCli, startServer } from '@panda-secrets/testkit';
import type { RunningServer } from '@panda-secrets/testkit';

// End-to-end: the built prun as a child process against a real panda-server, with no pilot, so
// the jobs stay queued while prun waits.

let server: RunningServer;
let token: string;

beforeAll(async () => {
  server = await startServer();
  token = await server.token('alice');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(server?.dataDir ?? '', { recursive: true, force: true });
});

const env = (): NodeJS.ProcessEnv => cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token });
const JOB = ['--exec', 'echo hello', '--outDS', 'user.alice.e2e'];

describe('prun against a real server', () => {
  it('prints the task id with its jobs, as rows and as JSON, matching what the server holds', async () => {
    const rows = await runCli('prun', [...JOB, '--nJobs', '2'], { env: env() });
    expect([rows.code, rows.stderr]).toEqual([0, '']);
    const lines = rows.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    const taskId = Number(lines[0]?.[0]);
    expect(lines.map((line) => [line[0], line[1], line[3], line[4]])).toEqual([
      [String(taskId), '1', 'queued', 'user.alice.e2e'],
      [String(taskId), '2', 'queued', 'user.alice.e2e'],
    ]);
    const detail = await new PandaClient({ server: server.url, token }).getTask(taskId);
    expect(detail.jobs.map((job) => job.id)).toEqual(lines.map((line) => line[2]));

    const json = await runCli('prun', [...JOB, '--json'], { env: env() });
    const printed = JSON.parse(json.stdout) as { taskId: number; jobs: Array<{ jobIndex: number; id: string }> };
    expect(printed.taskId).toBeGreaterThan(taskId);
    const [job] = (await new PandaClient({ server: server.url, token }).getTask(printed.taskId)).jobs;
    expect(printed.jobs).toEqual([
      { jobIndex: 1, id: job?.id, state: 'queued', outDS: 'user.alice.e2e', secrets: [], exitCode: null },
    ]);
  });

  it.each([
    [[]],
    [['--json']],
  ])('with --wait %j names the task before waiting, and on Ctrl-C says how to follow it and exits 130, the task still queued', async (extra) => {
    const child = spawn(process.execPath, [binPath('prun'), ...JOB, '--wait', ...extra], {
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const submitted = new Promise<number>((resolveTask) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /^prun: submitted task (\d+): job 1 \S+\n/.exec(stderr);
        if (match) resolveTask(Number(match[1]));
      });
    });
    const exited = new Promise<number | null>((resolveExit) => child.on('close', (code) => resolveExit(code)));
    const taskId = await submitted;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stdout).toBe('');
    expect(stderr.split('\n').slice(1)).toEqual([
      `prun: stopped waiting; task ${taskId} keeps running. Follow it with "pbook show ${taskId}" and "pbook log ${taskId} --follow"`,
      '',
    ]);
    const detail = await new PandaClient({ server: server.url, token }).getTask(taskId);
    expect(detail.task.status).toBe('queued');
    expect(detail.jobs.map((job) => job.state)).toEqual(['queued']);
  });
});
