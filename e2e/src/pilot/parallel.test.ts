import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PandaClient } from '@panda-secrets/client';
import {
  childrenRunning,
  cleanEnv,
  eventually,
  killMarkedProcesses,
  markedProcesses,
  newMarker,
  runCli,
  startCli,
  startServer,
} from '@panda-secrets/testkit';
import type { RunningServer } from '@panda-secrets/testkit';

// panda-pilot --parallel end to end: the built prun and panda-pilot against a real panda-server,
// several real jobs with secrets at once under one pilot, and that pilot killed with SIGKILL.

const SECRET = 'the-parallel-s3cr3t-value';
const FILE_TEXT = 'the parallel secret file';
const JOBS = 3;

let server: RunningServer;
let dir: string;
let userToken: string;
let pilotToken: string;

beforeAll(async () => {
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pilot-parallel-e2e-'))]);
  userToken = await server.token('alice');
  pilotToken = await server.tokenFile('pilot-p', { role: 'pilot' });
  const alice = userClient();
  await alice.setSecret('MY_SECRET', SECRET);
  await alice.setSecret('___file___:notes.txt', Buffer.from(FILE_TEXT).toString('base64'));
}, 60_000);

afterAll(async () => {
  killMarkedProcesses();
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir, join(pilotToken, '..')].map(
      (path) => path !== undefined && rm(path, { recursive: true, force: true }),
    ),
  );
});

function userClient(): PandaClient {
  return new PandaClient({ server: server.url, token: userToken });
}

/** Submits `JOBS` jobs running `exec` with both secrets; returns the task id and job ids. */
async function submit(exec: string): Promise<{ taskId: number; ids: string[] }> {
  const result = await runCli(
    'prun',
    ['--exec', exec, '--outDS', 'user.alice.parallel', '--useSecrets', '--nJobs', String(JOBS), '--json'],
    { env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: userToken }), cwd: dir, timeoutMs: 60_000 },
  );
  expect(result.code).toBe(0);
  const submitted = JSON.parse(result.stdout) as { taskId: number; jobs: Array<{ id: string }> };
  return { taskId: submitted.taskId, ids: submitted.jobs.map((job) => job.id) };
}

function startPilot(workdir: string, extra: string[]) {
  return startCli('panda-pilot', ['--server', server.url, '--token-file', pilotToken, '--workdir', workdir, ...extra]);
}

/** Waits until `count` payloads have left a `started.*` mark in `marks`. */
async function waitForStarted(marks: string, count: number): Promise<void> {
  while ((await readdir(marks)).filter((name) => name.startsWith('started.')).length < count) await delay(50);
}

/**
 * Submits JOBS jobs that each leave a process behind them (setsid) and sleep, and starts a pilot
 * running them all at once; resolves once every payload has started.
 */
async function startSleepingJobs() {
  const workdir = await mkdtemp(join(dir, 'work-'));
  const marks = await mkdtemp(join(dir, 'marks-'));
  const marker = newMarker();
  const { taskId } = await submit(
    `setsid -f sleep ${marker}; touch ${marks}/started.$(basename "$PWD"); sleep ${marker}`,
  );
  const pilot = startPilot(workdir, ['--parallel', String(JOBS)]);
  await waitForStarted(marks, JOBS);
  return { workdir, marker, taskId, pilot };
}

type SleepingJobs = Awaited<ReturnType<typeof startSleepingJobs>>;

/** Runs `test` on sleeping jobs (startSleepingJobs), then kills their task, whatever happened. */
async function withSleepingJobs(test: (jobs: SleepingJobs) => Promise<void>): Promise<void> {
  const jobs = await startSleepingJobs();
  try {
    await test(jobs);
  } finally {
    await userClient()
      .killTask(jobs.taskId)
      .catch(() => undefined);
  }
}

describe('panda-pilot --parallel 3', () => {
  it('runs three jobs with their secrets at once, each in its own directory that it alone sees, and removes them all', async () => {
    const workdir = await mkdtemp(join(dir, 'work-'));
    const marks = await mkdtemp(join(dir, 'marks-'));
    // Each payload waits until all three run: under one job at a time none would ever end.
    const exec = [
      `touch ${marks}/started.$(basename "$PWD")`,
      `until [ "$(ls ${marks} | grep -c '^started[.]')" -ge ${JOBS} ]; do sleep 0.05; done`,
      'echo "secret $MY_SECRET"',
      'echo "file $(cat notes.txt)"',
      'ls -A "$(dirname "$PWD")" | grep -cx "$(basename "$PWD")"',
      'ls -A "$(dirname "$PWD")" | wc -l',
      'ls -A',
    ].join('; ');
    const { ids } = await submit(exec);
    const pilot = startPilot(workdir, ['--parallel', String(JOBS), '--exit-when-idle']);
    expect(await pilot.exited).toEqual({ code: 0, signal: null });
    const started = (await readdir(marks)).filter((name) => name.startsWith('started.'));
    expect(new Set(started).size).toBe(JOBS);
    const client = userClient();
    for (const id of ids) {
      expect(await client.getJob(id)).toMatchObject({ state: 'finished', exitCode: 0 });
      // Only its own directory shows under the work directory; its secrets arrived and were masked.
      expect((await client.getJobLog(id)).log).toBe('secret ***\nfile ***\n1\n1\nnotes.txt\n');
    }
    expect(pilot.stderr().match(/: acquired /g)).toHaveLength(JOBS);
    expect(pilot.stderr()).not.toContain(SECRET);
    expect(await readdir(workdir)).toEqual([]);
  }, 90_000);

  it('killed with SIGKILL while its jobs run: every payload dies and every directory is removed by its supervisor', async () => {
    await withSleepingJobs(async ({ workdir, marker, pilot }) => {
      expect(markedProcesses(marker)).toHaveLength(2 * JOBS);
      expect((await readdir(workdir)).filter((name) => name.endsWith('.owner'))).toHaveLength(JOBS);
      pilot.child.kill('SIGKILL');
      await pilot.exited;
      expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
      expect(await eventually(async () => (await readdir(workdir)).length === 0)).toBe(true);
    });
  }, 90_000);

  it('whose supervisor alone is killed with SIGKILL: every payload dies, and every job goes back to the queue and runs again', async () => {
    await withSleepingJobs(async ({ workdir, marker, taskId, pilot }) => {
      const [supervisor] = childrenRunning(pilot.child.pid!, 'supervisor-main.js');
      expect(supervisor).toBeDefined();
      const payloads = markedProcesses(marker);
      expect(payloads).toHaveLength(2 * JOBS);
      process.kill(supervisor!, 'SIGKILL');
      const client = userClient();
      const handedBack = async () => {
        const { jobs } = await client.getTask(taskId);
        return jobs.every(
          (job) =>
            job.attempts[0]?.outcome === 'released' &&
            job.attempts[1]?.outcome === 'running' &&
            job.state === 'running',
        );
      };
      // The same pilot runs the second attempts, under a supervisor of its own.
      expect(await eventually(handedBack, 30_000)).toBe(true);
      const [next] = childrenRunning(pilot.child.pid!, 'supervisor-main.js');
      expect(next).toBeDefined();
      expect(next).not.toBe(supervisor);
      // Not one process of the first attempts is left.
      const running = new Set(markedProcesses(marker));
      for (const pid of payloads) expect(running.has(pid)).toBe(false);
      const { jobs } = await client.getTask(taskId);
      for (const job of jobs) {
        expect((await client.getJobLog(job.id)).log).toContain(
          "panda-pilot: the job's supervisor ended before reporting the job's end (SIGKILL); the job was killed and handed back to the queue\n",
        );
      }
      expect(pilot.stderr()).not.toContain('could not run');
      // Stopped mid-job, the pilot hands the second attempts back too, and exits 1.
      pilot.child.kill('SIGTERM');
      expect(await pilot.exited).toEqual({ code: 1, signal: null });
      expect(pilot.stderr().match(/: handed back to the queue, exit code /g)).toHaveLength(2 * JOBS);
      expect(markedProcesses(marker)).toEqual([]);
      expect(await readdir(workdir)).toEqual([]);
    });
  }, 90_000);

  it('killed with SIGKILL together with its supervisor: every payload dies, and the next pilot there removes every directory', async () => {
    await withSleepingJobs(async ({ workdir, marker, taskId, pilot }) => {
      const supervisors = childrenRunning(pilot.child.pid!, 'supervisor-main.js');
      expect(supervisors).toHaveLength(1);
      // As Slurm or the OOM killer would: the pilot and its supervisor at once (the pilot held
      // still first, so that neither sees the other die and cleans up).
      pilot.child.kill('SIGSTOP');
      process.kill(supervisors[0]!, 'SIGKILL');
      pilot.child.kill('SIGKILL');
      await pilot.exited;
      expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
      const left = (await readdir(workdir)).filter((name) => !name.endsWith('.owner'));
      expect(left).toHaveLength(JOBS);
      for (const name of left) expect(await readdir(join(workdir, name))).toEqual(['notes.txt']);
      await userClient().killTask(taskId);
      const next = startPilot(workdir, ['--exit-when-idle']);
      expect(await next.exited).toEqual({ code: 0, signal: null });
      for (const name of left) {
        expect(next.stderr()).toContain(`removed the job directory ${name} left by a job supervisor that is gone`);
      }
      expect(await readdir(workdir)).toEqual([]);
    });
  }, 90_000);
});
