import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import type { ClientOptions } from '@panda-secrets/client';
import type { JobInfo, JobSpec, JobState } from '@panda-secrets/protocol';
import { main } from './program.js';
import type { ProgramDeps } from './program.js';
import type { PrunClient } from './prun.js';

const SECRETS: Record<string, string> = {
  MY_SECRET: 'random_string_value',
  MY_SECRET_DIC: '{"a_key": "a_value"}',
  '___file___:my_secret_file.dat': 'SDRzSUFCbWp3V0VBQSszVFRVN0RNQkE=',
};

interface FakeJob {
  /** The states getJob reports, one per call; the last one stays. */
  states: JobState[];
  exitCode: number | null;
  log: string;
}

const TASK_ID = 42;

/** A fake server that fails the test if a call it does not expect arrives. */
function fakeClient(jobs: FakeJob[] = [], secrets: Record<string, string> = SECRETS) {
  const calls: string[] = [];
  const submitted: JobSpec[][] = [];
  const infos: Array<{ spec: JobSpec; fake: FakeJob }> = [];
  let polls = 0;
  const info = (index: number, state: JobState): JobInfo => {
    const entry = infos[index]!;
    return {
      id: `job-${index + 1}`,
      owner: 'alice',
      taskId: TASK_ID,
      jobIndex: index + 1,
      spec: entry.spec,
      state,
      exitCode: state === 'finished' || state === 'failed' ? entry.fake.exitCode : null,
      attemptNr: state === 'queued' ? 0 : 1,
      maxAttempts: 3,
      reason: null,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };
  };
  const stateAt = (fake: FakeJob, poll: number): JobState => fake.states[Math.min(poll, fake.states.length - 1)]!;
  const client: PrunClient = {
    async getSecretsMetadata() {
      calls.push('getSecretsMetadata');
      return Object.entries(secrets).map(([key, value]) => ({
        key,
        size: Buffer.byteLength(value),
        updatedAt: '2026-01-01T00:00:00.000Z',
      }));
    },
    async submitJobs(specs) {
      submitted.push(specs);
      for (const [index, spec] of specs.entries()) {
        infos.push({ spec, fake: jobs[index] ?? { states: ['queued'], exitCode: null, log: '' } });
      }
      return { taskId: TASK_ID, jobs: specs.map((_, index) => info(index, 'queued')) };
    },
    async getTask(taskId) {
      calls.push(`getTask ${taskId}`);
      const poll = polls;
      polls += 1;
      const detailed = infos.map((entry, index) => ({ ...info(index, stateAt(entry.fake, poll)), attempts: [] }));
      return {
        task: {
          taskId,
          owner: 'alice',
          status: 'running',
          exec: '',
          outDS: '',
          nJobs: infos.length,
          jobsByState: { queued: 0, running: 0, finished: 0, failed: 0, cancelled: 0 },
          createdAt: '',
          updatedAt: '',
        },
        jobs: detailed,
      };
    },
    async getJobLog(id) {
      const { fake } = infos[Number(id.slice('job-'.length)) - 1]!;
      return { id, state: fake.states.at(-1)!, log: fake.log };
    },
  };
  return { client, calls, submitted };
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

interface FakeProcess {
  tty?: boolean;
  /** Press Ctrl-C during the n-th wait between two polls (from 1). */
  interruptAtSleep?: number;
}

async function prun(args: string[], client: PrunClient, { tty = false, interruptAtSleep }: FakeProcess = {}) {
  const handlers = new Set<() => void>();
  let sleeps = 0;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const connections: ClientOptions[] = [];
  const deps: ProgramDeps = {
    createClient: async (options) => {
      connections.push(options);
      return client;
    },
    readFile: async () => Buffer.from('user-token\n'),
    env: { PANDA_URL_SSL: 'http://127.0.0.1:1' },
    stdout,
    stderr,
    isTTY: { stdout: tty, stderr: tty },
    sleep: async () => {
      sleeps += 1;
      if (sleeps === interruptAtSleep) for (const handler of handlers) handler();
    },
    onInterrupt: (handler) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    pollMs: 1000,
  };
  const code = await main(['--token-file', '/t', ...args], deps, '0.1.0');
  return { code, stdout: out(), stderr: err(), connections, listening: handlers.size };
}

const JOB = ['--exec', 'python3 job.py', '--outDS', 'user.alice.test'];

function expectNoValues(...texts: string[]): void {
  for (const text of texts) for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
}

describe('prun secrets', () => {
  it('--useSecrets attaches the names of all secrets and never their values', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--useSecrets', '--json'], fake.client);
    expect(result.code).toBe(0);
    // Names and sizes only: no value is fetched.
    expect(fake.calls).toEqual(['getSecretsMetadata']);
    expect(fake.submitted).toEqual([
      [
        {
          exec: 'python3 job.py',
          outDS: 'user.alice.test',
          secrets: ['MY_SECRET', 'MY_SECRET_DIC', '___file___:my_secret_file.dat'],
        },
      ],
    ]);
    expect(JSON.parse(result.stdout)).toEqual({
      taskId: TASK_ID,
      jobs: [
        {
          jobIndex: 1,
          id: 'job-1',
          state: 'queued',
          outDS: 'user.alice.test',
          secrets: ['MY_SECRET', 'MY_SECRET_DIC', '___file___:my_secret_file.dat'],
          exitCode: null,
        },
      ],
    });
    expectNoValues(result.stdout, result.stderr, JSON.stringify(fake.submitted));
  });

  it('--secrets attaches only the names given, a file by its plain name, and fetches no value', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--secrets', 'my_secret_file.dat, MY_SECRET', '--nJobs', '2'], fake.client);
    expect(result.code).toBe(0);
    // Names and sizes only: no value is fetched, of these secrets or of any other.
    expect(fake.calls).toEqual(['getSecretsMetadata']);
    const secrets = ['___file___:my_secret_file.dat', 'MY_SECRET'];
    expect(fake.submitted[0]?.map((spec) => spec.secrets)).toEqual([secrets, secrets]);
  });

  it('--secrets fails with exit 3 before submitting when a secret does not exist', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--secrets', 'MY_SECRET,NOPE'], fake.client);
    expect(result).toMatchObject({
      code: 3,
      stdout: '',
      stderr:
        'prun: you have no secret "NOPE" (neither an env secret nor a secret file of that name); nothing was submitted\n',
    });
    expect(fake.submitted).toEqual([]);
  });

  it('--secrets refuses a name that can be no secret with exit 5', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--secrets', '../etc/passwd'], fake.client);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^prun: "..\/etc\/passwd" is neither a secret name/);
    expect(fake.calls).toEqual([]);
  });

  it('refuses with exit 5, before submitting, jobs whose env secrets together exceed what execve can carry, naming --secrets', async () => {
    const big = Object.fromEntries(Array.from({ length: 9 }, (_, index) => [`BIG_${index}`, 'b'.repeat(120_000)]));
    const fake = fakeClient([], { ...big, '___file___:large.bin': 'A'.repeat(1_300_000) });
    const result = await prun([...JOB, '--useSecrets'], fake.client);
    expect(result).toMatchObject({
      code: 5,
      stdout: '',
      stderr:
        "prun: the job's 9 env secrets take 1080135 bytes of its environment together; at most 1048576 bytes fit beside the payload's own environment: name fewer with --secrets, or store large values as secret files\n",
    });
    expect(fake.submitted).toEqual([]);
    const fewer = await prun(
      [...JOB, '--secrets', 'BIG_0,BIG_1,BIG_2,BIG_3,BIG_4,BIG_5,BIG_6,BIG_7,large.bin'],
      fake.client,
    );
    expect(fewer.code).toBe(0);
    expect(fake.submitted).toHaveLength(1);
  });

  it('without --useSecrets the jobs get no secrets and none are read', async () => {
    const fake = fakeClient();
    await prun(JOB, fake.client);
    expect(fake.calls).toEqual([]);
    expect(fake.submitted[0]?.[0]?.secrets).toEqual([]);
  });
});

describe('prun --noSubmit', () => {
  it('prints the spec readably, with secret names only, and submits nothing', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--useSecrets', '--noSubmit'], fake.client);
    expect(result.stdout).toBe(
      [
        'prun would submit 1 job(s):',
        '  exec:    python3 job.py',
        '  outDS:   user.alice.test',
        '  secrets: MY_SECRET, MY_SECRET_DIC, ___file___:my_secret_file.dat',
        '',
      ].join('\n'),
    );
    expect(fake.submitted).toEqual([]);
    expectNoValues(result.stdout, result.stderr);
  });

  it('prints the specs as JSON and needs no server without secrets', async () => {
    const fake = fakeClient();
    const result = await prun([...JOB, '--noSubmit', '--json', '--nJobs', '2'], fake.client);
    const spec = { exec: 'python3 job.py', outDS: 'user.alice.test', secrets: [] };
    expect(JSON.parse(result.stdout)).toEqual({ jobs: [spec, spec] });
    expect(result.connections).toEqual([]);
  });
});

describe('prun output', () => {
  it('prints the task id and its jobs as tab-separated rows when piped and a table on a terminal', async () => {
    const piped = await prun([...JOB, '--nJobs', '2'], fakeClient().client);
    expect(piped.stdout).toBe('42\t1\tjob-1\tqueued\tuser.alice.test\t\n42\t2\tjob-2\tqueued\tuser.alice.test\t\n');
    expect(piped.connections).toEqual([{ server: 'http://127.0.0.1:1', token: 'user-token' }]);
    const tty = await prun(JOB, fakeClient().client, { tty: true });
    expect(tty.stdout).toMatch(/Task ID.*Job.*Job ID.*State.*OutDS.*Secrets/);
    expect(tty.stdout).toMatch(/42.*1.*job-1.*queued.*user\.alice\.test/);
  });

  it('joins the secret names in rows and keeps them an array in JSON, also when there are none', async () => {
    const rows = await prun([...JOB, '--secrets', 'MY_SECRET,my_secret_file.dat'], fakeClient().client);
    expect(rows.stdout).toBe('42\t1\tjob-1\tqueued\tuser.alice.test\tMY_SECRET,___file___:my_secret_file.dat\n');
    const none = await prun([...JOB, '--json'], fakeClient().client);
    expect(JSON.parse(none.stdout)).toEqual({
      taskId: TASK_ID,
      jobs: [{ jobIndex: 1, id: 'job-1', state: 'queued', outDS: 'user.alice.test', secrets: [], exitCode: null }],
    });
  });
});

describe('prun --wait', () => {
  it('names the task and its job before waiting, follows it quietly when piped, prints its log and exits 0', async () => {
    const fake = fakeClient([{ states: ['queued', 'running', 'finished'], exitCode: 0, log: 'MY_SECRET is ***\n' }]);
    const result = await prun([...JOB, '--useSecrets', '--wait'], fake.client);
    expect(result).toMatchObject({
      code: 0,
      stdout: 'MY_SECRET is ***\n',
      stderr: 'prun: submitted task 42: job 1 job-1\n',
    });
    expect(fake.calls.filter((call) => call.startsWith('getTask'))).toEqual(['getTask 42', 'getTask 42', 'getTask 42']);
    expect(result.listening).toBe(0);
  });

  it('shows a progress line on a terminal and clears it', async () => {
    const fake = fakeClient([{ states: ['running', 'finished'], exitCode: 0, log: 'done\n' }]);
    const result = await prun([...JOB, '--wait'], fake.client, { tty: true });
    expect(result.stderr).toBe(
      'prun: submitted task 42: job 1 job-1\n\r\x1b[K| waiting for 1 of 1 job(s): 1 running\r\x1b[K',
    );
    expect(result.stdout).toBe('done\n');
  });

  it.each([
    [[{ states: ['failed'], exitCode: 7, log: 'log\n' }], 7, ['job 1 (job-1) failed, exit code 7']],
    [[{ states: ['failed'], exitCode: null, log: 'log\n' }], 1, ['job 1 (job-1) failed, no exit code']],
    [[{ states: ['cancelled'], exitCode: null, log: '' }], 1, ['job 1 (job-1) cancelled, no exit code']],
    [
      [
        { states: ['finished'], exitCode: 0, log: '' },
        { states: ['failed'], exitCode: 137, log: '' },
        { states: ['finished'], exitCode: 2, log: '' },
      ],
      137,
      ['job 2 (job-2) failed, exit code 137', 'job 3 (job-3) finished, exit code 2'],
    ],
  ] as Array<
    [FakeJob[], number, string[]]
  >)("exits with the jobs' status and says on stderr how each failed one ended (%#)", async (jobs, status, ends) => {
    const result = await prun([...JOB, '--wait', '--nJobs', String(jobs.length)], fakeClient(jobs).client);
    expect(result.code).toBe(status);
    const submittedLine = `prun: submitted task 42: ${jobs.map((_, index) => `job ${index + 1} job-${index + 1}`).join(', ')}\n`;
    expect(result.stderr).toBe(submittedLine + ends.map((end) => `prun: ${end}\n`).join(''));
    expect(result.stdout).not.toContain('prun:');
    const json = await prun([...JOB, '--wait', '--nJobs', String(jobs.length), '--json'], fakeClient(jobs).client);
    expect([json.code, json.stderr]).toEqual([status, result.stderr]);
  });

  it("prints each job's log under a header when there are several, or JSON with the task id", async () => {
    const jobs: FakeJob[] = [
      { states: ['finished'], exitCode: 0, log: 'one\n' },
      { states: ['failed'], exitCode: 3, log: 'two\n' },
    ];
    const plain = await prun([...JOB, '--wait', '--nJobs', '2'], fakeClient(jobs).client);
    expect(plain.stdout).toBe(
      '== job 1 (job-1): finished, exit code 0\none\n== job 2 (job-2): failed, exit code 3\ntwo\n',
    );
    expect(plain.stderr).toBe(
      'prun: submitted task 42: job 1 job-1, job 2 job-2\nprun: job 2 (job-2) failed, exit code 3\n',
    );
    const json = await prun([...JOB, '--wait', '--nJobs', '2', '--json'], fakeClient(jobs).client);
    const job = { outDS: 'user.alice.test', secrets: [] };
    expect(JSON.parse(json.stdout)).toEqual({
      taskId: TASK_ID,
      jobs: [
        { jobIndex: 1, id: 'job-1', state: 'finished', ...job, exitCode: 0, log: 'one\n' },
        { jobIndex: 2, id: 'job-2', state: 'failed', ...job, exitCode: 3, log: 'two\n' },
      ],
    });
  });

  it.each([
    [1, 'pbook log 42 --follow'],
    [2, 'pbook log 42 JOB --follow'],
  ])('on Ctrl-C with %i job(s) stops waiting, says how to follow the task, and exits 130', async (nJobs, follow) => {
    const fake = fakeClient([
      { states: ['running'], exitCode: null, log: '' },
      { states: ['queued'], exitCode: null, log: '' },
    ]);
    const result = await prun([...JOB, '--wait', '--nJobs', String(nJobs)], fake.client, {
      tty: true,
      interruptAtSleep: 2,
    });
    expect(result.code).toBe(130);
    expect(result.stdout).toBe('');
    expect(
      result.stderr.endsWith(
        `\r\x1b[Kprun: stopped waiting; task 42 keeps running. Follow it with "pbook show 42" and "${follow}"\n`,
      ),
    ).toBe(true);
    expect(fake.calls.filter((call) => call.startsWith('getTask'))).toHaveLength(2);
    expect(result.listening).toBe(0);
  });
});

describe('prun command line', () => {
  it.each([
    [['--outDS', 'x'], /Missing required argument: exec/],
    [[...JOB, '--nJobs', '0'], /--nJobs must be a whole number of at least 1/],
    [[...JOB, '--secrets', ' , '], /--secrets needs one or more secret names/],
  ])('refuses %j with exit 2', async (args, message) => {
    const result = await prun(args, fakeClient().client);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it.each([
    [''],
    ['user.alice test'],
    ['x'.repeat(256)],
  ])('refuses --outDS %j with exit 5 before anything is sent or printed', async (outDS) => {
    const fake = fakeClient();
    const result = await prun(['--exec', 'x', '--outDS', outDS, '--useSecrets', '--noSubmit'], fake.client);
    expect(result).toMatchObject({ code: 5, stdout: '', connections: [] });
    expect(result.stderr).toMatch(
      /^prun: invalid output dataset name ".*": use 1 to 255 letters, digits or '\.', '_', ':', '\/', '-' \(for example user\.jdoe\.test\)\n$/,
    );
    expect([fake.calls, fake.submitted]).toEqual([[], []]);
  });

  it('states the most jobs one submission may hold before anything is sent (exit 5)', async () => {
    const fake = fakeClient();
    const { code, stdout, stderr, connections } = await prun([...JOB, '--nJobs', '1001'], fake.client);
    const refusal =
      'prun: --nJobs 1001 is more than one submission may hold: at most 1000 jobs (submit the rest with another prun)\n';
    expect([code, stdout, stderr, connections, fake.calls, fake.submitted]).toEqual([5, '', refusal, [], [], []]);
    expect((await prun([...JOB, '--nJobs', '1000', '--noSubmit', '--json'], fakeClient().client)).code).toBe(0);
  });

  it('exits 4 without a token', async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const err = collect(stderr);
    const code = await main(
      JOB,
      {
        createClient: async () => fakeClient().client,
        readFile: async () => Buffer.from(''),
        env: {},
        stdout,
        stderr,
        isTTY: { stdout: false, stderr: false },
        sleep: async () => undefined,
        onInterrupt: () => () => undefined,
        pollMs: 1,
      },
      '0.1.0',
    );
    expect(code).toBe(4);
    expect(err()).toMatch(/^prun: no token/);
  });
});
