import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { PandaClient } from '@panda-secrets/client';
import { generatePilotKeyPair, openBundle } from '@panda-secrets/crypto';
import type { JobInfo } from '@panda-secrets/protocol';
import {
  cleanEnv,
  describeAsRoot,
  eventually,
  killMarkedProcesses,
  markedProcesses,
  newMarker,
  runCli,
  startCli,
  startServer,
} from '@panda-secrets/testkit';
import type { CliResult, RunningServer } from '@panda-secrets/testkit';

// End-to-end: the built prun and panda-pilot as child processes against a real panda-server.

let server: RunningServer;
let dir: string;
let userToken: string;
const pilotTokenFiles = new Map<string, string>();
/** Everything that must never hold a secret value: the pilots' own logs and prun's outputs. */
const pilotLogs: string[] = [];
const prunOutputs: string[] = [];
const jobIds: string[] = [];

const SEED_FILE = Buffer.concat([Buffer.from('seed file line\n'), Buffer.from([0, 1, 2, 0x1f, 0x8b, 253, 254, 255])]);
const TRICKY = `it's "$(touch pwned)" \`touch pwned\` $HOME \\ \\n ;touch pwned\nzweite Zeile\r\n€ 😀 ünïcödé`;
const ONE = `one-line-s3cr3t-${randomBytes(6).toString('hex')}`;
const MULTI = `first line of the multi ${randomBytes(4).toString('hex')}\nsecond line 2nd\nthird line`;
const SECRETS: Record<string, string> = {
  MY_SECRET: 'random_string',
  MY_SECRET_DIC: JSON.stringify({ a_key: 'a_value' }).replace(':', ': '),
  TRICKY,
  ONE,
  MULTI,
  '___file___:my_secret_file.dat': SEED_FILE.toString('base64'),
};

beforeAll(async () => {
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pilot-e2e-'))]);
  userToken = await server.token('alice');
  const alice = userClient();
  for (const [key, value] of Object.entries(SECRETS)) await alice.setSecret(key, value);
}, 60_000);

afterAll(async () => {
  killMarkedProcesses();
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir, ...[...pilotTokenFiles.values()].map((file) => join(file, '..'))].map(
      (path) => path !== undefined && rm(path, { recursive: true, force: true }),
    ),
  );
});

function userClient(): PandaClient {
  return new PandaClient({ server: server.url, token: userToken });
}

async function pilotTokenFile(name: string): Promise<string> {
  let file = pilotTokenFiles.get(name);
  if (file === undefined) {
    file = await server.tokenFile(name, { role: 'pilot' });
    pilotTokenFiles.set(name, file);
  }
  return file;
}

async function pilotClient(name: string): Promise<PandaClient> {
  return new PandaClient({ server: server.url, token: (await readFile(await pilotTokenFile(name), 'utf8')).trim() });
}

async function prun(args: string[]): Promise<CliResult> {
  const result = await runCli('prun', args, {
    env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: userToken }),
    cwd: dir,
    timeoutMs: 60_000,
  });
  prunOutputs.push(result.stdout, result.stderr);
  return result;
}

async function pilotArgs(name: string, workdir: string, extra: string[]): Promise<string[]> {
  return [
    '--server',
    server.url,
    '--token-file',
    await pilotTokenFile(name),
    '--workdir',
    workdir,
    '--poll',
    '0.2',
    ...extra,
  ];
}

async function pilot(name: string, workdir: string, extra: string[]): Promise<CliResult> {
  const result = await runCli('panda-pilot', await pilotArgs(name, workdir, extra), {
    env: cleanEnv(),
    cwd: dir,
    timeoutMs: 90_000,
  });
  pilotLogs.push(result.stderr);
  return result;
}

interface JobRun {
  prun: CliResult;
  pilot: CliResult;
  workdir: string;
}

/** Submits one job with `prun --wait` while a pilot runs exactly one job. */
async function runJob(exec: string, prunArgs: string[]): Promise<JobRun> {
  const workdir = await mkdtemp(join(dir, 'work-'));
  const [pilotResult, prunResult] = await Promise.all([
    pilot('pilot-a', workdir, ['--max-jobs', '1']),
    prun(['--exec', exec, '--outDS', 'user.alice.e2e', '--wait', ...prunArgs]),
  ]);
  return { prun: prunResult, pilot: pilotResult, workdir };
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** What the seed payloads print when every secret arrived byte-exact. */
const SEED_REPORT = [
  `MY_SECRET ${sha256(SECRETS.MY_SECRET!)}`,
  `MY_SECRET_DIC ${sha256(SECRETS.MY_SECRET_DIC!)} True`,
  `my_secret_file.dat ${sha256(SEED_FILE)} 0o600 True`,
  `TRICKY ${sha256(TRICKY)}`,
  "files ['my_secret_file.dat']",
  '',
].join('\n');

// The seed's snippet, completed: it reads the three secrets the way the documentation shows and
// reports digests (and the file's mode and place), so the test compares bytes without printing them.
const SEED_PYTHON = `
import hashlib
import os
import json
# using an ordinary secret
my_secret = os.environ['MY_SECRET']
# using a dictionary secret
dict_secret = json.loads(os.environ['MY_SECRET_DIC'])
# using a secret file
with open('my_secret_file.dat', 'rb') as f:
    file_bytes = f.read()

digest = lambda data: hashlib.sha256(data).hexdigest()
print('MY_SECRET', digest(my_secret.encode()))
print('MY_SECRET_DIC', digest(os.environb[b'MY_SECRET_DIC']), dict_secret == {'a_key': 'a_value'})
in_cwd = os.path.realpath('my_secret_file.dat') == os.path.join(os.path.realpath(os.getcwd()), 'my_secret_file.dat')
print('my_secret_file.dat', digest(file_bytes), oct(os.stat('my_secret_file.dat').st_mode & 0o777), in_cwd)
print('TRICKY', digest(os.environb[b'TRICKY']))
print('files', sorted(os.listdir('.')))
`;

const SEED_NODE = `
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
const digest = (data) => createHash('sha256').update(data).digest('hex');
const mySecret = process.env.MY_SECRET;
const dictSecret = JSON.parse(process.env.MY_SECRET_DIC);
const fileBytes = readFileSync('my_secret_file.dat');
const inCwd = realpathSync('my_secret_file.dat') === join(realpathSync(process.cwd()), 'my_secret_file.dat');
const mode = '0o' + (statSync('my_secret_file.dat').mode & 0o777).toString(8);
const sameDict = JSON.stringify(dictSecret) === JSON.stringify({ a_key: 'a_value' });
console.log('MY_SECRET', digest(mySecret));
console.log('MY_SECRET_DIC', digest(process.env.MY_SECRET_DIC), sameDict ? 'True' : 'False');
console.log('my_secret_file.dat', digest(fileBytes), mode, inCwd ? 'True' : 'False');
console.log('TRICKY', digest(process.env.TRICKY));
console.log('files', '[' + readdirSync('.').sort().map((name) => "'" + name + "'").join(', ') + ']');
`;

describe("the seed's snippet as the payload", () => {
  it.each([
    ['python3', 'seed.py', SEED_PYTHON],
    ['node', 'seed.mjs', SEED_NODE],
  ])('%s finds all secrets byte-exact, the file 0600 in its working directory, and runs nothing', async (runtime, name, source) => {
    const script = join(dir, name);
    await writeFile(script, source);
    const run = await runJob(`${runtime} ${script}`, ['--useSecrets']);
    expect(run.prun.stdout).toBe(SEED_REPORT);
    expect(run.prun.code).toBe(0);
    expect(run.pilot.code).toBe(0);
    expect(run.pilot.stderr).toMatch(
      /job \S+: env secrets MULTI, MY_SECRET, MY_SECRET_DIC, ONE, TRICKY; secret files my_secret_file.dat\n/,
    );
    expect(run.pilot.stderr).toMatch(/job \S+: finished, exit code 0\n/);
    expect(await readdir(run.workdir)).toEqual([]);
    for (const where of [dir, run.workdir]) expect(existsSync(join(where, 'pwned'))).toBe(false);
  });
});

describe('masking', () => {
  it('shows *** wherever the payload printed a secret, in every form', async () => {
    const exec = [
      'echo "one: $ONE"',
      'echo "multi: $MULTI"',
      'echo "line: $(printf "%s\\n" "$MULTI" | sed -n 2p)"',
      'python3 -c \'import json, os; print("json:", json.dumps(os.environ["TRICKY"]))\'',
      'node -e \'console.log("js:", JSON.stringify(process.env.MULTI))\'',
      'echo "b64: $(printf %s "$ONE" | base64 -w0)"',
      'printf "halves: %s" "${ONE:0:8}"; sleep 0.3; printf "%s\\n" "${ONE:8}"',
      'echo "short stays: $(printf %s "$ONE" | cut -c1-3)"',
    ].join('\n');
    const run = await runJob(exec, ['--secrets', 'ONE,MULTI,TRICKY', '--json']);
    const expected =
      'one: ***\nmulti: ***\nline: ***\njson: "***"\njs: "***"\nb64: ***\nhalves: ***\nshort stays: one\n';
    const [job] = (
      JSON.parse(run.prun.stdout) as { jobs: Array<{ id: string; state: string; exitCode: number; log: string }> }
    ).jobs;
    expect(job).toMatchObject({ state: 'finished', exitCode: 0, log: expected });
    expect((await userClient().getJobLog(job!.id)).log).toBe(expected);
    jobIds.push(job!.id);
  });
});

describe('which secrets a job gets', () => {
  const exec = 'env | grep -oE "^(MY_SECRET|MY_SECRET_DIC|TRICKY|ONE|MULTI)=" | sort; LC_ALL=C ls -A';

  it('without --useSecrets: none', async () => {
    const run = await runJob(exec, []);
    expect(run.prun.stdout).toBe('');
    expect(run.prun.code).toBe(0);
    expect(run.pilot.stderr).toMatch(/env secrets \(none\); secret files \(none\)/);
  });

  it('with --secrets: only those named, a file by its plain name', async () => {
    const run = await runJob(exec, ['--secrets', 'MY_SECRET,my_secret_file.dat']);
    expect(run.prun.stdout).toBe('MY_SECRET=\nmy_secret_file.dat\n');
    expect(run.prun.code).toBe(0);
  });

  it('with --secrets naming a secret that does not exist: nothing is submitted, exit 3', async () => {
    const result = await prun(['--exec', 'true', '--outDS', 'user.alice.e2e', '--secrets', 'MY_SECRET,NOT_THERE']);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      'prun: you have no secret "NOT_THERE" (neither an env secret nor a secret file of that name); nothing was submitted\n',
    );
    expect(await pilotClient('pilot-a').then((client) => acquireAll(client))).toEqual([]);
  });
});

async function acquireAll(client: PandaClient): Promise<string[]> {
  const { publicJwk } = await generatePilotKeyPair();
  return (await client.acquireJobs(publicJwk as Record<string, unknown>, 10)).map((acquired) => acquired.job.id);
}

describe('the job spec and --noSubmit', () => {
  it('--noSubmit prints names only, readable and as JSON', async () => {
    const readable = await prun(['--exec', 'true', '--outDS', 'user.alice.e2e', '--useSecrets', '--noSubmit']);
    expect(readable.stdout).toBe(
      [
        'prun would submit 1 job(s):',
        '  exec:    true',
        '  outDS:   user.alice.e2e',
        '  secrets: MULTI, MY_SECRET, MY_SECRET_DIC, ONE, TRICKY, ___file___:my_secret_file.dat',
        '',
      ].join('\n'),
    );
    const json = await prun(['--exec', 'true', '--outDS', 'user.alice.e2e', '--useSecrets', '--noSubmit', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      jobs: [
        {
          exec: 'true',
          outDS: 'user.alice.e2e',
          secrets: ['MULTI', 'MY_SECRET', 'MY_SECRET_DIC', 'ONE', 'TRICKY', '___file___:my_secret_file.dat'],
        },
      ],
    });
  });

  it('the stored spec holds the names of the secrets, never a value', async () => {
    const submitted = await prun(['--exec', 'true', '--outDS', 'user.alice.e2e', '--useSecrets', '--json']);
    const [row] = (JSON.parse(submitted.stdout) as { jobs: Array<{ id: string }> }).jobs;
    const job = await userClient().getJob(row!.id);
    expect(job.spec.secrets).toEqual([
      'MULTI',
      'MY_SECRET',
      'MY_SECRET_DIC',
      'ONE',
      'TRICKY',
      '___file___:my_secret_file.dat',
    ]);
    jobIds.push(job.id);
    const run = await pilot('pilot-a', await mkdtemp(join(dir, 'work-')), ['--once']);
    expect(run.code).toBe(0);
    expect((await userClient().getJob(job.id)).state).toBe('finished');
  });
});

describe('the secret files', () => {
  it('are gone after a payload killed with SIGKILL, which fails with 137', async () => {
    const run = await runJob('ls -l my_secret_file.dat | cut -c1-10; kill -KILL $$', [
      '--secrets',
      'my_secret_file.dat',
    ]);
    expect(run.prun.stdout).toBe('-rw-------\n');
    expect(run.prun.code).toBe(137);
    expect(run.pilot.stderr).toMatch(/job \S+: failed, exit code 137\n/);
    expect(await readdir(run.workdir)).toEqual([]);
  });

  it('are gone when the pilot gets SIGTERM mid-job, which fails the job and kills the payload', async () => {
    const workdir = await mkdtemp(join(dir, 'work-'));
    const marks = await mkdtemp(join(dir, 'marks-'));
    const marker = newMarker();
    const submitted = await prun([
      '--exec',
      `LC_ALL=C ls -A > ${marks}/listing; setsid -f sleep ${marker}; sleep ${marker} & touch ${marks}/started; wait`,
      '--outDS',
      'user.alice.e2e',
      '--secrets',
      'MY_SECRET,my_secret_file.dat',
      '--json',
    ]);
    const [row] = (JSON.parse(submitted.stdout) as { jobs: Array<{ id: string }> }).jobs;
    const pilot = startCli('panda-pilot', await pilotArgs('pilot-a', workdir, []));
    while (!existsSync(join(marks, 'started'))) await delay(50);
    expect(await readFile(join(marks, 'listing'), 'utf8')).toBe('my_secret_file.dat\n');
    pilot.child.kill('SIGTERM');
    expect(await pilot.exited).toEqual({ code: 1, signal: null });
    pilotLogs.push(pilot.stderr());
    expect(await readdir(workdir)).toEqual([]);
    const { taskId } = await userClient().getJob(row!.id);
    try {
      await expectHandedBack(row!.id, 'SIGTERM');
    } finally {
      // The job handed back must not reach the pilots of later tests.
      await userClient()
        .killTask(taskId)
        .catch(() => undefined);
    }
    expect(pilot.stderr()).toMatch(/stopped by SIGTERM after 1 job\(s\)\n$/);
    expect(markedProcesses(marker)).toEqual([]);
  });
});

/** Checks that a pilot stopped by `signal` handed the job back as a new attempt (not a failure). */
async function expectHandedBack(jobId: string, signal: string): Promise<void> {
  const job = await userClient().getJob(jobId);
  expect(job).toMatchObject({ state: 'queued', attemptNr: 1, exitCode: null, reason: null });
  expect((await userClient().getJobLog(jobId)).log).toBe(
    `panda-pilot: the pilot was stopped (${signal}); the job was killed and handed back to the queue\n` +
      '\npanda-server: attempt 1 of 3 ended released: pilot pilot-a was stopped and handed the job back; the job is queued again\n',
  );
  const { jobs } = await userClient().getTask(job.taskId);
  expect(jobs.find((entry) => entry.id === jobId)?.attempts).toMatchObject([
    { attemptNr: 1, outcome: 'released', exitCode: 143 },
  ]);
}

describe('the other signals that would end the pilot', () => {
  const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGXCPU'] as const;

  it(`stop it like SIGTERM (${SIGNALS.join(', ')}): the payload is killed, its files removed, the job handed back`, async () => {
    const marks = await mkdtemp(join(dir, 'marks-'));
    const marker = newMarker();
    // Each pilot has a work directory of its own, the parent of its payload's: each payload marks its own pilot.
    const exec = `setsid -f sleep ${marker}; sleep ${marker} & touch ${marks}/started.$(basename "$(dirname "$PWD")"); wait`;
    const submitted = await prun([
      '--exec',
      exec,
      '--outDS',
      'user.alice.e2e',
      '--secrets',
      'MY_SECRET,my_secret_file.dat',
      '--nJobs',
      String(SIGNALS.length),
      '--json',
    ]);
    expect(submitted.code).toBe(0);
    const pilots = await Promise.all(
      SIGNALS.map(async (signal) => {
        const workdir = await mkdtemp(join(dir, 'work-'));
        const pilot = startCli('panda-pilot', await pilotArgs('pilot-a', workdir, ['--max-jobs', '1']));
        return { ...pilot, signal, workdir, name: basename(workdir) };
      }),
    );
    const { taskId } = JSON.parse(submitted.stdout) as { taskId: number };
    try {
      // Every pilot holds its job before any is stopped, so no job handed back goes to another of them.
      for (const pilot of pilots) {
        while (!existsSync(join(marks, `started.${pilot.name}`))) await delay(50);
      }
      for (const pilot of pilots) pilot.child.kill(pilot.signal);
      for (const pilot of pilots) {
        expect(await pilot.exited).toEqual({ code: 1, signal: null });
        pilotLogs.push(pilot.stderr());
        expect(pilot.stderr()).toMatch(new RegExp(`stopped by ${pilot.signal} after 1 job\\(s\\)\\n$`));
        expect(await readdir(pilot.workdir)).toEqual([]);
        const [, jobId] = /job (\S+): acquired/.exec(pilot.stderr()) ?? [];
        await expectHandedBack(jobId!, pilot.signal);
      }
    } finally {
      // The jobs handed back must not reach the pilots of later tests.
      await userClient()
        .killTask(taskId)
        .catch(() => undefined);
    }
    expect(markedProcesses(marker)).toEqual([]);
  }, 60_000);
});

describe('a pilot killed with SIGKILL mid-job', () => {
  it('leaves neither its payload running nor its secret files on disk, a few seconds later, without another pilot', async () => {
    const workdir = await mkdtemp(join(dir, 'work-'));
    const marks = await mkdtemp(join(dir, 'marks-'));
    const marker = newMarker();
    await prun([
      '--exec',
      `setsid -f sleep ${marker}; touch ${marks}/started; sleep ${marker}`,
      '--outDS',
      'user.alice.e2e',
      '--secrets',
      'my_secret_file.dat',
      '--json',
    ]);
    const pilot = startCli('panda-pilot', await pilotArgs('pilot-a', workdir, ['--max-jobs', '1']));
    while (!existsSync(join(marks, 'started'))) await delay(50);
    expect(markedProcesses(marker)).toHaveLength(2);
    pilot.child.kill('SIGKILL');
    await pilot.exited;
    expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
    expect(await eventually(async () => (await readdir(workdir)).length === 0)).toBe(true);
  });
});

describeAsRoot('--run-as', () => {
  /** Reports what the payload can reach, without printing any of it. */
  const PROBE = [
    'id -u',
    // The pilot's environment holds its token (PANDA_AUTH_ID_TOKEN): is any process with it in sight?
    'grep -qs PANDA_AUTH_ID_TOKEN /proc/[0-9]*/environ && echo "pilot environment readable" || echo "pilot environment out of reach"',
    // Read, the token file gives its token; covered, nothing (or an error).
    '[ "$(cat "$TOKEN_FILE" 2>/dev/null | wc -c)" -gt 0 ] && echo "token file readable" || echo "token file refused"',
    'stat -c "%U %a %n" . my_secret_file.dat',
    'sha256sum < my_secret_file.dat | cut -c1-64',
  ].join('; ');

  /** One job of PROBE under a pilot that reads its token from --token-file and has it in its environment too, as PANDA_AUTH_ID_TOKEN. */
  async function probe(extra: string[]): Promise<{ prun: CliResult; pilot: CliResult; workdir: string }> {
    const root = await mkdtemp(join(tmpdir(), 'pilot-run-as-'));
    await chmod(root, 0o711);
    const workdir = join(root, 'work');
    const tokenFile = await pilotTokenFile('pilot-a');
    const exec = `TOKEN_FILE=${tokenFile}; ${PROBE}`;
    const [pilotResult, prunResult] = await Promise.all([
      runCli(
        'panda-pilot',
        [
          '--server',
          server.url,
          '--token-file',
          tokenFile,
          '--workdir',
          workdir,
          '--poll',
          '0.2',
          '--max-jobs',
          '1',
          ...extra,
        ],
        {
          env: cleanEnv({ PANDA_AUTH_ID_TOKEN: (await readFile(tokenFile, 'utf8')).trim() }),
          cwd: dir,
          timeoutMs: 60_000,
        },
      ),
      prun(['--exec', exec, '--outDS', 'user.alice.e2e', '--secrets', 'my_secret_file.dat', '--wait']),
    ]);
    pilotLogs.push(pilotResult.stderr);
    await rm(root, { recursive: true, force: true });
    return { prun: prunResult, pilot: pilotResult, workdir };
  }

  it("runs the payload as that user: it reads its own secret file, not the pilot's token file nor its environment", async () => {
    const nobodyUid = execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim();
    const run = await probe(['--run-as', 'nobody']);
    expect(run.prun.stdout).toBe(
      [
        nobodyUid,
        'pilot environment out of reach',
        'token file refused',
        'nobody 700 .',
        'nobody 600 my_secret_file.dat',
        sha256(SEED_FILE),
        '',
      ].join('\n'),
    );
    expect(run.prun.code).toBe(0);
    expect(run.pilot.stderr).not.toMatch(/warning/);
    expect(run.pilot.stderr).toMatch(/job \S+: finished, exit code 0\n/);
  });

  it("without it, the same payload (root) cannot read the pilot's token file (covered in its mount namespace) nor its environment (outside its PID namespace), and the pilot warns at start-up", async () => {
    const run = await probe([]);
    expect(run.prun.stdout).toBe(
      [
        '0',
        'pilot environment out of reach',
        'token file refused',
        'root 700 .',
        'root 600 my_secret_file.dat',
        sha256(SEED_FILE),
        '',
      ].join('\n'),
    );
    expect(run.prun.code).toBe(0);
    expect(run.pilot.stderr).toMatch(
      /^\S+ panda-pilot: warning: payloads run as root: they could undo the mount that hides the token file from them; use --run-as USER\n/,
    );
    // The pilot itself still reads it: it took the job and reported its end.
    expect(run.pilot.stderr).toMatch(/job \S+: finished, exit code 0\n/);
  });
});

describe('roles and claims', () => {
  it('a pilot token cannot list or set secrets, and a user token cannot acquire jobs', async () => {
    const asPilot = await pilotClient('pilot-a');
    await expect(asPilot.getSecrets()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(asPilot.setSecret('STOLEN', 'x')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const { publicJwk } = await generatePilotKeyPair();
    await expect(userClient().acquireJobs(publicJwk as Record<string, unknown>, 1)).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    const refused = await runCli('panda-pilot', ['--server', server.url, '--once'], {
      env: cleanEnv({ PANDA_AUTH_ID_TOKEN: userToken }),
    });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(
      /^\S+ panda-pilot: warning: payloads run as root: they could undo the mount that hides the token file from them; use --run-as USER\npanda-pilot: this call is for pilots: a user token cannot acquire or update jobs\n$/,
    );
  });

  it("a pilot cannot update another pilot's job, nor open its bundle, nor replay a bundle for another job", async () => {
    const specs = [1, 2].map(() => ({ exec: 'true', outDS: 'user.alice.e2e', secrets: ['MY_SECRET'] }));
    const { jobs: submitted } = await userClient().submitJobs(specs);
    const [pilotA, pilotB] = await Promise.all([pilotClient('pilot-a'), pilotClient('pilot-b')]);
    const keyA = await generatePilotKeyPair();
    const keyB = await generatePilotKeyPair();
    const acquired = await pilotA.acquireJobs(keyA.publicJwk as Record<string, unknown>, 2);
    expect(acquired.map((entry) => entry.job.id).sort()).toEqual(submitted.map((job) => job.id).sort());
    const [first, second] = acquired as [(typeof acquired)[0], (typeof acquired)[0]];

    await expect(
      pilotB.updateJob({ jobId: first.job.id, claimId: first.claimId, state: 'finished', exitCode: 0 }),
    ).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(openBundle(keyB.privateKey, first.bundle!, first.job.id)).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
    await expect(openBundle(keyA.privateKey, first.bundle!, second.job.id)).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
    });
    expect((await openBundle(keyA.privateKey, first.bundle!, first.job.id)).env).toEqual({
      MY_SECRET: 'random_string',
    });

    for (const entry of acquired) {
      await pilotA.updateJob({ jobId: entry.job.id, claimId: entry.claimId, state: 'finished', exitCode: 0 });
    }
    expect((await userClient().getJob(first.job.id)).state).toBe('finished');
  });
});

describe('two pilots racing', () => {
  it('run each of 50 jobs exactly once', async () => {
    const submitted = await prun([
      '--exec',
      'echo "ran $MY_SECRET"',
      '--outDS',
      'user.alice.race',
      '--secrets',
      'MY_SECRET',
      '--nJobs',
      '50',
      '--json',
    ]);
    const ids = (JSON.parse(submitted.stdout) as { jobs: Array<{ id: string }> }).jobs.map((row) => row.id);
    expect(new Set(ids).size).toBe(50);
    const [a, b] = await Promise.all(
      ['pilot-a', 'pilot-b'].map(async (name) => pilot(name, await mkdtemp(join(dir, 'work-')), ['--exit-when-idle'])),
    );
    const ranBy = (run: CliResult): string[] =>
      [...run.stderr.matchAll(/job (\S+): acquired/g)].map((match) => match[1]!);
    const ranA = ranBy(a!);
    const ranB = ranBy(b!);
    expect([...ranA, ...ranB].sort()).toEqual([...ids].sort());
    const client = userClient();
    const jobs: JobInfo[] = await Promise.all(ids.map((id) => client.getJob(id)));
    expect(jobs.every((job) => job.state === 'finished' && job.exitCode === 0)).toBe(true);
    const logs = await Promise.all(ids.map((id) => client.getJobLog(id)));
    expect(new Set(logs.map((log) => log.log))).toEqual(new Set(['ran ***\n']));
    jobIds.push(...ids.slice(0, 3));
  }, 120_000);
});

/** Every file below `path`, read whole. */
async function filesBelow(path: string): Promise<Buffer[]> {
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return Promise.all(
    entries.filter((entry) => entry.isFile()).map((entry) => readFile(join(entry.parentPath, entry.name))),
  );
}

describe('no secret value anywhere', () => {
  it("not in the server's database or log, the stored specs, the pilots' logs or prun's output", async () => {
    const values = Object.values(SECRETS);
    const stored = await filesBelow(server.dataDir);
    expect(stored.length).toBeGreaterThan(1);
    for (const bytes of [...values.map((value) => Buffer.from(value, 'utf8')), SEED_FILE]) {
      for (const file of stored) expect(file.includes(bytes)).toBe(false);
    }
    const specs = await Promise.all(jobIds.map(async (id) => JSON.stringify(await userClient().getJob(id))));
    expect(specs.length).toBeGreaterThan(2);
    expect(pilotLogs.length).toBeGreaterThan(5);
    for (const text of [...pilotLogs, ...prunOutputs, ...specs]) {
      for (const value of values) expect(text.includes(value)).toBe(false);
    }
  });
});
