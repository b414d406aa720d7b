import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { abortableSleep } from '@panda-secrets/cli-kit';
import { importPilotPublicKey, sealBundle } from '@panda-secrets/crypto';
import type { PilotPublicKey } from '@panda-secrets/crypto';
import { PandaError } from '@panda-secrets/protocol';
import type { AcquiredJob, HeartbeatRequest, JobInfo, SecretBundle, UpdateJobRequest } from '@panda-secrets/protocol';
import { Script, verifyFakesAfterEachTest } from '@panda-secrets/testkit/unit';
import { runPilot } from './pilot.js';
import type { PilotClient, PilotDeps, PilotOptions } from './pilot.js';
import { memoryLog } from './testing/log.js';

const SECRET = 'random_string';
const FILE_TEXT = 'secret file text\n';

let workdir: string;

beforeEach(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'pilot-loop-test-'));
});

afterEach(async () => {
  await rm(workdir, { recursive: true, force: true });
});

function jobInfo(id: string, exec: string, secrets: string[]): JobInfo {
  return {
    id,
    owner: 'alice',
    taskId: 1,
    jobIndex: 1,
    spec: { exec, outDS: 'user.alice.test', secrets },
    state: 'running',
    exitCode: null,
    attemptNr: 1,
    maxAttempts: 3,
    reason: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

verifyFakesAfterEachTest();

interface QueuedJob {
  id: string;
  exec: string;
  /** The bundle's job id, when it should differ from the job's (a replayed bundle). */
  bundleJobId?: string;
  withSecrets?: boolean;
}

/**
 * A fake server: hands out as many of the queued jobs as an acquire asks for, sealing each bundle to the key sent.
 * Each of `failures` fails one acquire, first: one never thrown fails the test.
 */
function fakeClient(queue: QueuedJob[], failures: Error[] = [], leaseSeconds = 300) {
  const acquireFailures = new Script('acquire failures', failures);
  const keys: unknown[] = [];
  const updates: UpdateJobRequest[] = [];
  const heartbeats: HeartbeatRequest[] = [];
  /** The number of jobs each acquire asked for. */
  const requested: number[] = [];
  /** What the next heartbeats answer: an error to throw, or whether to cancel. */
  const beats: Array<Error | { cancel: boolean }> = [];
  /** Jobs the owner killed: every update of one answers `cancelled`. */
  const cancelled = new Set<string>();
  const client: PilotClient = {
    async heartbeat(request) {
      heartbeats.push(request);
      const next = beats.length > 1 ? beats.shift()! : (beats[0] ?? { cancel: false });
      if (next instanceof Error) throw next;
      return { leaseExpiresAt: '2026-01-01T00:05:00.000Z', cancel: next.cancel };
    },
    async acquireJobs(publicKey, nJobs = 1) {
      requested.push(nJobs);
      keys.push(publicKey);
      const failure = acquireFailures.next();
      if (failure) throw failure;
      const key = await importPilotPublicKey(publicKey);
      return Promise.all(queue.splice(0, nJobs).map((next) => acquiredJob(next, key, leaseSeconds)));
    },
    async updateJob(update) {
      updates.push(update);
      if (cancelled.has(update.jobId)) return { id: update.jobId, state: 'cancelled' };
      return { id: update.jobId, state: update.state === 'released' ? 'queued' : update.state };
    },
  };
  return { client, keys, requested, updates, heartbeats, beats, cancelled };
}

/** A queued job as the fake server hands it out, its bundle sealed to `key`. */
async function acquiredJob(next: QueuedJob, key: PilotPublicKey, leaseSeconds: number): Promise<AcquiredJob> {
  const bundle: SecretBundle = {
    jobId: next.bundleJobId ?? next.id,
    env: { MY_SECRET: SECRET },
    files: { 'notes.txt': Buffer.from(FILE_TEXT).toString('base64') },
  };
  const acquired: AcquiredJob = {
    job: jobInfo(next.id, next.exec, next.withSecrets === false ? [] : ['MY_SECRET', '___file___:notes.txt']),
    claimId: `claim-${next.id}`,
    bundle: next.withSecrets === false ? null : await sealBundle(key, bundle),
    leaseExpiresAt: '2026-01-01T00:05:00.000Z',
    leaseSeconds,
  };
  return acquired;
}

const OPTIONS: PilotOptions = {
  workdir: '',
  pollSeconds: 5,
  once: false,
  exitWhenIdle: true,
  keepWorkdir: false,
  verbose: false,
};

function pilotDeps(client: PilotClient, overrides: Partial<PilotDeps> = {}) {
  const { log, jobLog, lines } = memoryLog();
  const sleeps: number[] = [];
  const deps: PilotDeps = {
    client,
    log,
    jobLog,
    payloadEnv: { PATH: process.env.PATH, PANDA_TEST_MARK: 'base env' },
    signal: new AbortController().signal,
    // Recorded, and short for real: heartbeats pace themselves with it.
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      await delay(Math.min(ms, 20), undefined, { signal }).catch(() => undefined);
    },
    retryMinMs: 10,
    ...overrides,
  };
  return { deps, lines, sleeps };
}

const logOf = (updates: UpdateJobRequest[], jobId: string): string =>
  updates
    .filter((update) => update.jobId === jobId)
    .map((update) => update.log ?? '')
    .join('');

describe('runPilot', () => {
  it('runs a job with its secrets, sends the masked log and the final state', async () => {
    const { client, updates } = fakeClient([
      { id: 'job-1', exec: 'echo "secret=$MY_SECRET"; cat notes.txt; echo "$PANDA_TEST_MARK"' },
    ]);
    const { deps, lines } = pilotDeps(client);
    const summary = await runPilot(deps, { ...OPTIONS, workdir });
    expect(summary).toEqual({ jobs: 1, interruptedJob: false });
    // The acquire made the job running on the server: the first update is the end report.
    expect(updates).toHaveLength(1);
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', claimId: 'claim-job-1', state: 'finished', exitCode: 0 });
    expect(logOf(updates, 'job-1')).toBe('secret=***\n***base env\n');
    expect(lines).toEqual([
      'job job-1: acquired (attempt 1 of 3)',
      'job job-1: env secrets MY_SECRET; secret files notes.txt',
      'job job-1: finished, exit code 0',
      'no job is queued',
    ]);
    expect(await readdir(workdir)).toEqual([]);
  });

  it('sends a fresh public key with every acquire, asking for one job at a time by default', async () => {
    const { client, keys, requested } = fakeClient([
      { id: 'job-1', exec: 'true' },
      { id: 'job-2', exec: 'true' },
    ]);
    await runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir });
    expect(requested).toEqual([1, 1, 1]);
    expect(keys).toHaveLength(3);
    expect(new Set(keys.map((key) => JSON.stringify(key))).size).toBe(3);
    for (const key of keys) expect(key).not.toHaveProperty('d');
  });

  it('reports a failing payload as failed with its exit code', async () => {
    const { client, updates } = fakeClient([{ id: 'job-1', exec: 'echo oops >&2; exit 3', withSecrets: false }]);
    const { deps, lines } = pilotDeps(client);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(updates.at(-1)).toMatchObject({ state: 'failed', exitCode: 3 });
    expect(logOf(updates, 'job-1')).toBe('oops\n');
    expect(lines).toContain('job job-1: env secrets (none); secret files (none)');
  });

  it('fails a job whose bundle was sealed for another job, without running it', async () => {
    const { client, updates } = fakeClient([
      { id: 'job-1', exec: `touch ${join(workdir, 'ran')}`, bundleJobId: 'job-9' },
    ]);
    const { deps } = pilotDeps(client);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(existsSync(join(workdir, 'ran'))).toBe(false);
    expect(updates.at(-1)).toMatchObject({ state: 'failed', exitCode: null });
    expect(logOf(updates, 'job-1')).toMatch(/^panda-pilot: the job could not run: /);
  });

  it('with --once takes one job and stops, or says no job is queued', async () => {
    const { client, keys } = fakeClient([
      { id: 'job-1', exec: 'true' },
      { id: 'job-2', exec: 'true' },
    ]);
    const first = await runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir, once: true, exitWhenIdle: false });
    expect(first.jobs).toBe(1);
    expect(keys).toHaveLength(1);

    const idle = pilotDeps(fakeClient([]).client);
    expect(await runPilot(idle.deps, { ...OPTIONS, workdir, once: true, exitWhenIdle: false })).toEqual({
      jobs: 0,
      interruptedJob: false,
    });
    expect(idle.lines).toEqual(['no job is queued']);
  });

  it('stops after --max-jobs jobs', async () => {
    const { client } = fakeClient([
      { id: 'job-1', exec: 'true' },
      { id: 'job-2', exec: 'true' },
      { id: 'job-3', exec: 'true' },
    ]);
    expect((await runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir, maxJobs: 2 })).jobs).toBe(2);
  });

  it('polls while idle and retries when the server is briefly away, but not after an auth error', async () => {
    const controller = new AbortController();
    const unreachable = new PandaError('SERVER_UNREACHABLE', 'cannot reach http://127.0.0.1:1');
    const { client } = fakeClient([{ id: 'job-1', exec: 'true' }], [unreachable]);
    const { deps, sleeps, lines } = pilotDeps(client, {
      signal: controller.signal,
      sleep: async (ms, signal) => {
        // The poll's sleeps, not a running job's (which wait on the job's own signal).
        if (signal === controller.signal && ms === 2000) sleeps.push(ms);
        if (sleeps.length === 2) controller.abort('SIGTERM');
        await delay(Math.min(ms, 20), undefined, { signal }).catch(() => undefined);
      },
    });
    const summary = await runPilot(deps, { ...OPTIONS, workdir, exitWhenIdle: false, pollSeconds: 2 });
    expect(summary).toEqual({ jobs: 1, interruptedJob: false });
    expect(sleeps).toEqual([2000, 2000]);
    expect(lines[0]).toBe('cannot acquire jobs (cannot reach http://127.0.0.1:1); trying again in 2 s');

    const refused = fakeClient([], [new PandaError('AUTH_REFUSED', 'the token has expired')]);
    await expect(runPilot(pilotDeps(refused.client).deps, { ...OPTIONS, workdir })).rejects.toMatchObject({
      code: 'AUTH_REFUSED',
    });
  });

  it('kills the job when the pilot is stopped, removes its files and hands it back to the queue', async () => {
    const controller = new AbortController();
    const started = join(workdir, 'started');
    const { client, updates } = fakeClient([
      { id: 'job-1', exec: `ls; touch ${started}; sleep 60` },
      { id: 'job-2', exec: 'true' },
    ]);
    const workRoot = join(workdir, 'jobs');
    const { deps } = pilotDeps(client, { signal: controller.signal, killGraceMs: 100 });
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot });
    while (!existsSync(started)) await delay(20);
    controller.abort('SIGTERM');
    expect(await running).toEqual({ jobs: 1, interruptedJob: true });
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', state: 'released', exitCode: 143 });
    expect(logOf(updates, 'job-1')).toBe(
      'notes.txt\npanda-pilot: the pilot was stopped (SIGTERM); the job was killed and handed back to the queue\n',
    );
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('hands the job back also when the payload is killed by the same SIGTERM a moment before the pilot', async () => {
    // Slurm signals every process of the job at once: the payload may die before the pilot hears.
    const controller = new AbortController();
    const started = join(workdir, 'signalled');
    const { client, updates } = fakeClient([{ id: 'job-1', exec: `touch ${started}; kill -TERM $$` }]);
    const { deps } = pilotDeps(client, {
      signal: controller.signal,
      sleep: abortableSleep,
    });
    const running = runPilot(deps, { ...OPTIONS, workdir: join(workdir, 'jobs-signalled') });
    while (!existsSync(started)) await delay(10);
    await delay(200);
    controller.abort('SIGTERM');
    await running;
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', state: 'released', exitCode: 143 });
    expect(logOf(updates, 'job-1')).toContain(
      'panda-pilot: the pilot was stopped (SIGTERM); the job was killed and handed back to the queue\n',
    );
  });

  it('at start-up removes the job directories of supervisors that are gone, logging each, and keeps those of live ones', async () => {
    const dead = spawnSync('true').pid!;
    const live = `${process.pid} ${readFileSync(`/proc/${process.pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[19]}`;
    for (const [name, owner] of [
      ['job-stale-abc123', `${dead} 1`],
      ['job-live-def456', live],
    ] as const) {
      await mkdir(join(workdir, name));
      await writeFile(join(workdir, `${name}.owner`), `${owner}\n`);
      await writeFile(join(workdir, name, 'my_secret_file.dat'), 'left behind by a killed pilot');
    }
    const { deps, lines } = pilotDeps(fakeClient([]).client);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(lines).toEqual([
      `removed the job directory job-stale-abc123 left by a job supervisor that is gone (pid ${dead})`,
      'no job is queued',
    ]);
    expect((await readdir(workdir)).sort()).toEqual(['job-live-def456', 'job-live-def456.owner']);
  });

  it('while it polls, removes the job directories of supervisors that died since it started', async () => {
    const controller = new AbortController();
    const dead = spawnSync('true').pid!;
    const stale = join(workdir, 'job-later-abc123');
    const seen: string[][] = [];
    const { deps, lines } = pilotDeps(fakeClient([]).client, {
      signal: controller.signal,
      sleep: async () => {
        seen.push(await readdir(workdir));
        if (seen.length === 1) {
          // A supervisor killed with SIGKILL together with another pilot on this --workdir.
          await mkdir(stale);
          await writeFile(`${stale}.owner`, `${dead} 1\n`);
          await writeFile(join(stale, 'my_secret_file.dat'), 'left behind by a killed supervisor');
        } else {
          controller.abort('SIGTERM');
        }
      },
    });
    await runPilot(deps, { ...OPTIONS, workdir, exitWhenIdle: false });
    expect(seen).toEqual([[], []]);
    expect(lines).toEqual([
      `removed the job directory job-later-abc123 left by a job supervisor that is gone (pid ${dead})`,
    ]);
  });

  it('refuses to start on a work directory others can write to, before acquiring anything', async () => {
    const { client, keys } = fakeClient([{ id: 'job-1', exec: 'true' }]);
    await chmod(workdir, 0o777);
    await expect(runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir })).rejects.toMatchObject({ code: 'CONFIG' });
    expect(keys).toEqual([]);
  });

  it('after an update the server refuses for good, stops sending the log and keeps at most 1 MB of it', async () => {
    const { client } = fakeClient([
      { id: 'job-1', exec: 'head -c 3000000 /dev/zero | tr "\\0" x; sleep 0.3; echo end', withSecrets: false },
    ]);
    const logged: string[] = [];
    const refusing: PilotClient = {
      acquireJobs: client.acquireJobs,
      heartbeat: client.heartbeat,
      async updateJob(update) {
        if (update.log !== undefined && update.log !== '') {
          logged.push(update.log);
          throw new PandaError('FORBIDDEN', 'this job is not yours (any more)');
        }
        return client.updateJob(update);
      },
    };
    const { deps, lines } = pilotDeps(refusing);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(lines.filter((line) => line.includes('sending its log failed'))).toEqual([
      'job job-1: sending its log failed (this job is not yours (any more)); no more tries until the job ends, keeping at most 1048576 characters of it',
    ]);
    expect(lines).toContain('job job-1: reporting its end failed: this job is not yours (any more)');
    expect(logged).toHaveLength(2);
  });
});

describe('runPilot: leases, cancel and the end report', () => {
  const SLOW = (marker: string) => `touch ${marker}; sleep 30`;

  it('renews the lease by heartbeat while the payload runs', async () => {
    const { client, heartbeats, updates } = fakeClient(
      [{ id: 'job-1', exec: 'sleep 0.5', withSecrets: false }],
      [],
      0.3,
    );
    await runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir });
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(new Set(heartbeats.map((beat) => JSON.stringify(beat)))).toEqual(
      new Set([JSON.stringify({ jobId: 'job-1', claimId: 'claim-job-1' })]),
    );
    expect(updates.at(-1)).toMatchObject({ state: 'finished', exitCode: 0 });
  });

  it('stops a cancelled job at its heartbeat: payload killed, files removed, its last log sent', async () => {
    const started = join(workdir, 'started');
    const { client, updates, beats } = fakeClient([{ id: 'job-1', exec: `ls; ${SLOW(started)}` }], [], 0.3);
    const workRoot = join(workdir, 'jobs');
    const { deps, lines } = pilotDeps(client, { killGraceMs: 100 });
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot });
    while (!existsSync(started)) await delay(20);
    beats.push({ cancel: true });
    expect(await running).toEqual({ jobs: 1, interruptedJob: false });
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', state: 'failed', exitCode: 143 });
    expect(logOf(updates, 'job-1')).toBe('notes.txt\npanda-pilot: the job was cancelled by its owner; it was killed\n');
    expect(lines).toContain('job job-1: cancelled by its owner; stopping it');
    expect(lines).toContain('job job-1: cancelled, exit code 143');
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('stops a job that writes output at its next log upload, long before a heartbeat is due', async () => {
    const started = join(workdir, 'started-chatty');
    const { client, updates, heartbeats, cancelled } = fakeClient([
      { id: 'job-1', exec: `touch ${started}; while :; do echo tick; sleep 0.1; done`, withSecrets: false },
    ]);
    const workRoot = join(workdir, 'jobs-chatty');
    const { deps, lines } = pilotDeps(client, { killGraceMs: 100 });
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot });
    while (!existsSync(started)) await delay(20);
    const killedAt = Date.now();
    cancelled.add('job-1');
    await running;
    // The log goes up once a second; the first heartbeat (lease 300 s, --poll 5) would be 5 s away.
    expect(Date.now() - killedAt).toBeLessThan(4000);
    expect(heartbeats).toEqual([]);
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', state: 'failed', exitCode: 143 });
    expect(logOf(updates, 'job-1')).toMatch(
      /^(tick\n)+panda-pilot: the job was cancelled by its owner; it was killed\n$/,
    );
    expect(lines).toContain('job job-1: cancelled by its owner; stopping it');
    expect(lines).toContain('job job-1: cancelled, exit code 143');
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('asks about a job that writes no output every --poll seconds, and not while its log uploads answer', async () => {
    const started = join(workdir, 'started-silent');
    const silent = fakeClient([{ id: 'job-1', exec: `touch ${started}; sleep 30`, withSecrets: false }]);
    const workRoot = join(workdir, 'jobs-silent');
    // Real waits: the lease (300 s) alone would renew only every 100 s.
    const sleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }).catch(() => undefined);
    const { deps, lines } = pilotDeps(silent.client, { killGraceMs: 100, sleep });
    const running = runPilot(deps, { ...OPTIONS, pollSeconds: 1, workdir: workRoot });
    while (!existsSync(started)) await delay(20);
    const killedAt = Date.now();
    silent.beats.push({ cancel: true });
    await running;
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(silent.heartbeats.length).toBeGreaterThanOrEqual(1);
    expect(silent.updates.at(-1)).toMatchObject({ state: 'failed', exitCode: 143 });
    expect(lines).toContain('job job-1: cancelled, exit code 143');
    expect(await readdir(workRoot)).toEqual([]);

    // A job whose log goes up every second needs no heartbeat before its lease is due for renewal.
    const chatty = fakeClient([
      {
        id: 'job-2',
        exec: 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do echo $i; sleep 0.2; done',
        withSecrets: false,
      },
    ]);
    await runPilot(pilotDeps(chatty.client, { sleep }).deps, { ...OPTIONS, pollSeconds: 2, workdir: workRoot });
    expect(chatty.updates.at(-1)).toMatchObject({ state: 'finished', exitCode: 0 });
    expect(chatty.heartbeats).toEqual([]);
  });

  it('logs a job that ended by itself after its owner killed it as cancelled, as the server keeps it', async () => {
    const { client, updates, cancelled } = fakeClient([{ id: 'job-1', exec: 'true', withSecrets: false }]);
    cancelled.add('job-1');
    const { deps, lines } = pilotDeps(client);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(updates.at(-1)).toMatchObject({ state: 'finished', exitCode: 0 });
    expect(lines).toContain('job job-1: cancelled by its owner after its payload ended');
    expect(lines).toContain('job job-1: cancelled, exit code 0');
    expect(lines.filter((line) => line.includes('finished'))).toEqual([]);
  });

  it('stops a job whose attempt the server no longer holds, and reports nothing more of it', async () => {
    const started = join(workdir, 'started');
    const { client, updates, beats } = fakeClient([{ id: 'job-1', exec: SLOW(started) }], [], 0.3);
    const workRoot = join(workdir, 'jobs');
    const { deps, lines } = pilotDeps(client, { killGraceMs: 100 });
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot });
    while (!existsSync(started)) await delay(20);
    beats.push(new PandaError('FORBIDDEN', 'the lease of job "job-1" ran out: its attempt 1 is over'));
    await running;
    expect(updates.filter((update) => update.state !== 'running')).toEqual([]);
    expect(lines).toContain(
      'job job-1: the server no longer holds this attempt (the lease of job "job-1" ran out: its attempt 1 is over); stopping it',
    );
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('stops a job whose lease ran out while the server could not be reached, since the server may run it elsewhere', async () => {
    const started = join(workdir, 'started-unreachable');
    const { client, updates, beats } = fakeClient([{ id: 'job-1', exec: SLOW(started) }], [], 0.3);
    const workRoot = join(workdir, 'jobs-unreachable');
    const { deps, lines } = pilotDeps(client, { killGraceMs: 100 });
    beats.push(
      new PandaError('SERVER_UNREACHABLE', 'cannot reach panda-server at http://127.0.0.1:1 (connection refused)'),
    );
    await runPilot(deps, { ...OPTIONS, workdir: workRoot });
    expect(existsSync(started)).toBe(true);
    expect(lines).toContain(
      'job job-1: renewing its lease failed (cannot reach panda-server at http://127.0.0.1:1 (connection refused)); will retry',
    );
    expect(lines).toContain(
      'job job-1: its lease ran out while the server could not be reached (cannot reach panda-server at http://127.0.0.1:1 (connection refused)); stopping it',
    );
    expect(updates.filter((update) => update.state !== 'running')).toEqual([]);
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('keeps sending the end report while the server is away, until it takes it', async () => {
    const { client, updates } = fakeClient([{ id: 'job-1', exec: 'echo done', withSecrets: false }]);
    let refusals = 3;
    const flaky: PilotClient = {
      ...client,
      async updateJob(update) {
        if (update.state === 'finished' && refusals-- > 0)
          throw new PandaError('SERVER_UNREACHABLE', 'cannot reach http://127.0.0.1:1');
        return client.updateJob(update);
      },
    };
    const { deps, lines } = pilotDeps(flaky);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(updates.at(-1)).toMatchObject({ state: 'finished', exitCode: 0, log: 'done\n' });
    expect(lines.filter((line) => line.includes('reporting its end failed'))).toEqual(
      Array(3).fill(
        'job job-1: reporting its end failed (cannot reach http://127.0.0.1:1); trying again until its lease runs out',
      ),
    );
    expect(lines).toContain('job job-1: finished, exit code 0');
  });

  it('gives up the end report when the lease has run out, or at once when it is refused', async () => {
    const away = fakeClient([{ id: 'job-1', exec: 'true', withSecrets: false }], [], 0.5);
    const unreachable = new PandaError('SERVER_UNREACHABLE', 'cannot reach http://127.0.0.1:1');
    const down: PilotClient = {
      ...away.client,
      heartbeat: async () => {
        throw unreachable;
      },
      updateJob: async (update) => {
        if (update.state !== 'running') throw unreachable;
        return away.client.updateJob(update);
      },
    };
    const started = Date.now();
    const { deps, lines } = pilotDeps(down);
    await runPilot(deps, { ...OPTIONS, workdir });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(lines.at(-2)).toBe('job job-1: reporting its end failed: cannot reach http://127.0.0.1:1');

    const refusing = fakeClient([{ id: 'job-1', exec: 'true', withSecrets: false }]);
    const refused: PilotClient = {
      ...refusing.client,
      updateJob: async (update) => {
        if (update.state !== 'running') throw new PandaError('FORBIDDEN', 'not yours');
        return refusing.client.updateJob(update);
      },
    };
    const second = pilotDeps(refused);
    await runPilot(second.deps, { ...OPTIONS, workdir });
    expect(second.lines.filter((line) => line.includes('reporting its end failed'))).toEqual([
      'job job-1: reporting its end failed: not yours',
    ]);
  });
});

describe('runPilot --parallel', () => {
  /** A payload that says it started, in `dir`, then waits until `dir/go` exists. */
  const waiting = (dir: string, id: string) =>
    `ls; touch ${join(dir, `started-${id}`)}; until [ -e ${join(dir, 'go')} ]; do sleep 0.02; done`;
  const startedIn = async (dir: string) => (await readdir(dir)).filter((name) => name.startsWith('started-')).sort();
  const waitForStarted = async (dir: string, count: number) => {
    while ((await startedIn(dir)).length < count) await delay(20);
  };

  it('runs up to N jobs at once, each acquire asking for the free slots, each job in its own directory', async () => {
    const ids = ['job-1', 'job-2', 'job-3', 'job-4', 'job-5'];
    const { client, requested, updates } = fakeClient(ids.map((id) => ({ id, exec: waiting(workdir, id) })));
    const workRoot = join(workdir, 'jobs');
    const { deps, lines } = pilotDeps(client);
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot, parallel: 3 });
    await waitForStarted(workdir, 3);
    // Three run at once, each in a directory of its own with its own secret file; no fourth is taken.
    const dirs = (await readdir(workRoot)).filter((name) => !name.endsWith('.owner'));
    expect(dirs).toHaveLength(3);
    for (const dir of dirs) expect(await readdir(join(workRoot, dir))).toEqual(['notes.txt']);
    await delay(300);
    expect(await startedIn(workdir)).toEqual(['started-job-1', 'started-job-2', 'started-job-3']);
    expect(requested).toEqual([3]);
    await writeFile(join(workdir, 'go'), '');
    expect(await running).toEqual({ jobs: 5, interruptedJob: false });
    // Then the free slots: two jobs were left for them, and the last acquire found the queue empty.
    expect(requested.slice(0, 1)).toEqual([3]);
    expect(requested.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(5);
    for (const n of requested) expect(n).toBeLessThanOrEqual(3);
    for (const id of ids) {
      expect(updates.filter((update) => update.jobId === id && update.state === 'finished')).toHaveLength(1);
      expect(logOf(updates, id)).toBe('notes.txt\n');
    }
    expect(lines).toContain('no job is queued');
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('runs what a partial acquire hands out and asks for the rest of the slots next', async () => {
    const { client, requested, updates } = fakeClient([
      { id: 'job-1', exec: waiting(workdir, 'job-1') },
      { id: 'job-2', exec: waiting(workdir, 'job-2') },
    ]);
    const { deps, lines } = pilotDeps(client);
    const running = runPilot(deps, { ...OPTIONS, workdir: join(workdir, 'jobs'), parallel: 3 });
    await waitForStarted(workdir, 2);
    // The queue had two for three slots: the next acquire asked for the one slot left, found none,
    // and (--exit-when-idle) the pilot waits for its running jobs instead of taking more.
    while (requested.length < 2) await delay(20);
    expect(requested).toEqual([3, 1]);
    expect(lines).toContain('no job is queued');
    await writeFile(join(workdir, 'go'), '');
    expect(await running).toEqual({ jobs: 2, interruptedJob: false });
    expect(requested).toEqual([3, 1]);
    expect(
      updates
        .filter((update) => update.state === 'finished')
        .map((update) => update.jobId)
        .sort(),
    ).toEqual(['job-1', 'job-2']);
  });

  it('stops at --max-jobs even when more slots are free', async () => {
    const { client, requested } = fakeClient([
      { id: 'job-1', exec: 'true' },
      { id: 'job-2', exec: 'true' },
      { id: 'job-3', exec: 'true' },
    ]);
    expect(await runPilot(pilotDeps(client).deps, { ...OPTIONS, workdir, parallel: 4, maxJobs: 2 })).toEqual({
      jobs: 2,
      interruptedJob: false,
    });
    expect(requested).toEqual([2]);
  });

  it('on a stop signal stops every running job, hands each back and removes each directory', async () => {
    const controller = new AbortController();
    const ids = ['job-1', 'job-2', 'job-3'];
    const { client, updates } = fakeClient(ids.map((id) => ({ id, exec: `${waiting(workdir, id)}; sleep 60` })));
    const workRoot = join(workdir, 'jobs');
    const { deps, lines } = pilotDeps(client, { signal: controller.signal, killGraceMs: 100 });
    const running = runPilot(deps, { ...OPTIONS, workdir: workRoot, parallel: 3, exitWhenIdle: false });
    await waitForStarted(workdir, 3);
    controller.abort('SIGTERM');
    expect(await running).toEqual({ jobs: 3, interruptedJob: true });
    for (const id of ids) {
      expect(updates.filter((update) => update.jobId === id && update.state !== 'running')).toEqual([
        expect.objectContaining({ state: 'released', exitCode: 143 }),
      ]);
      expect(logOf(updates, id)).toBe(
        'notes.txt\npanda-pilot: the pilot was stopped (SIGTERM); the job was killed and handed back to the queue\n',
      );
      expect(lines).toContain(`job ${id}: handed back to the queue, exit code 143`);
    }
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('after an acquire the server refuses for good, lets the running jobs end and report, then fails', async () => {
    const refusal = new PandaError('AUTH_REFUSED', 'the token has expired');
    const { client, updates } = fakeClient([{ id: 'job-1', exec: waiting(workdir, 'job-1') }]);
    let acquires = 0;
    const refusing: PilotClient = {
      ...client,
      async acquireJobs(publicKey, nJobs) {
        acquires += 1;
        if (acquires === 2) throw refusal;
        return client.acquireJobs(publicKey, nJobs);
      },
    };
    const running = runPilot(pilotDeps(refusing).deps, { ...OPTIONS, workdir: join(workdir, 'jobs'), parallel: 2 });
    await waitForStarted(workdir, 1);
    while (acquires < 2) await delay(20);
    await writeFile(join(workdir, 'go'), '');
    await expect(running).rejects.toBe(refusal);
    expect(updates.at(-1)).toMatchObject({ jobId: 'job-1', state: 'finished', exitCode: 0 });
  });
});
