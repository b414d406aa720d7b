import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  childrenRunning,
  describeAsRoot,
  eventually,
  killMarkedProcesses,
  markedProcesses,
  newMarker,
} from '@panda-secrets/testkit/unit';
import { runJob, SupervisorLostError } from './run.js';
import type { JobOutcome, RunJobOptions } from './run.js';
import { SupervisorProcess } from './supervisor-process.js';
import { nobody } from './testing/root.js';
import type { RunAsUser } from './users.js';

// What is left of a job after it ends, however it ends and whatever its processes did to escape:
// nothing. Each test marks the processes it starts with a unique sleep duration and scans /proc for it.

let parent: string;
let workRoot: string;
/** The supervisor of the jobs a test runs in the test's own process (started on its first job). */
let supervisor: SupervisorProcess;

beforeEach(async () => {
  parent = await mkdtemp(join(tmpdir(), 'pilot-isolation-test-'));
  await chmod(parent, 0o711);
  workRoot = join(parent, 'work');
  await mkdir(workRoot, { mode: 0o711 });
  supervisor = new SupervisorProcess();
});

afterEach(async () => {
  await supervisor.close();
  await rm(parent, { recursive: true, force: true });
});

afterAll(killMarkedProcesses);

/**
 * Four ways out of the payload's process group, each a sleep marked with `marker`: setsid, setsid -f
 * (a daemon's double fork and new session), a double fork in subshells, nohup with disown. The
 * payload then waits until all four run and says `ready`.
 */
function escaping(marker: string): string {
  return [
    `setsid sleep ${marker} &`,
    `setsid -f sleep ${marker}`,
    `( (sleep ${marker} &) & )`,
    `nohup sleep ${marker} >/dev/null 2>&1 & disown`,
    `until [ "$(pgrep -cxf "sleep ${marker}")" -ge 4 ]; do sleep 0.05; done`,
    'echo ready',
  ].join('\n');
}

const SECRETS = {
  env: { JOB_SECRET: 'the-env-secret-value' },
  files: { 'secret.dat': Buffer.from('the-file-secret').toString('base64') },
};

/** runJob in a process of its own (a pilot), as `user` if given, so that the test can kill it with SIGKILL. */
function pilotProcess(
  options: Pick<RunJobOptions, 'command' | 'runAs' | 'hiddenFiles'> & { workRoot: string },
  user?: RunAsUser,
  secrets: RunJobOptions['secrets'] = SECRETS,
) {
  const dist = (name: string): string => JSON.stringify(fileURLToPath(new URL(`../dist/${name}`, import.meta.url)));
  const script = `
    import { runJob } from ${dist('run.js')};
    import { SupervisorProcess } from ${dist('supervisor-process.js')};
    const stop = new AbortController();
    process.on('SIGTERM', () => stop.abort('SIGTERM'));
    const options = JSON.parse(process.argv[1]);
    const supervisor = new SupervisorProcess();
    const outcome = await runJob({ ...options, jobId: 'j', keepWorkdir: false, baseEnv: { PATH: process.env.PATH },
      signal: stop.signal, onOutput: (text) => process.stdout.write(text), supervisor }).catch((error) => ({ error: error.message }));
    await supervisor.close();
    process.stderr.write(JSON.stringify(outcome));`;
  const asUser =
    user === undefined ? [] : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
  const argv = [
    ...asUser,
    process.execPath,
    '--input-type=module',
    '-e',
    script,
    JSON.stringify({ ...options, secrets }),
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let result = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    result += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    child,
    output: () => output,
    ready: () => eventually(() => output.includes('ready\n'), 30_000),
    outcome: async (): Promise<JobOutcome & { error?: string }> => {
      await exited;
      return JSON.parse(result) as JobOutcome & { error?: string };
    },
  };
}

type Ending = 'the payload exits' | 'the pilot is stopped (SIGTERM)' | 'the pilot is killed (SIGKILL)';
const ENDINGS: Ending[] = ['the payload exits', 'the pilot is stopped (SIGTERM)', 'the pilot is killed (SIGKILL)'];

/** Runs a payload that escapes four ways, ends it as `ending` says, and checks that nothing of it is left. */
async function escapeAndEnd(
  ending: Ending,
  runAs: RunAsUser | undefined,
  pilotUser: RunAsUser | undefined,
): Promise<void> {
  const marker = newMarker();
  const command = `${escaping(marker)}\n${ending === 'the payload exits' ? 'exit 0' : `sleep ${marker}`}`;
  const pilot = pilotProcess({ command, workRoot, ...(runAs === undefined ? {} : { runAs }) }, pilotUser);
  expect(await pilot.ready()).toBe(true);
  if (ending !== 'the payload exits') expect(markedProcesses(marker).length).toBeGreaterThanOrEqual(4);
  if (ending === 'the pilot is stopped (SIGTERM)') pilot.child.kill('SIGTERM');
  if (ending === 'the pilot is killed (SIGKILL)') pilot.child.kill('SIGKILL');
  if (ending !== 'the pilot is killed (SIGKILL)') {
    expect(await pilot.outcome()).toEqual(
      ending === 'the payload exits'
        ? { exitCode: 0, signal: null, aborted: false }
        : { exitCode: 143, signal: 'SIGTERM', aborted: true },
    );
    expect(markedProcesses(marker)).toEqual([]);
  }
  // Within a few seconds (the machine may be loaded), no process is left, nor any file.
  expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
  expect(await eventually(async () => (await readdir(workRoot)).length === 0)).toBe(true);
}

describe("a job that escaped its process group, as the pilot's own user", () => {
  it.each(ENDINGS)('leaves no process and no file when %s', async (ending) => {
    await escapeAndEnd(ending, undefined, undefined);
  }, 90_000);
});

describeAsRoot('a job that escaped its process group', () => {
  it.each(ENDINGS)('under --run-as, leaves no process and no file when %s', async (ending) => {
    await escapeAndEnd(ending, await nobody(), undefined);
  }, 90_000);

  it.each(ENDINGS)('under a pilot that is not root, leaves no process and no file when %s', async (ending) => {
    const user = await nobody();
    await chown(workRoot, user.uid, user.gid);
    await escapeAndEnd(ending, undefined, user);
  }, 90_000);
});

describe('a job whose supervisor is killed with SIGKILL', () => {
  it('dies with it (parent-death signal), and the pilot removes its files and reports the job could not finish', async () => {
    const marker = newMarker();
    let output = '';
    const running = runJob({
      jobId: 'j',
      command: `setsid -f sleep ${marker}; echo ready; sleep ${marker}`,
      secrets: SECRETS,
      workRoot,
      keepWorkdir: false,
      baseEnv: { PATH: process.env.PATH },
      onOutput: (text) => {
        output += text;
      },
      supervisor,
    });
    expect(await eventually(() => output === 'ready\n', 30_000)).toBe(true);
    const [supervisorPid] = childrenRunning(process.pid, 'supervisor-main.js');
    process.kill(supervisorPid!, 'SIGKILL');
    const lost = await running.then(
      () => undefined,
      (error: unknown) => error,
    );
    // Not the job's fault: the pilot hands such a job back to the queue.
    expect(lost).toBeInstanceOf(SupervisorLostError);
    expect((lost as Error).message).toBe("the job's supervisor ended before reporting the job's end (SIGKILL)");
    expect(await eventually(() => markedProcesses(marker).length === 0)).toBe(true);
    expect(await readdir(workRoot)).toEqual([]);
  }, 60_000);
});

/** What a job of the same user can find of a running job's secrets: a line per way it tries. */
const PEEK = [
  '[ -e "$OTHER" ] && echo "directory visible" || echo "directory hidden"',
  'grep -l the-first-env-secret /proc/*/environ 2>/dev/null | wc -l',
  'cat /proc/*/cwd/first.dat 2>/dev/null | wc -c',
  'cat "$OTHER/first.dat" 2>/dev/null | wc -c',
  'ls /proc | grep -c "^[0-9]"',
].join('; ');

const FIRST_SECRETS = {
  env: { JOB_SECRET: 'the-first-env-secret' },
  files: { 'first.dat': Buffer.from('the first file secret').toString('base64') },
};

/** Runs a job that keeps running, then a second one of the same user that looks for the first one's secrets. */
async function peekAtOtherJob(runAs: RunAsUser | undefined, pilotUser: RunAsUser | undefined): Promise<string> {
  const marker = newMarker();
  const first = pilotProcess(
    { command: `echo ready; sleep ${marker}`, workRoot, ...(runAs === undefined ? {} : { runAs }) },
    pilotUser,
    FIRST_SECRETS,
  );
  expect(await first.ready()).toBe(true);
  const [firstDir] = (await readdir(workRoot)).filter((name) => !name.endsWith('.owner'));
  // Seen from outside, the first job's secrets are there to be found.
  expect(await readdir(join(workRoot, firstDir!))).toEqual(['first.dat']);
  const second = pilotProcess(
    { command: `OTHER=${join(workRoot, firstDir!)}; ${PEEK}`, workRoot, ...(runAs === undefined ? {} : { runAs }) },
    pilotUser,
  );
  expect(await second.outcome()).toEqual({ exitCode: 0, signal: null, aborted: false });
  first.child.kill('SIGTERM');
  await first.outcome();
  return second.output();
}

describeAsRoot('two jobs of one user', () => {
  it("under --run-as, one cannot read the other's environment or files", async () => {
    const output = await peekAtOtherJob(await nobody(), undefined);
    // Not the other job's directory, environment or files; its own processes only (init, bash, ls, grep).
    expect(output).toMatch(/^directory hidden\n0\n0\n0\n[1-6]\n$/);
  }, 90_000);

  it("under a pilot that is not root, one cannot read the other's environment or files", async () => {
    const user = await nobody();
    await chown(workRoot, user.uid, user.gid);
    const output = await peekAtOtherJob(undefined, user);
    expect(output).toMatch(/^directory hidden\n0\n0\n0\n[1-6]\n$/);
  }, 90_000);

  it('under a pilot that is not root, a payload that took its own rights away is still removed, and its exit 0 is a success', async () => {
    const user = await nobody();
    await chown(workRoot, user.uid, user.gid);
    const pilot = pilotProcess(
      { command: 'mkdir -p out/locked && touch out/locked/x && chmod 000 out/locked out && chmod 500 .', workRoot },
      user,
    );
    expect(await pilot.outcome()).toEqual({ exitCode: 0, signal: null, aborted: false });
    expect(await readdir(workRoot)).toEqual([]);
  }, 90_000);
});

/** What a payload gets of the token file $TOKEN, and whether it could write to it: a line each. */
const TOKEN_PROBE =
  'cat "$TOKEN" 2>/dev/null | wc -c; echo stolen 2>/dev/null > "$TOKEN" && echo written || echo "not written"';

/**
 * Runs TOKEN_PROBE under a pilot of `pilotUser` (root if not given) whose token file, in a folder
 * whose name holds spaces, is that user's; `hide` says whether runJob is told to hide it (with a
 * file that does not exist beside it).
 */
async function probeTokenFile(
  hide: boolean,
  runAs: RunAsUser | undefined,
  pilotUser: RunAsUser | undefined,
): Promise<string> {
  const home = join(parent, 'pilot home');
  await mkdir(home, { mode: 0o700 });
  const token = join(home, 'pilot token');
  await writeFile(token, 'the.pilot.token\n', { mode: 0o600 });
  if (pilotUser !== undefined) {
    await Promise.all([
      chown(home, pilotUser.uid, pilotUser.gid),
      chown(token, pilotUser.uid, pilotUser.gid),
      chown(workRoot, pilotUser.uid, pilotUser.gid),
    ]);
  }
  const hiddenFiles = hide ? [join(home, 'gone token'), token] : undefined;
  const command = `TOKEN='${token}'; ${TOKEN_PROBE}`;
  const pilot = pilotProcess(
    {
      command,
      workRoot,
      ...(runAs === undefined ? {} : { runAs }),
      ...(hiddenFiles === undefined ? {} : { hiddenFiles }),
    },
    pilotUser,
  );
  expect(await pilot.outcome()).toEqual({ exitCode: 0, signal: null, aborted: false });
  expect(await readFile(token, 'utf8')).toBe(hide ? 'the.pilot.token\n' : 'stolen\n');
  expect(await readdir(workRoot)).toEqual([]);
  return pilot.output();
}

describeAsRoot("the pilot's token file", () => {
  it('is covered for the payload of a pilot that is not root: it reads nothing from it and cannot change it', async () => {
    expect(await probeTokenFile(true, undefined, await nobody())).toBe('0\nwritten\n');
  }, 60_000);

  it('is covered for the payload of a root pilot without --run-as', async () => {
    expect(await probeTokenFile(true, undefined, undefined)).toBe('0\nwritten\n');
  }, 60_000);

  it('under --run-as, where its folder keeps the payload out anyway, covering it stops nothing', async () => {
    expect(await probeTokenFile(true, await nobody(), undefined)).toBe('0\nnot written\n');
  }, 60_000);

  it('is there for the payload of the same user when runJob is not told to hide it: what the pilot prevents', async () => {
    expect(await probeTokenFile(false, undefined, await nobody())).toBe('16\nwritten\n');
  }, 60_000);
});

describe('a token file that cannot be covered', () => {
  it('stops the job before its payload runs (exit code 125), saying so', async () => {
    let output = '';
    const outcome = await runJob({
      jobId: 'j',
      command: 'echo ran',
      secrets: SECRETS,
      workRoot,
      keepWorkdir: false,
      baseEnv: { PATH: process.env.PATH },
      // A folder: /dev/null cannot be bound over it.
      hiddenFiles: [parent],
      onOutput: (text) => {
        output += text;
      },
      supervisor,
    });
    expect(outcome).toEqual({ exitCode: 125, signal: null, aborted: false });
    expect(output).toBe("panda-job-init: cannot hide the pilot's token file from the job\n");
    expect(await readdir(workRoot)).toEqual([]);
  }, 60_000);
});

/** Runs `argv` as uid 65534 of a user namespace whose parent then allows no more user namespaces. */
const WITHOUT_USER_NAMESPACES = `
d=$(mktemp -d); mkfifo "$d/ready" "$d/go"
unshare --user --map-user=65534 --map-group=65534 -- bash -c 'echo > "$1/ready"; read x < "$1/go"; shift; exec "$@"' inner "$d" "$@" &
read x < "$d/ready"; echo 0 > /proc/sys/user/max_user_namespaces; echo > "$d/go"; wait $!; status=$?; rm -r "$d"; exit $status`;

describeAsRoot('a machine that cannot isolate jobs', () => {
  it('makes panda-pilot refuse to start, saying what it lacks, before it takes any job', async () => {
    const tokenFile = join(parent, 'token');
    await writeFile(tokenFile, 'not.a.token\n', { mode: 0o600 });
    const pilot = fileURLToPath(new URL('../bin/panda-pilot.js', import.meta.url));
    const argv = [
      process.execPath,
      pilot,
      '--server',
      'http://127.0.0.1:9',
      '--token-file',
      tokenFile,
      '--workdir',
      workRoot,
      '--once',
    ];
    const child = spawn(
      'unshare',
      ['--user', '--map-root-user', 'bash', '-c', WITHOUT_USER_NAMESPACES, 'outer', ...argv],
      {
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).toMatch(
      /panda-pilot: cannot run jobs in their own PID and mount namespaces on this machine \(unshare: unshare failed: No space left on device; exit code 1\); .* unprivileged user namespaces \(sysctl user.max_user_namespaces > 0\)\n$/,
    );
    expect(code).toBe(1);
    expect(await readdir(workRoot)).toEqual([]);
  }, 60_000);
});
