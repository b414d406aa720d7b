import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PandaClient } from '@panda-secrets/client';
import type { TaskDetail } from '@panda-secrets/protocol';
import { REPO_ROOT, binPath, cleanEnv, slurmPrograms, startServer, startSlurmCluster } from '@panda-secrets/testkit';
import type { RunningServer, SlurmCluster } from '@panda-secrets/testkit';

// Pilots as Slurm jobs: a single-node Slurm cluster of the test's own runs the pilots of
// contrib/slurm/panda-pilot.sbatch, submitted with sbatch, against a real panda-server.

const programs = slurmPrograms();
const describeSlurm = programs === null ? describe.skip : describe;

const SCRIPT = join(REPO_ROOT, 'contrib', 'slurm', 'panda-pilot.sbatch');
const JOBS = 30;
const WORKERS = 3;
const ENV_VALUE = `slurm-env-secret-${randomBytes(8).toString('hex')}`;
const FILE_BYTES = Buffer.concat([
  Buffer.from(`slurm-file-secret-${randomBytes(8).toString('hex')}\n`),
  randomBytes(64),
]);
const FILE_NAME = 'slurm_secret.dat';
/** The Slurm job name of the two pilots that are stopped mid-job: their payloads wait to be interrupted. */
const STALL_NAME = 'panda-pilot-stall';

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Polls `probe` until it returns a value; fails with `what` and the last state seen. */
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  state: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s; now: ${await state()}`);
    await delay(500);
  }
}

/** Every file under `dir`, as paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describeSlurm('pilots as Slurm jobs (contrib/slurm/panda-pilot.sbatch)', () => {
  let cluster: SlurmCluster;
  let server: RunningServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-slurm-'));
    [cluster, server] = await Promise.all([
      startSlurmCluster(programs!),
      // A lease long enough that only the SIGTERM hand-back can requeue a job within this test.
      startServer({ args: ['--job-lease', '120'] }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(server?.dataDir ?? '', { recursive: true, force: true });
  }, 180_000);

  it(`runs a task of ${JOBS} jobs with secrets exactly once each, also when one pilot is cancelled and one reaches its time limit mid-job`, async () => {
    const alice = new PandaClient({ server: server.url, token: await server.token('alice') });
    await alice.setSecret('SLURM_SECRET', ENV_VALUE);
    await alice.setSecret(`___file___:${FILE_NAME}`, FILE_BYTES.toString('base64'));
    const tokenFile = await server.tokenFile('slurm-pilot', { role: 'pilot' });
    const workdir = join(dir, 'work');
    const doneDir = join(dir, 'done');
    await mkdir(doneDir);

    // The payload checks both secrets by their digests (the job spec holds no value), waits to be
    // interrupted when its pilot is one of the two stopped ones, and leaves one file per completion.
    const exec = [
      `test "$(printf %s "$SLURM_SECRET" | sha256sum | cut -c1-64)" = ${sha256(ENV_VALUE)}`,
      `test "$(sha256sum < ${FILE_NAME} | cut -c1-64)" = ${sha256(FILE_BYTES)}`,
      `if [ "$SLURM_JOB_NAME" = ${STALL_NAME} ]; then echo "stalling in Slurm job $SLURM_JOB_ID"; sleep 600; fi`,
      'sleep 1',
      `mktemp ${doneDir}/done.XXXXXX > /dev/null`,
      'echo "done in Slurm job $SLURM_JOB_ID with $SLURM_SECRET"',
    ].join(' && ');
    const { taskId, jobs } = await alice.submitJobs(
      Array.from({ length: JOBS }, () => ({
        exec,
        outDS: 'user.alice.slurm',
        secrets: ['SLURM_SECRET', `___file___:${FILE_NAME}`],
      })),
    );
    expect(jobs).toHaveLength(JOBS);
    const task = (): Promise<TaskDetail> => alice.getTask(taskId);
    // What a failure message shows: the jobs by state, those that went wrong with their attempts
    // and log, the Slurm jobs, and what the pilots wrote.
    const describeTask = async (): Promise<string> => {
      const detail = await task();
      const wrong = detail.jobs.filter((job) => job.state === 'failed' || job.state === 'cancelled');
      const logs = await Promise.all(
        wrong.map(
          async (job) =>
            `job ${job.jobIndex} ${job.state} (${job.reason ?? ''}) ${JSON.stringify(job.attempts)}\n${(await alice.getJobLog(job.id)).log}`,
        ),
      );
      const outputs = await Promise.all(
        (await readdir(dir))
          .filter((name) => name.startsWith('slurm-'))
          .map(async (name) => `--- ${name}\n${await readFile(join(dir, name), 'utf8')}`),
      );
      return [
        JSON.stringify(detail.task.jobsByState),
        ...logs,
        `Slurm: ${(await cluster.activeJobs()).join(', ')}`,
        ...outputs,
      ].join('\n');
    };

    const env = cleanEnv({
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      PANDA_URL_SSL: server.url,
      PANDA_PILOT_TOKEN_FILE: tokenFile,
      PANDA_PILOT_WORKDIR: workdir,
      PANDA_PILOT: binPath('panda-pilot'),
    });
    const sbatch = (args: string[], pilotArgs: string[] = []): Promise<string> =>
      cluster.sbatch([`--output=${dir}/slurm-%A_%a.out`, `--chdir=${dir}`, ...args, SCRIPT, ...pilotArgs], env);

    // Two pilots whose payloads stall: one ends by its time limit (one minute), one by scancel.
    const timeLimited = await sbatch(
      [`--job-name=${STALL_NAME}`, '--array=1', '--time=1'],
      ['--exit-when-idle', '--poll', '1'],
    );
    const cancelled = await sbatch([`--job-name=${STALL_NAME}`, '--array=1'], ['--exit-when-idle', '--poll', '1']);
    await until(
      'two stalled jobs did not start',
      90_000,
      async () => ((await task()).task.jobsByState.running === 2 ? true : undefined),
      describeTask,
    );

    await cluster.scancel([cancelled]);
    const released = (detail: TaskDetail) =>
      detail.jobs.filter((job) => job.attempts.some((attempt) => attempt.outcome === 'released'));
    await until(
      'the cancelled pilot did not hand its job back',
      60_000,
      async () => (released(await task()).length === 1 ? true : undefined),
      describeTask,
    );
    // The pilot hands its job back before it exits: Slurm may still show the job COMPLETING.
    const cancelledState = await until(
      'the cancelled pilot did not end',
      60_000,
      async () => {
        const { state } = await cluster.job(cancelled);
        return state === 'COMPLETING' || state === 'RUNNING' ? undefined : state;
      },
      describeTask,
    );
    expect(cancelledState).toBe('CANCELLED');

    // The workers: a job array whose pilots take ten jobs each, so that one of them is still there
    // when the time-limited pilot hands its job back.
    const workers = await sbatch([`--array=1-${WORKERS}`], ['--max-jobs', String(JOBS / WORKERS), '--poll', '1']);
    const finished = await until(
      `the ${JOBS} jobs did not finish`,
      240_000,
      async () => {
        const detail = await task();
        return detail.task.status === 'finished' ? detail : undefined;
      },
      describeTask,
    );
    await until(
      'the pilots did not end',
      90_000,
      async () => ((await cluster.activeJobs()).length === 0 ? true : undefined),
      describeTask,
    );

    // Slurm ended the stalled pilots as asked and the workers of themselves.
    expect((await cluster.job(timeLimited)).state).toBe('TIMEOUT');
    for (let index = 1; index <= WORKERS; index += 1)
      expect((await cluster.job(`${workers}_${index}`)).state).toBe('COMPLETED');

    // Every job finished exactly once, as its last attempt; the two interrupted ones first
    // ended as `released` attempts, and nothing else was retried.
    expect(finished.task.jobsByState).toEqual({ queued: 0, running: 0, finished: JOBS, failed: 0, cancelled: 0 });
    for (const job of finished.jobs) {
      expect([job.state, job.exitCode]).toEqual(['finished', 0]);
      expect(job.attempts.filter((attempt) => attempt.outcome === 'finished')).toHaveLength(1);
      expect(job.attempts.at(-1)).toMatchObject({ outcome: 'finished', exitCode: 0 });
      expect(job.attemptNr).toBe(job.attempts.length);
    }
    const interrupted = finished.jobs.filter((job) => job.attempts.length > 1);
    expect(interrupted.map((job) => job.attempts.map((attempt) => attempt.outcome))).toEqual([
      ['released', 'finished'],
      ['released', 'finished'],
    ]);
    expect(await readdir(doneDir)).toHaveLength(JOBS);

    // The logs say where each job ran, with the value masked.
    for (const job of finished.jobs) {
      const { log } = await alice.getJobLog(job.id);
      expect(log).toMatch(/done in Slurm job \d+ with \*\*\*/);
      expect(log).not.toContain(ENV_VALUE);
    }

    // No secret file, and no secret value in any file, is left on the node: not in the pilots'
    // work dirs, and not in what Slurm kept of the pilots' output.
    const fileSecret = FILE_BYTES.subarray(0, FILE_BYTES.indexOf(10));
    const leftovers = await filesUnder(dir);
    expect(leftovers.filter((path) => path.endsWith(`/${FILE_NAME}`))).toEqual([]);
    for (const path of [...leftovers, ...(await filesUnder(cluster.dir))]) {
      const bytes = await readFile(path).catch(() => Buffer.alloc(0));
      expect([path, bytes.includes(ENV_VALUE), bytes.includes(fileSecret)]).toEqual([path, false, false]);
    }
    const pilotOutputs = await Promise.all(
      (await readdir(dir)).filter((name) => name.startsWith('slurm-')).map((name) => readFile(join(dir, name), 'utf8')),
    );
    expect(pilotOutputs).toHaveLength(2 + WORKERS);
    expect(pilotOutputs.filter((output) => /stopped by SIGTERM/.test(output))).toHaveLength(2);
  }, 600_000);
});
