import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PandaClient } from '@panda-secrets/client';
import type { JobDetail } from '@panda-secrets/protocol';
import {
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

// pbook kill end to end: a real panda-server with its default lease (300 s, so a heartbeat every
// 100 s) and a real panda-pilot with its default --poll, running a job that writes nothing and
// one that writes all the time. Both must stop within seconds of the kill, not at a heartbeat.

/** Generous for a loaded 2-core machine; a kill used to wait for the heartbeat, up to 100 s. */
const STOP_WITHIN_MS = 15_000;
const SECRET = 'the-kill-s3cr3t-value';

let server: RunningServer;
let dir: string;
let userToken: string;

beforeAll(async () => {
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pilot-kill-e2e-'))]);
  userToken = await server.token('alice');
  const alice = userClient();
  await alice.setSecret('KILL_SECRET', SECRET);
  await alice.setSecret('___file___:notes.txt', Buffer.from('the kill secret file').toString('base64'));
}, 60_000);

afterAll(async () => {
  killMarkedProcesses();
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
});

function userClient(): PandaClient {
  return new PandaClient({ server: server.url, token: userToken });
}

async function submit(exec: string): Promise<{ taskId: number; jobId: string }> {
  const { taskId, jobs } = await userClient().submitJobs([
    { exec, outDS: 'user.alice.kill', secrets: ['KILL_SECRET', '___file___:notes.txt'] },
  ]);
  return { taskId, jobId: jobs[0]!.id };
}

async function jobOf(taskId: number): Promise<JobDetail> {
  return (await userClient().getTask(taskId)).jobs[0]!;
}

describe('pbook kill', () => {
  it('stops a running job within seconds, whether it writes output or not: payload killed, files removed, job cancelled', async () => {
    const workdir = join(dir, 'work');
    const marks = await mkdtemp(join(dir, 'marks-'));
    const silentMarker = newMarker();
    const chattyMarker = newMarker();
    const silent = await submit(`touch ${marks}/silent; sleep ${silentMarker}`);
    const chatty = await submit(
      `touch ${marks}/chatty; (while :; do echo "tick $KILL_SECRET"; sleep 0.2; done) & sleep ${chattyMarker}`,
    );
    // Both jobs at once on one pilot, each with its own lease and checks.
    const pilot = startCli('panda-pilot', [
      '--server',
      server.url,
      '--token-file',
      await server.tokenFile('pilot-kill', { role: 'pilot' }),
      '--workdir',
      workdir,
      '--parallel',
      '2',
      '--max-jobs',
      '2',
    ]);
    try {
      expect(
        await eventually(() => existsSync(join(marks, 'silent')) && existsSync(join(marks, 'chatty')), 60_000),
      ).toBe(true);
      expect(markedProcesses(silentMarker)).toHaveLength(1);
      expect(markedProcesses(chattyMarker)).toHaveLength(1);
      // Let the chatty job write a while, so that its log uploads are under way.
      expect(await eventually(async () => (await userClient().getJobLog(chatty.jobId)).log.includes('tick'))).toBe(
        true,
      );

      const stopped = async (taskId: number, marker: string) => {
        const job = await jobOf(taskId);
        return markedProcesses(marker).length === 0 && job.attempts[0]?.exitCode !== null;
      };
      const kill = async (taskId: number, marker: string): Promise<number> => {
        const result = await runCli('pbook', ['kill', String(taskId)], {
          env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: userToken }),
          timeoutMs: 60_000,
        });
        expect([result.code, result.stderr]).toEqual([
          0,
          `killed task ${taskId}: 1 job(s) cancelled (running ones are stopped by their pilot within seconds)\n`,
        ]);
        const killedAt = Date.now();
        expect(await eventually(() => stopped(taskId, marker), STOP_WITHIN_MS)).toBe(true);
        return Date.now() - killedAt;
      };
      const [silentMs, chattyMs] = await Promise.all([
        kill(silent.taskId, silentMarker),
        kill(chatty.taskId, chattyMarker),
      ]);
      expect(silentMs).toBeLessThan(STOP_WITHIN_MS);
      expect(chattyMs).toBeLessThan(STOP_WITHIN_MS);

      // The pilot ends by itself once both jobs have reported their ends: nothing of them is left.
      expect(await pilot.exited).toEqual({ code: 0, signal: null });
      expect(await readdir(workdir)).toEqual([]);
      for (const { taskId, jobId } of [silent, chatty]) {
        const job = await jobOf(taskId);
        expect([job.state, job.reason]).toEqual(['cancelled', 'killed by alice']);
        expect(job.attempts.map((attempt) => [attempt.outcome, attempt.exitCode])).toEqual([['cancelled', 143]]);
        expect(pilot.stderr()).toContain(`job ${jobId}: cancelled, exit code 143`);
      }
      expect(pilot.stderr()).not.toContain('finished');
      expect(pilot.stderr()).not.toContain(SECRET);

      const pilotNote = 'panda-pilot: the job was cancelled by its owner; it was killed\n';
      expect((await userClient().getJobLog(silent.jobId)).log).toBe(`\npanda-server: killed by alice\n${pilotNote}`);
      // What the chatty job wrote after the kill is what it wrote before its pilot learned of it
      // (about a second) and during the stop: a few lines, not a lease's worth.
      const chattyLog = (await userClient().getJobLog(chatty.jobId)).log;
      expect(chattyLog).toMatch(/^(tick \*\*\*\n)+\npanda-server: killed by alice\n(tick \*\*\*\n)*panda-pilot: /);
      expect(chattyLog.endsWith(pilotNote)).toBe(true);
      const afterKill = chattyLog.slice(chattyLog.indexOf('killed by alice')).match(/^tick /gm) ?? [];
      expect(afterKill.length).toBeLessThan(40);
    } finally {
      if (pilot.child.exitCode === null && pilot.child.signalCode === null) pilot.child.kill('SIGTERM');
      await pilot.exited;
    }
  }, 180_000);
});
