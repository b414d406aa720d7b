import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PandaClient } from '@panda-secrets/client';
import { generatePilotKeyPair } from '@panda-secrets/crypto';
import type { JobDetail, TaskDetail } from '@panda-secrets/protocol';
import {
  createTestDatabase,
  startCli,
  startServer,
  type RunningServer,
  type StartedCli,
  type TestDatabase,
} from '@panda-secrets/testkit';

// Jobs that survive failures, end to end: a real panda-server (on SQLite, and on PostgreSQL when
// it runs) with a short --job-lease, and real panda-pilot processes that are killed, stopped and
// cut off from the server in the middle of a job.

const LEASE_SECONDS = 3;
const database = await createTestDatabase('panda_failures');
const targets: Array<[string, TestDatabase | null]> = [
  ['SQLite', null],
  ...(database ? [['PostgreSQL', database] as [string, TestDatabase]] : []),
];

afterAll(async () => {
  await database?.drop();
});

/** Polls `condition` until it holds; fails after `timeoutMs` with `what`. */
async function until<T>(what: string, condition: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

describe.each(targets)('%s: jobs survive failures', (_name, db) => {
  let dir: string;
  let server: RunningServer;
  let alice: PandaClient;
  const pilots: StartedCli[] = [];
  /** Process groups of payloads a killed pilot left behind (until the pilot cleans them up itself). */
  const leftovers: string[] = [];

  const shared = (): string[] =>
    db === null
      ? []
      : [
          '--db',
          db.url,
          '--keyring-file',
          join(dir, 'keyring.json'),
          '--issuer-key-file',
          join(dir, 'issuer-key.json'),
        ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-failures-'));
    await mkdir(join(dir, 'server'), { mode: 0o700 });
    server = await startServer({
      dataDir: join(dir, 'server'),
      sharedArgs: shared(),
      args: ['--job-lease', String(LEASE_SECONDS), '--max-attempts', '2'],
    });
    alice = new PandaClient({ server: server.url, token: await server.token('alice') });
    await alice.setSecret('FAILURE_SECRET', 'failure-secret-value-77');
  }, 60_000);

  afterAll(async () => {
    for (const pilot of pilots)
      if (pilot.child.exitCode === null && pilot.child.signalCode === null) pilot.child.kill('SIGKILL');
    for (const file of leftovers) {
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    }
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startPilot(
    name: string,
    args: string[],
    target: RunningServer = server,
    tokenFile?: string,
  ): Promise<StartedCli> {
    const pilot = startCli('panda-pilot', [
      '--server',
      target.url,
      '--token-file',
      tokenFile ?? (await target.tokenFile(name, { role: 'pilot' })),
      '--workdir',
      join(dir, `work-${name}`),
      '--poll',
      '0.2',
      ...args,
    ]);
    pilots.push(pilot);
    return pilot;
  }

  /** A payload that waits for ever on its first run (writing its pid), and says which run it is. */
  function firstRunHangs(name: string): string {
    const count = join(dir, `${name}.count`);
    const pid = join(dir, `${name}.pid`);
    leftovers.push(pid);
    return `n=$(cat ${count} 2>/dev/null || echo 0); echo $((n+1)) > ${count}; test "$FAILURE_SECRET" = failure-secret-value-77 || exit 9; if [ "$n" = 0 ]; then echo $$ > ${pid}; sleep 120; fi; echo run $((n+1))`;
  }

  async function submitOne(exec: string): Promise<{ taskId: number; jobId: string }> {
    const { taskId, jobs } = await alice.submitJobs([
      { exec, outDS: 'user.alice.failures', secrets: ['FAILURE_SECRET'] },
    ]);
    return { taskId, jobId: jobs[0]!.id };
  }

  const jobOf = async (taskId: number): Promise<JobDetail> => (await alice.getTask(taskId)).jobs[0]!;
  const attempts = (job: JobDetail) =>
    job.attempts.map((attempt) => [attempt.attemptNr, attempt.pilot, attempt.outcome, attempt.exitCode]);

  it('a pilot killed with SIGKILL mid-job: the job is queued again when its lease runs out and finishes on another pilot', async () => {
    const { taskId } = await submitOne(firstRunHangs('sigkill'));
    const first = await startPilot('pilot-killed', ['--max-jobs', '1']);
    await until('the first run to start', async () => existsSync(join(dir, 'sigkill.pid')));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startPilot('pilot-next', ['--max-jobs', '1']);
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const job = await jobOf(taskId);
    expect(job).toMatchObject({ state: 'finished', exitCode: 0, attemptNr: 2 });
    expect(attempts(job)).toEqual([
      [1, 'pilot-killed', 'lost', null],
      [2, 'pilot-next', 'finished', 0],
    ]);
    const { log } = await alice.getTaskJobLog(taskId, 1);
    expect(log).toBe(
      '\npanda-server: attempt 1 of 2 ended lost: its lease ran out (pilot pilot-killed stopped renewing it); the job is queued again\nrun 2\n',
    );
  }, 120_000);

  it('a pilot stopped by SIGTERM mid-job hands the job back: a new attempt, not a failure', async () => {
    const { taskId } = await submitOne(firstRunHangs('sigterm'));
    const first = await startPilot('pilot-stopped', ['--max-jobs', '1']);
    await until('the first run to start', async () => existsSync(join(dir, 'sigterm.pid')));
    first.child.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 1, signal: null });
    expect(first.stderr()).toContain('handed back to the queue, exit code 143');
    expect(await jobOf(taskId)).toMatchObject({ state: 'queued', attemptNr: 1, reason: null });

    const second = await startPilot('pilot-after', ['--max-jobs', '1']);
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const job = await jobOf(taskId);
    expect(job).toMatchObject({ state: 'finished', attemptNr: 2 });
    expect(attempts(job)).toEqual([
      [1, 'pilot-stopped', 'released', 143],
      [2, 'pilot-after', 'finished', 0],
    ]);
  }, 120_000);

  it('a lease left to run out: the late pilot is refused and changes nothing; after the last attempt the job fails with the reason', async () => {
    const { taskId, jobId } = await submitOne('true');
    const late = new PandaClient({
      server: server.url,
      token: (await readFile(await server.tokenFile('pilot-late', { role: 'pilot' }), 'utf8')).trim(),
    });
    const acquire = async () => {
      const [acquired] = await late.acquireJobs((await generatePilotKeyPair()).publicJwk as Record<string, unknown>, 1);
      expect(acquired?.job.id).toBe(jobId);
      return acquired!;
    };
    const first = await acquire();
    expect(first.leaseSeconds).toBe(LEASE_SECONDS);
    const requeued = await until('the lease to run out', async () => {
      const job = await jobOf(taskId);
      return job.state === 'queued' && job;
    });
    expect(attempts(requeued)).toEqual([[1, 'pilot-late', 'lost', null]]);
    await expect(
      late.updateJob({ jobId, claimId: first.claimId, state: 'finished', exitCode: 0, log: 'too late\n' }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(late.heartbeat({ jobId, claimId: first.claimId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await jobOf(taskId)).toEqual(requeued);

    await acquire();
    const failed = await until('the last lease to run out', async () => {
      const job = await jobOf(taskId);
      return job.state === 'failed' && job;
    });
    expect(failed.reason).toBe(
      'attempt 2 of 2 ended lost: its lease ran out (pilot pilot-late stopped renewing it), and it was the last attempt',
    );
    expect((await alice.getTask(taskId)).task.status).toBe('failed');
  }, 120_000);

  it('kill stops a running job at its heartbeat and queued ones never run; retry runs them again', async () => {
    const go = join(dir, 'go');
    const exec = `if [ -e ${go} ]; then echo ran; else touch ${join(dir, 'kill-started')}; sleep 120; fi`;
    const { taskId, jobs } = await alice.submitJobs([
      { exec, outDS: 'user.alice.failures', secrets: [] },
      { exec, outDS: 'user.alice.failures', secrets: [] },
    ]);
    const pilot = await startPilot('pilot-kill', ['--max-jobs', '1']);
    await until('the job to start', async () => existsSync(join(dir, 'kill-started')));
    const killed = await alice.killTask(taskId);
    expect(killed).toMatchObject({ cancelled: 2, task: { status: 'cancelled' } });
    expect(await pilot.exited).toEqual({ code: 0, signal: null });
    expect(pilot.stderr()).toContain(`job ${jobs[0]!.id}: cancelled by its owner; stopping it`);
    await expect(alice.killTask(taskId)).rejects.toMatchObject({ code: 'CONFLICT' });

    await writeFile(go, '');
    expect((await alice.retryTask(taskId)).retried).toBe(2);
    const again = await startPilot('pilot-retry', ['--exit-when-idle']);
    expect(await again.exited).toEqual({ code: 0, signal: null });
    const detail: TaskDetail = await alice.getTask(taskId);
    expect(detail.task.status).toBe('finished');
    expect(detail.jobs.map(attempts)).toEqual([
      [
        [1, 'pilot-kill', 'cancelled', 143],
        [2, 'pilot-retry', 'finished', 0],
      ],
      [[1, 'pilot-retry', 'finished', 0]],
    ]);
    expect((await alice.getTaskJobLog(taskId, 2)).log).toBe(
      '\npanda-server: killed by alice\n\npanda-server: retried by its owner; the job is queued again\nran\n',
    );
  }, 120_000);

  it('a server restarted while a job ends: the pilot sends its end again until the server takes it', async () => {
    // A lease long enough to outlast the restart.
    const dataDir = join(dir, 'restart');
    await mkdir(dataDir, { mode: 0o700 });
    const args = ['--job-lease', '30'];
    let restarting = await startServer({ dataDir, sharedArgs: shared(), args });
    const port = Number(new URL(restarting.url).port);
    const owner = new PandaClient({ server: restarting.url, token: await restarting.token('alice') });
    await owner.setSecret('FAILURE_SECRET', 'failure-secret-value-77');
    const started = join(dir, 'restart-started');
    const { taskId } = await owner.submitJobs([
      { exec: `touch ${started}; sleep 2; echo the end`, outDS: 'user.alice.failures', secrets: [] },
    ]);
    const pilot = await startPilot('pilot-restart', ['--max-jobs', '1'], restarting);
    try {
      await until('the job to start', async () => existsSync(started));
      await restarting.stop();
      await until(
        'the pilot to find the server away',
        async () => pilot.stderr().includes('reporting its end failed'),
        30_000,
      );
      restarting = await startServer({ dataDir, sharedArgs: shared(), args, port });
      expect(await pilot.exited).toEqual({ code: 0, signal: null });
      const detail = await owner.getTask(taskId);
      expect(detail.jobs[0]).toMatchObject({ state: 'finished', exitCode: 0, attemptNr: 1 });
      expect((await owner.getTaskJobLog(taskId, 1)).log).toBe('the end\n');
    } finally {
      await restarting.stop();
    }
  }, 120_000);

  it('a payload printing NUL bytes and invalid UTF-8 finishes, its log stored and read back', async () => {
    const { taskId } = await submitOne(
      String.raw`printf 'nul\000here\n'; printf 'bad \377\376 bytes\n'; printf '\000'`,
    );
    const pilot = await startPilot('pilot-bytes', ['--max-jobs', '1']);
    expect(await pilot.exited).toEqual({ code: 0, signal: null });
    expect(await jobOf(taskId)).toMatchObject({ state: 'finished', exitCode: 0 });
    expect((await alice.getTaskJobLog(taskId, 1)).log).toBe('nul\u0000here\nbad \ufffd\ufffd bytes\n\u0000');
  }, 120_000);

  it('a pilot whose token file is renewed in place keeps working after the old token expired, and warns first', async () => {
    const tokenDir = await mkdtemp(join(dir, 'token-'));
    const file = join(tokenDir, 'pilot.token');
    await writeFile(file, `${await server.token('pilot-renewed', { role: 'pilot', ttl: '6s' })}\n`, { mode: 0o600 });
    const expires = Date.now() + 6000;
    const pilot = await startPilot('pilot-renewed', ['--max-jobs', '1'], server, file);
    await until('the expiry warning', async () => pilot.stderr().includes(`warning: the token in ${file} expires in`));
    await writeFile(file, `${await server.token('pilot-renewed', { role: 'pilot', ttl: '1h' })}\n`);
    // Only the renewed token is valid from here: a pilot still sending the old one would be refused and exit.
    await delay(Math.max(0, expires - Date.now()) + 1500);
    expect(pilot.child.exitCode).toBeNull();
    const { taskId } = await submitOne('echo renewed');
    expect(await pilot.exited).toEqual({ code: 0, signal: null });
    expect(await jobOf(taskId)).toMatchObject({ state: 'finished', attemptNr: 1 });
  }, 120_000);
});
