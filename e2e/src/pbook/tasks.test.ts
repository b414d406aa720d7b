import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { TaskDetail, TaskInfo } from '@panda-secrets/protocol';
import { binPath, cleanEnv, runCli, startServer } from '@panda-secrets/testkit';
import type { CliResult, RunningServer } from '@panda-secrets/testkit';

// End-to-end bookkeeping: the built pbook and prun as child processes against a real panda-server,
// with a real panda-pilot running the jobs.

let server: RunningServer;
let dir: string;
let pilot: ChildProcess;
const tokens = new Map<string, string>();
const SECRET = 'bookkeeping-secret-value';

beforeAll(async () => {
  // A short lease: the pilot's heartbeats, which carry a kill to it, come every few seconds.
  [server, dir] = await Promise.all([
    startServer({ args: ['--job-lease', '6'] }),
    mkdtemp(join(tmpdir(), 'pbook-tasks-')),
  ]);
  const pilotToken = await server.tokenFile('pilot-e2e', { role: 'pilot' });
  pilot = spawn(
    process.execPath,
    [
      binPath('panda-pilot'),
      '--server',
      server.url,
      '--token-file',
      pilotToken,
      '--workdir',
      join(dir, 'work'),
      '--poll',
      '0.3',
    ],
    {
      env: cleanEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  pilot.stderr?.on('data', () => undefined);
  expect((await pbook('bob', ['set-secret', 'BOOK_SECRET', '--value-file', '-'], SECRET)).code).toBe(0);
}, 60_000);

afterAll(async () => {
  if (pilot?.exitCode === null) {
    const exited = new Promise((resolveExit) => pilot.once('exit', resolveExit));
    pilot.kill('SIGTERM');
    await exited;
  }
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
}, 30_000);

async function envOf(user: string): Promise<NodeJS.ProcessEnv> {
  let token = tokens.get(user);
  if (token === undefined) {
    token = await server.token(user);
    tokens.set(user, token);
  }
  return cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token });
}

async function pbook(user: string, args: string[], input = ''): Promise<CliResult> {
  return runCli('pbook', args, { env: await envOf(user), input, timeoutMs: 60_000 });
}

/** Submits one job with prun and returns its task ID. */
async function submit(user: string, exec: string): Promise<number> {
  const result = await runCli(
    'prun',
    ['--exec', exec, '--outDS', `user.${user}.book`, '--secrets', 'BOOK_SECRET', '--json'],
    { env: await envOf(user) },
  );
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { taskId: number }).taskId;
}

async function detail(user: string, taskId: number): Promise<TaskDetail> {
  const result = await pbook(user, ['show-tasks', String(taskId), '--json']);
  expect([result.code, result.stderr]).toEqual([0, '']);
  return JSON.parse(result.stdout) as TaskDetail;
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await delay(300);
  }
}

describe('pbook bookkeeping against a real server and pilot', () => {
  it('kills a running task through its pilot, follows its log to the end, retries it and shows its attempts', async () => {
    const flag = join(dir, 'ran-once');
    // The first attempt runs until it is killed; the retried one finishes at once.
    const exec = `if [ -e ${flag} ]; then echo "second attempt, secret $BOOK_SECRET"; exit 0; fi; touch ${flag}; echo "started with $BOOK_SECRET"; while true; do echo tick; sleep 0.3; done`;
    const taskId = await submit('bob', exec);
    await until('the job did not start', async () => (await detail('bob', taskId)).jobs[0]?.state === 'running');

    const follower = spawn(process.execPath, [binPath('pbook'), 'log', String(taskId), '1', '--follow'], {
      env: await envOf('bob'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let followed = '';
    follower.stdout?.on('data', (chunk: Buffer) => {
      followed += chunk.toString();
    });
    const followerExit = new Promise<number | null>((resolveExit) => follower.on('close', (code) => resolveExit(code)));
    await until('--follow printed nothing of the running job', async () => followed.includes('tick\ntick\n'));

    const killed = await pbook('bob', ['kill-task', String(taskId)]);
    expect([killed.code, killed.stderr]).toEqual([
      0,
      `killed task ${taskId}: 1 job(s) cancelled (running ones are stopped by their pilot within seconds)\n`,
    ]);
    expect(await followerExit).toBe(0);
    expect(followed).toMatch(/^started with \*\*\*\n(tick\n)+/);
    expect(followed).not.toContain(SECRET);

    const cancelled = await detail('bob', taskId);
    expect(cancelled.task.status).toBe('cancelled');
    expect(cancelled.jobs.map((job) => [job.state, job.attempts.map((attempt) => attempt.outcome)])).toEqual([
      ['cancelled', ['cancelled']],
    ]);
    const again = await pbook('bob', ['kill-task', String(taskId)]);
    expect(again.code).toBe(6);

    const retried = await pbook('bob', ['retry', String(taskId)]);
    expect([retried.code, retried.stderr]).toEqual([0, `retried task ${taskId}: 1 job(s) queued again\n`]);
    await until('the retried job did not finish', async () => (await detail('bob', taskId)).task.status === 'finished');
    const finished = await detail('bob', taskId);
    expect(
      finished.jobs.map((job) => [job.state, job.exitCode, job.attempts.map((attempt) => attempt.outcome)]),
    ).toEqual([['finished', 0, ['cancelled', 'finished']]]);
    expect(finished.jobs[0]?.attempts.map((attempt) => attempt.pilot)).toEqual(['pilot-e2e', 'pilot-e2e']);
    expect((await pbook('bob', ['retry-task', String(taskId)])).code).toBe(6);

    const log = await pbook('bob', ['-c', `log(${taskId})`]);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('second attempt, secret ***\n');
    expect(log.stdout).not.toContain(SECRET);

    const shown = await pbook('bob', ['show', String(taskId)]);
    expect(shown.stdout).toContain(`Task ID: ${taskId}\nStatus:  finished\n`);
    // The cancelled attempt's exit code is the stopped payload's (143 after SIGTERM), if it had one.
    expect(shown.stdout).toMatch(/\t1 cancelled( \d+)? \(pilot-e2e\), 2 finished 0 \(pilot-e2e\)\n$/);
  }, 180_000);

  it('kills a queued task so that its job never runs, and keeps each user to their own tasks', async () => {
    // The pilot is busy with a job that waits for this test to let it end, so the next stays queued.
    const gate = join(dir, 'gate');
    const blocker = await submit('bob', `while [ ! -e ${gate} ]; do sleep 0.2; done; echo released`);
    await until(
      'the blocking job did not start',
      async () => (await detail('bob', blocker)).jobs[0]?.state === 'running',
    );
    const marker = join(dir, 'queued-job-ran');
    const queued = await submit('bob', `touch ${marker}`);

    const killed = await pbook('bob', ['kill', String(queued)]);
    expect([killed.code, killed.stderr]).toEqual([
      0,
      `killed task ${queued}: 1 job(s) cancelled (running ones are stopped by their pilot within seconds)\n`,
    ]);
    await writeFile(gate, '');
    await until(
      'the blocking job did not finish',
      async () => (await detail('bob', blocker)).task.status === 'finished',
    );
    await delay(2000);
    const shown = await detail('bob', queued);
    expect(shown.jobs.map((job) => [job.state, job.attempts])).toEqual([['cancelled', []]]);
    expect(
      await access(marker).then(
        () => true,
        () => false,
      ),
    ).toBe(false);

    const list = await pbook('bob', ['show-tasks', '--json']);
    const tasks = JSON.parse(list.stdout) as TaskInfo[];
    expect(tasks.slice(0, 2).map((task) => [task.taskId, task.status])).toEqual([
      [queued, 'cancelled'],
      [blocker, 'finished'],
    ]);

    // Another user's task is answered as one that does not exist, and nothing changes.
    const absent = 999_999;
    for (const args of [
      ['show-tasks', '#'],
      ['kill-task', '#'],
      ['retry-task', '#'],
      ['log', '#'],
    ]) {
      const foreign = await pbook(
        'carol',
        args.map((arg) => (arg === '#' ? String(blocker) : arg)),
      );
      const unknown = await pbook(
        'carol',
        args.map((arg) => (arg === '#' ? String(absent) : arg)),
      );
      expect([foreign.code, unknown.code]).toEqual([3, 3]);
      expect(foreign.stderr.replace(String(blocker), 'ID')).toBe(unknown.stderr.replace(String(absent), 'ID'));
    }
    expect((await pbook('carol', ['show-tasks', '--json'])).stdout).toBe('[]\n');
    expect((await detail('bob', blocker)).task.status).toBe('finished');

    const malformed = await pbook('bob', ['kill-task', '12abc']);
    expect([malformed.code, malformed.stderr]).toEqual([
      5,
      'pbook: invalid task ID "12abc": a task ID is a whole number from 1 on, such as 42\n',
    ]);
  }, 180_000);
});
