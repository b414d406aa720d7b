import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import { ApiPath, type AcquiredJob, type SubmitJobsResponseData, type TaskDetail } from '@panda-secrets/protocol';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;
let bob: string;
let pilot: string;

async function submit(count: number, exec = 'echo hi'): Promise<SubmitJobsResponseData> {
  const jobs = Array.from({ length: count }, () => ({ exec, outDS: 'user.alice.test', secrets: [] }));
  const response = await fx.call(alice, 'POST', ApiPath.submitJobs, { jobs });
  expect(response.statusCode).toBe(200);
  return response.json().data as SubmitJobsResponseData;
}

async function acquire(nJobs = 1): Promise<AcquiredJob[]> {
  const { publicJwk } = await generatePilotKeyPair();
  const response = await fx.call(pilot, 'POST', ApiPath.acquireJobs, { publicKey: publicJwk, nJobs });
  expect(response.statusCode).toBe(200);
  return response.json().data.jobs as AcquiredJob[];
}

/** Acquires until the job of `id` comes; the others stay with the pilot. */
async function acquireJob(id: string): Promise<AcquiredJob> {
  for (;;) {
    const [next] = await acquire();
    if (next === undefined) throw new Error(`job ${id} was never acquired`);
    if (next.job.id === id) return next;
  }
}

beforeAll(async () => {
  fx = await createFixture({ jobs: { leaseMs: 60_000, maxAttempts: 2 } });
  alice = await fx.token('alice');
  bob = await fx.token('bob');
  pilot = await fx.token('pilot-a', 'pilot');
  await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'ATTEMPT_SECRET', value: 'attempt-secret-value-5' });
});
afterAll(() => fx.close());

describe('tasks over HTTP', () => {
  it('numbers a submission as a task and lists, shows, kills and retries it', async () => {
    const submitted = await submit(2, 'echo task');
    expect(submitted.taskId).toBeGreaterThan(0);
    expect(
      submitted.jobs.map((job) => [job.taskId, job.jobIndex, job.state, job.attemptNr, job.maxAttempts, job.reason]),
    ).toEqual([
      [submitted.taskId, 1, 'queued', 0, 2, null],
      [submitted.taskId, 2, 'queued', 0, 2, null],
    ]);
    const listed = (await fx.call(alice, 'GET', ApiPath.tasks)).json().data.tasks;
    expect(listed[0]).toMatchObject({
      taskId: submitted.taskId,
      owner: 'alice',
      status: 'queued',
      exec: 'echo task',
      nJobs: 2,
    });
    expect((await fx.call(bob, 'GET', ApiPath.tasks)).json().data.tasks).toEqual([]);

    const acquired = await acquireJob(submitted.jobs[0]!.id);
    expect(acquired).toMatchObject({ leaseSeconds: 60 });
    expect(Date.parse(acquired.leaseExpiresAt)).toBeGreaterThan(Date.now());

    const killed = await fx.call(alice, 'POST', `${ApiPath.tasks}/${submitted.taskId}/kill`);
    expect(killed.statusCode).toBe(200);
    expect(killed.json().data).toMatchObject({ cancelled: 2, task: { status: 'cancelled' } });
    const beat = await fx.call(pilot, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id, claimId: acquired.claimId });
    expect(beat.json().data).toMatchObject({ cancel: true });
    // A log upload tells the pilot too, so a job that writes output stops without waiting for a heartbeat.
    const upload = await fx.call(pilot, 'POST', ApiPath.updateJob, {
      jobId: acquired.job.id,
      claimId: acquired.claimId,
      state: 'running',
      log: 'still going\n',
    });
    expect(upload.json().data).toEqual({ id: acquired.job.id, state: 'cancelled' });
    const again = await fx.call(alice, 'POST', `${ApiPath.tasks}/${submitted.taskId}/kill`);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      code: 'CONFLICT',
      message: `task ${submitted.taskId} has ended (cancelled): there is no queued or running job to kill`,
    });

    const retried = await fx.call(alice, 'POST', `${ApiPath.tasks}/${submitted.taskId}/retry`);
    expect(retried.json().data).toMatchObject({ retried: 2, task: { status: 'running' } });
    // The killed attempt's pilot is told its claim is no longer the job's.
    expect(
      (await fx.call(pilot, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id, claimId: acquired.claimId }))
        .statusCode,
    ).toBe(403);
    const detail = (await fx.call(alice, 'GET', `${ApiPath.tasks}/${submitted.taskId}`)).json().data as TaskDetail;
    expect(detail.jobs[0]).toMatchObject({ jobIndex: 1, state: 'queued', attemptNr: 1, maxAttempts: 3 });
    expect(detail.jobs[0]!.attempts).toEqual([
      {
        attemptNr: 1,
        pilot: 'pilot-a',
        startedAt: expect.any(String),
        endedAt: expect.any(String),
        outcome: 'cancelled',
        exitCode: null,
      },
    ]);
    expect((await fx.call(alice, 'POST', `${ApiPath.tasks}/${submitted.taskId}/retry`)).statusCode).toBe(409);
  });

  it("answers another user's task exactly as an absent one, and malformed ids with 400", async () => {
    const { taskId } = await submit(1);
    const absent = 999_999_999;
    for (const [method, suffix] of [
      ['GET', ''],
      ['POST', '/kill'],
      ['POST', '/retry'],
      ['GET', '/jobs/1/log'],
    ] as const) {
      const call = (token: string, id: number) =>
        method === 'GET'
          ? fx.call(token, 'GET', `${ApiPath.tasks}/${id}${suffix}`)
          : fx.call(token, 'POST', `${ApiPath.tasks}/${id}${suffix}`);
      const others = await call(bob, taskId);
      const missing = await call(alice, absent);
      expect([others.statusCode, missing.statusCode]).toEqual([404, 404]);
      expect(others.json().message).toBe(`no task ${taskId} of yours`);
      expect(missing.json().message).toBe(`no task ${absent} of yours`);
    }
    expect((await fx.call(alice, 'GET', `${ApiPath.tasks}/${taskId}/jobs/2/log`)).json()).toMatchObject({
      code: 'NOT_FOUND',
      message: `task ${taskId} has no job 2`,
    });
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999999999999', '%00']) {
      const response = await fx.call(alice, 'GET', `${ApiPath.tasks}/${bad}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('INVALID_INPUT');
    }
    expect((await fx.call(alice, 'GET', `${ApiPath.tasks}/${taskId}/jobs/x/log`)).statusCode).toBe(400);
    expect((await fx.call(alice, 'GET', `${ApiPath.tasks}/${taskId}/jobs/1/log?offset=-3`)).statusCode).toBe(400);
    expect((await fx.call(pilot, 'GET', ApiPath.tasks)).statusCode).toBe(403);
  });

  it('takes any output a payload prints, NUL and invalid UTF-8 included, and reads the log on from an offset', async () => {
    const { taskId, jobs } = await submit(1);
    const acquired = await acquireJob(jobs[0]!.id);
    const update = (fields: object) =>
      fx.call(pilot, 'POST', ApiPath.updateJob, { jobId: acquired.job.id, claimId: acquired.claimId, ...fields });
    // JSON's \u0000 and a lone surrogate (what no UTF-8 can carry) in the body's text.
    const raw =
      '{"jobId":' +
      JSON.stringify(acquired.job.id) +
      ',"claimId":' +
      JSON.stringify(acquired.claimId) +
      ',"state":"running","log":"a\\u0000b \\ud800 c\\n"}';
    const first = await fx.call(pilot, 'POST', ApiPath.updateJob, raw);
    expect(first.statusCode).toBe(200);
    const log = (offset: number) => fx.call(alice, 'GET', `${ApiPath.tasks}/${taskId}/jobs/1/log?offset=${offset}`);
    const start = (await log(0)).json().data;
    expect(start).toEqual({
      taskId,
      jobIndex: 1,
      id: acquired.job.id,
      state: 'running',
      log: 'a\u0000b \ufffd c\n',
      nextOffset: 10,
    });
    expect((await update({ state: 'finished', exitCode: 0, log: 'end €\n' })).statusCode).toBe(200);
    expect((await log(start.nextOffset)).json().data).toMatchObject({
      state: 'finished',
      log: 'end €\n',
      nextOffset: 18,
    });
    expect((await fx.call(alice, 'GET', `${ApiPath.jobs}/${acquired.job.id}/log`)).json().data.log).toBe(
      'a\u0000b \ufffd c\nend €\n',
    );
  });

  it('refuses a heartbeat or update that is not the current attempt, and takes a hand-back as a new attempt', async () => {
    const { jobs } = await submit(1);
    const acquired = await acquireJob(jobs[0]!.id);
    const forged = await fx.call(pilot, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id, claimId: 'guessed' });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().message).not.toContain(acquired.claimId);
    expect((await fx.call(pilot, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id })).statusCode).toBe(400);
    const beat = (
      await fx.call(pilot, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id, claimId: acquired.claimId })
    ).json().data;
    expect(beat.cancel).toBe(false);
    expect(Date.parse(beat.leaseExpiresAt)).toBeGreaterThanOrEqual(Date.parse(acquired.leaseExpiresAt));
    expect(
      (await fx.call(alice, 'POST', ApiPath.heartbeat, { jobId: acquired.job.id, claimId: acquired.claimId }))
        .statusCode,
    ).toBe(403);

    const released = await fx.call(pilot, 'POST', ApiPath.updateJob, {
      jobId: acquired.job.id,
      claimId: acquired.claimId,
      state: 'released',
      log: 'stopped\n',
    });
    expect(released.json().data).toEqual({ id: acquired.job.id, state: 'queued' });
    const late = await fx.call(pilot, 'POST', ApiPath.updateJob, {
      jobId: acquired.job.id,
      claimId: acquired.claimId,
      state: 'finished',
      exitCode: 0,
    });
    expect(late.statusCode).toBe(403);
    const next = await acquireJob(jobs[0]!.id);
    expect(next.job).toMatchObject({ attemptNr: 2 });
    expect(next.claimId).not.toBe(acquired.claimId);
    expect(
      (
        await fx.call(pilot, 'POST', ApiPath.updateJob, { jobId: jobs[0]!.id, claimId: next.claimId, state: 'bogus' })
      ).json().message,
    ).toBe("'state' must be one of running, finished, failed, released");
  });

  it("seals a new attempt's secrets afresh to the next pilot's key: the first attempt's key opens nothing of it", async () => {
    const response = await fx.call(alice, 'POST', ApiPath.submitJobs, {
      jobs: [{ exec: 'true', outDS: 'user.alice.test', secrets: ['ATTEMPT_SECRET'] }],
    });
    const id = (response.json().data as SubmitJobsResponseData).jobs[0]!.id;
    const acquireWith = async (keys: Awaited<ReturnType<typeof generatePilotKeyPair>>) => {
      for (;;) {
        const got = await fx.call(pilot, 'POST', ApiPath.acquireJobs, { publicKey: keys.publicJwk, nJobs: 1 });
        const [next] = got.json().data.jobs as AcquiredJob[];
        if (next === undefined) throw new Error(`job ${id} was never acquired`);
        if (next.job.id === id) return next;
      }
    };
    const firstKeys = await generatePilotKeyPair();
    const first = await acquireWith(firstKeys);
    await fx.call(pilot, 'POST', ApiPath.updateJob, { jobId: id, claimId: first.claimId, state: 'released' });
    const secondKeys = await generatePilotKeyPair();
    const second = await acquireWith(secondKeys);
    expect(second.claimId).not.toBe(first.claimId);
    expect(second.bundle).not.toBe(first.bundle);
    expect(await openBundle(secondKeys.privateKey, second.bundle!, id)).toMatchObject({
      env: { ATTEMPT_SECRET: 'attempt-secret-value-5' },
    });
    await expect(openBundle(firstKeys.privateKey, second.bundle!, id)).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
    expect((await fx.opened.context.store.listAudit({ jobId: id })).map((entry) => entry.action)).toEqual([
      'job_secrets',
      'job_secrets',
    ]);
  });
});
