import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PandaClient } from '@panda-secrets/client';
import { importPilotPublicKey, sealBundle } from '@panda-secrets/crypto';
import { PandaError } from '@panda-secrets/protocol';
import { startServer } from '@panda-secrets/testkit';
import type { RunningServer } from '@panda-secrets/testkit';
import { createMasker } from './mask.js';
import { runPilot } from './pilot.js';
import type { PilotClient } from './pilot.js';
import { describeCrash, describeRunError, redactor } from './redact.js';
import { failure } from './supervisor.js';
import { memoryLog } from './testing/log.js';

// A value that cannot be delivered reaches the spawn, whose error (Node's ERR_INVALID_ARG_VALUE)
// quotes the environment. The server refuses such values now; this stands for one stored before,
// or any error text built from a payload's environment: none of it may reach a log.
const CANARY = 'undeliverable-canary-7f3a9c';
const UNDELIVERABLE = `nul\0${CANARY}`;
const OTHER = 'other-env-secret-5d81e2';

let server: RunningServer;
let workdir: string;

beforeAll(async () => {
  [server, workdir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pilot-redact-'))]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all(
    [server?.dataDir, workdir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
});

/** The real server's pilot calls, with the bundle of each job replaced by one holding the values given. */
function pilotClientSealing(real: PandaClient, env: Record<string, string>): PilotClient {
  return {
    async acquireJobs(publicKey, nJobs) {
      const acquired = await real.acquireJobs(publicKey, nJobs);
      const key = await importPilotPublicKey(publicKey);
      return Promise.all(
        acquired.map(async (job) => ({ ...job, bundle: await sealBundle(key, { jobId: job.job.id, env, files: {} }) })),
      );
    },
    updateJob: (update) => real.updateJob(update),
    heartbeat: (request) => real.heartbeat(request),
  };
}

describe("a spawn error quoting the job's environment", () => {
  it("reaches neither the pilot's log nor the job's log, nor the server's database file or WAL", async () => {
    const user = new PandaClient({ server: server.url, token: await server.token('alice') });
    const {
      jobs: [job],
    } = await user.submitJobs([{ exec: 'echo never runs', outDS: 'user.alice.redact', secrets: [] }]);
    const pilot = new PandaClient({ server: server.url, token: await server.token('pilot-1', { role: 'pilot' }) });
    const { log: pilotLog, jobLog, lines, written } = memoryLog();
    await runPilot(
      {
        client: pilotClientSealing(pilot, { OTHER, BAD: UNDELIVERABLE }),
        log: pilotLog,
        jobLog,
        payloadEnv: { PATH: process.env.PATH },
        signal: new AbortController().signal,
        sleep: async () => undefined,
      },
      { workdir, pollSeconds: 1, once: true, exitWhenIdle: true, keepWorkdir: false, verbose: false },
    );

    const log = await user.getJobLog(job!.id);
    expect(log.state).toBe('failed');
    // The job's supervisor refuses the variable by its name alone, before anything is spawned.
    const refusal =
      'the environment variable "BAD" holds a NUL character or its name an "=", which no process environment can carry';
    expect(log.log).toBe(`panda-pilot: the job could not run: ${refusal}\n`);
    expect(lines).toContain(`job ${job!.id}: could not run: ${refusal}`);
    const files = await readdir(server.dataDir);
    expect(files.some((name) => name.endsWith('-wal'))).toBe(true);
    for (const text of [...written, log.log]) {
      for (const part of [CANARY, OTHER]) expect(text).not.toContain(part);
    }
    for (const name of files) {
      const bytes = await readFile(join(server.dataDir, name));
      for (const part of [CANARY, OTHER]) expect(bytes.includes(part)).toBe(false);
    }
  }, 60_000);
});

describe('describeRunError', () => {
  it('keeps our own messages, names system errors by code and call, and drops any other message', () => {
    expect(describeRunError(new PandaError('INVALID_NAME', 'invalid secret file name "a/b"'))).toBe(
      'invalid secret file name "a/b"',
    );
    const e2big = Object.assign(new Error('spawn bash E2BIG'), { code: 'E2BIG', syscall: 'spawn bash', path: 'bash' });
    expect(describeRunError(e2big)).toBe('spawn bash: E2BIG');
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/w/job/f'"), {
      code: 'EACCES',
      syscall: 'open',
      path: '/w/job/f',
    });
    expect(describeRunError(eacces)).toBe('open /w/job/f: EACCES');
    const quoting = Object.assign(new TypeError(`Received '${UNDELIVERABLE}'`), { code: 'ERR_INVALID_ARG_VALUE' });
    expect(describeRunError(quoting)).not.toContain(CANARY);
    expect(describeRunError(new Error(CANARY))).not.toContain(CANARY);
  });
});

describe("the supervisor's failure report", () => {
  it('keeps our own messages and names any other error by code and call only, as the job log gets it', () => {
    expect(failure(new PandaError('INVALID_NAME', 'invalid secret file name "a/b"'))).toEqual({
      type: 'failed',
      code: 'INVALID_NAME',
      message: 'invalid secret file name "a/b"',
    });
    const eacces = Object.assign(new Error(`EACCES: permission denied, open '/w/job/f' ${CANARY}`), {
      code: 'EACCES',
      syscall: 'open',
      path: '/w/job/f',
    });
    expect(failure(eacces)).toEqual({ type: 'failed', code: 'CONFIG', message: 'open /w/job/f: EACCES' });
    const quoting = Object.assign(new TypeError(`Received '${UNDELIVERABLE}'`), { code: 'ERR_INVALID_ARG_VALUE' });
    for (const error of [quoting, new Error(CANARY), CANARY]) {
      const report = failure(error);
      expect(report).toMatchObject({ type: 'failed', code: 'CONFIG' });
      expect(JSON.stringify(report)).not.toContain(CANARY);
    }
  });
});

describe("the supervisor's crash report", () => {
  const ownRoot = join(import.meta.dirname, '..');

  it('tells the error class and where in our code it was thrown, never the message, whatever it holds', () => {
    let thrown: unknown;
    try {
      JSON.parse(`{"type":"run","job":{"env":{"TOKEN":"${CANARY}"}}`);
    } catch (error) {
      thrown = error;
    }
    const report = describeCrash(thrown, ownRoot);
    expect(report).toMatch(
      /^SyntaxError: an unexpected error \(its message is not shown: .*\) at src\/redact\.test\.ts:\d+$/,
    );
    expect(report).not.toContain(CANARY);
    // A message that looks like a frame is still the message.
    const forged = new TypeError(`x\n    at ${join(ownRoot, CANARY)}.js:1:1`);
    forged.stack = `TypeError: ${forged.message}\n    at node:internal/x:1:1`;
    expect(describeCrash(forged, ownRoot)).toBe(
      "TypeError: an unexpected error (its message is not shown: it may quote the job's environment)",
    );
    expect(describeCrash(CANARY, ownRoot)).not.toContain(CANARY);
    expect(describeCrash(new PandaError('CONFIG', 'our own words'), ownRoot)).toMatch(
      /^PandaError: our own words at src\//,
    );
  });

  it("is the last line of a supervisor that crashes, which exits 70 and quotes nothing of the job's line", async () => {
    const supervisor = spawn(process.execPath, [join(ownRoot, 'dist/supervisor-main.js')], {
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    });
    let out = '';
    (supervisor.stdio[3] as Readable).on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => supervisor.once('close', resolve));
    supervisor.stdin!.end(`{"type":"run","id":1,"job":{"env":{"TOKEN":"${CANARY}"}\n`);
    expect(await exited).toBe(70);
    expect(out).not.toContain(CANARY);
    expect(
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { type: 'crashed', error: expect.stringMatching(/^SyntaxError: .* at dist\/supervisor-main\.js:\d+$/) },
    ]);
  });
});

describe('redactor', () => {
  it("masks every form of the job's secrets in a whole text", () => {
    const redact = redactor(() => createMasker([OTHER]));
    expect(redact(`x ${OTHER} y ${JSON.stringify(OTHER)} ${Buffer.from(OTHER).toString('base64')}`)).toBe(
      'x *** y "***" ***',
    );
  });
});
