import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import { ApiPath, FILE_PREFIX, MAX_LOG_CHUNK, type AcquiredJob, type JobInfo } from '@panda-secrets/protocol';
import { MAX_JOB_LOG } from './routes/pilot.js';
import { createFixture, type Fixture } from './testing/fixture.js';

let fx: Fixture;
let alice: string;
let pilotA: string;
let pilotB: string;

async function submit(secrets: string[], exec = 'echo hi'): Promise<JobInfo> {
  const response = await fx.call(alice, 'POST', ApiPath.submitJobs, {
    jobs: [{ exec, outDS: 'user.alice.test', secrets }],
  });
  expect(response.statusCode).toBe(200);
  return (response.json().data.jobs as JobInfo[])[0] as JobInfo;
}

async function acquire(token: string, publicKey: unknown): Promise<AcquiredJob[]> {
  const response = await fx.call(token, 'POST', ApiPath.acquireJobs, { publicKey, nJobs: 1 });
  expect(response.statusCode).toBe(200);
  return response.json().data.jobs as AcquiredJob[];
}

beforeAll(async () => {
  fx = await createFixture();
  alice = await fx.token('alice');
  pilotA = await fx.token('pilot-a', 'pilot');
  pilotB = await fx.token('pilot-b', 'pilot');
  await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'MY_SECRET', value: 'job-secret-value-31' });
  await fx.call(alice, 'POST', ApiPath.setUserSecrets, {
    key: `${FILE_PREFIX}cred.dat`,
    value: Buffer.from([0, 1, 254, 255]).toString('base64'),
  });
  await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'UNUSED', value: 'never-sent-to-job' });
});
afterAll(() => fx.close());

describe('submitting and acquiring jobs', () => {
  it('hands the pilot a bundle sealed to its key holding exactly the referenced secrets', async () => {
    const job = await submit(['MY_SECRET', `${FILE_PREFIX}cred.dat`]);
    expect(job).toMatchObject({
      owner: 'alice',
      state: 'queued',
      exitCode: null,
      spec: { secrets: ['MY_SECRET', `${FILE_PREFIX}cred.dat`] },
    });
    const keys = await generatePilotKeyPair();
    const [acquired] = await acquire(pilotA, keys.publicJwk);
    expect(acquired?.job.id).toBe(job.id);
    const bundle = await openBundle(keys.privateKey, acquired?.bundle ?? '', job.id);
    expect(bundle).toEqual({
      jobId: job.id,
      env: { MY_SECRET: 'job-secret-value-31' },
      files: { 'cred.dat': 'AAH+/w==' },
    });

    const stored = await fx.opened.context.store.getJob(job.id);
    expect(JSON.stringify(stored?.spec)).not.toContain('job-secret-value');
    const audit = await fx.opened.context.store.listAudit({ jobId: job.id });
    expect(audit).toEqual([
      expect.objectContaining({ actor: 'pilot-a', action: 'job_secrets', key: `MY_SECRET,${FILE_PREFIX}cred.dat` }),
    ]);
    expect(JSON.stringify(audit)).not.toContain('job-secret-value');

    const otherKeys = await generatePilotKeyPair();
    await expect(openBundle(otherKeys.privateKey, acquired?.bundle ?? '', job.id)).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
    await expect(openBundle(keys.privateKey, acquired?.bundle ?? '', 'another-job')).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
  });

  it('seals a secret named __proto__ into the bundle like any other', async () => {
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: '__proto__', value: 'proto-secret-value' });
    const job = await submit(['__proto__']);
    const keys = await generatePilotKeyPair();
    const [acquired] = await acquire(pilotA, keys.publicJwk);
    const bundle = await openBundle(keys.privateKey, acquired?.bundle ?? '', job.id);
    expect(Object.entries(bundle.env)).toEqual([['__proto__', 'proto-secret-value']]);
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: '__proto__', value: null });
  });

  it('gives a job without secrets no bundle', async () => {
    const job = await submit([]);
    const [acquired] = await acquire(pilotA, (await generatePilotKeyPair()).publicJwk);
    expect(acquired).toMatchObject({ job: { id: job.id }, bundle: null });
  });

  it('refuses a job that refers to a secret the user does not have, creating nothing', async () => {
    const response = await fx.call(alice, 'POST', ApiPath.submitJobs, {
      jobs: [{ exec: 'true', outDS: 'ds', secrets: ['NOT_THERE'] }],
    });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toContain('NOT_THERE');
    expect(await acquire(pilotA, (await generatePilotKeyPair()).publicJwk)).toEqual([]);
  });

  it('refuses a job whose env secrets together exceed what execve can carry, naming --secrets, creating nothing', async () => {
    const big = 'b'.repeat(120_000);
    const names = Array.from({ length: 9 }, (_, index) => `BIG_${index}`);
    for (const name of names)
      expect((await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: name, value: big })).statusCode).toBe(200);
    // Eight fit (files never count), nine do not.
    expect(
      (
        await fx.call(alice, 'POST', ApiPath.setUserSecrets, {
          key: `${FILE_PREFIX}big.bin`,
          value: Buffer.alloc(1_000_000).toString('base64'),
        })
      ).statusCode,
    ).toBe(200);
    const fitting = await submit([...names.slice(0, 8), `${FILE_PREFIX}big.bin`]);
    expect(fitting.state).toBe('queued');
    const response = await fx.call(alice, 'POST', ApiPath.submitJobs, {
      jobs: [
        { exec: 'true', outDS: 'ds', secrets: ['MY_SECRET'] },
        { exec: 'true', outDS: 'ds', secrets: names },
      ],
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toBe(
      "the job's 9 env secrets take 1080135 bytes of its environment together; at most 1048576 bytes fit beside the payload's own environment: name fewer with --secrets, or store large values as secret files",
    );
    // Nothing of the refused submission was queued, not even its first, fitting job.
    expect((await acquire(pilotA, (await generatePilotKeyPair()).publicJwk)).map((job) => job.job.id)).toEqual([
      fitting.id,
    ]);
    expect(await acquire(pilotA, (await generatePilotKeyPair()).publicJwk)).toEqual([]);
    for (const name of [...names, 'big.bin'])
      await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: name, value: null });
  });

  it('refuses a key that is not a public EC key before claiming any job', async () => {
    const job = await submit(['MY_SECRET']);
    const keys = await generatePilotKeyPair();
    const response = await fx.call(pilotA, 'POST', ApiPath.acquireJobs, { publicKey: { kty: 'oct', k: 'AAAA' } });
    expect(response.statusCode).toBe(400);
    expect((await fx.opened.context.store.getJob(job.id))?.state).toBe('queued');
    expect((await acquire(pilotA, keys.publicJwk))[0]?.job.id).toBe(job.id);
  });
});

describe('roles and ownership', () => {
  it('keeps users off the pilot calls and pilots off the user calls', async () => {
    const keys = await generatePilotKeyPair();
    expect((await fx.call(alice, 'POST', ApiPath.acquireJobs, { publicKey: keys.publicJwk })).statusCode).toBe(403);
    expect(
      (await fx.call(pilotA, 'POST', ApiPath.submitJobs, { jobs: [{ exec: 'true', outDS: 'ds' }] })).statusCode,
    ).toBe(403);
    expect((await fx.call(pilotA, 'GET', ApiPath.getUserSecrets)).statusCode).toBe(403);
  });

  it('lets only the pilot that acquired a job, with its claim, update it', async () => {
    const job = await submit([]);
    const [acquired] = await acquire(pilotA, (await generatePilotKeyPair()).publicJwk);
    const claimId = acquired?.claimId ?? '';
    const update = (token: string, body: object) =>
      fx.call(token, 'POST', ApiPath.updateJob, { jobId: job.id, claimId, ...body });
    expect((await update(pilotB, { state: 'finished', exitCode: 0 })).statusCode).toBe(403);
    expect((await update(pilotA, { claimId: 'forged', state: 'finished', exitCode: 0 })).statusCode).toBe(403);
    expect((await update(pilotA, { state: 'finished', exitCode: 1e300 })).statusCode).toBe(400);
    expect((await update(pilotA, { state: 'finished', exitCode: -1 })).json().message).toContain('from 0 to 255');
    expect((await update(pilotA, { state: 'running', log: 'line 1\n' })).statusCode).toBe(200);
    expect((await update(pilotA, { state: 'finished', exitCode: 0, log: 'line 2\n' })).statusCode).toBe(200);
    expect((await update(pilotA, { state: 'failed', exitCode: 1 })).statusCode).toBe(403);

    const status = await fx.call(alice, 'GET', `${ApiPath.jobs}/${job.id}`);
    expect(status.json().data).toMatchObject({ id: job.id, state: 'finished', exitCode: 0 });
    const log = await fx.call(alice, 'GET', `${ApiPath.jobs}/${job.id}/log`);
    expect(log.json().data).toEqual({ id: job.id, state: 'finished', log: 'line 1\nline 2\n' });
    const bob = await fx.token('bob');
    expect((await fx.call(bob, 'GET', `${ApiPath.jobs}/${job.id}`)).statusCode).toBe(404);
    expect((await fx.call(bob, 'GET', `${ApiPath.jobs}/${job.id}/log`)).statusCode).toBe(404);
  });

  it('fails a job whose secret was deleted after submission instead of dispatching it', async () => {
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'SHORT_LIVED', value: 'gone-soon-value' });
    const job = await submit(['SHORT_LIVED']);
    await fx.call(alice, 'POST', ApiPath.setUserSecrets, { key: 'SHORT_LIVED', value: null });
    expect(await acquire(pilotA, (await generatePilotKeyPair()).publicJwk)).toEqual([]);
    const log = await fx.call(alice, 'GET', `${ApiPath.jobs}/${job.id}/log`);
    expect(log.json().data.state).toBe('failed');
    expect(log.json().data.log).toContain('SHORT_LIVED were deleted after it was submitted');
    expect((await fx.call(alice, 'GET', `${ApiPath.jobs}/${job.id}`)).json().data.reason).toBe(
      "the job could not be given its secrets: the job's secrets SHORT_LIVED were deleted after it was submitted",
    );
  });
});

describe('job logs', () => {
  it('keeps a runaway log to its cap, with one note where it stops', async () => {
    const job = await submit([]);
    const [acquired] = await acquire(pilotA, (await generatePilotKeyPair()).publicJwk);
    const update = (log: string) =>
      fx.call(pilotA, 'POST', ApiPath.updateJob, { jobId: job.id, claimId: acquired?.claimId, state: 'running', log });
    const chunk = 'x'.repeat(MAX_LOG_CHUNK);
    for (let index = 0; index < MAX_JOB_LOG / MAX_LOG_CHUNK + 2; index += 1)
      expect((await update(chunk)).statusCode).toBe(200);
    expect((await update('x'.repeat(MAX_LOG_CHUNK + 1))).statusCode).toBe(413);
    const { log } = (await fx.call(alice, 'GET', `${ApiPath.jobs}/${job.id}/log`)).json().data as { log: string };
    expect(log).toBe(`${'x'.repeat(MAX_JOB_LOG)}\n[the log is truncated at ${MAX_JOB_LOG} bytes]\n`);
  });
});

describe('the per-user job cap', () => {
  it('refuses a submission that would pass the cap of unfinished jobs, submitting nothing', async () => {
    const small = await createFixture({ maxUnfinishedJobs: 3 });
    try {
      const carol = await small.token('carol');
      const submitJobs = (count: number) =>
        small.call(carol, 'POST', ApiPath.submitJobs, {
          jobs: Array.from({ length: count }, () => ({ exec: 'true', outDS: 'ds', secrets: [] })),
        });
      expect((await submitJobs(2)).statusCode).toBe(200);
      const refused = await submitJobs(2);
      expect(refused.statusCode).toBe(413);
      expect(refused.json()).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        message:
          'you have 2 unfinished jobs and submitted 2; the limit is 3 queued or running jobs per user: nothing was submitted',
      });
      expect(await small.opened.context.store.countUnfinishedJobs('carol')).toBe(2);
      expect((await submitJobs(1)).statusCode).toBe(200);
    } finally {
      await small.close();
    }
  });
});
