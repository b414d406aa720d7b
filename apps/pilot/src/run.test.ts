import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describeAsRoot, killMarkedProcesses, markedProcesses, newMarker } from '@panda-secrets/testkit/unit';
import { runJob } from './run.js';
import type { JobOutcome, RunJobOptions } from './run.js';
import { SupervisorProcess } from './supervisor-process.js';
import { nobody } from './testing/root.js';

let workRoot: string;
let outside: string;
let supervisor: SupervisorProcess;

beforeEach(async () => {
  workRoot = await mkdtemp(join(tmpdir(), 'pilot-run-test-'));
  outside = await mkdtemp(join(tmpdir(), 'pilot-run-outside-'));
  supervisor = new SupervisorProcess();
});

afterEach(async () => {
  await supervisor.close();
  await rm(workRoot, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

afterAll(killMarkedProcesses);

/** A value that would run commands if it ever went through a shell. */
const TRICKY = `it's "$(touch pwned)" \`touch pwned\` $HOME \\n \\\\ ;touch pwned\nline two\r\n€ 😀 ünïcode`;
const FILE_BYTES = Buffer.from('\x1f\x8b\x00\xff binary\n', 'latin1');
const NOTES = Buffer.from('first line of notes\nsecond line of notes\n', 'utf8');

interface Run {
  outcome: JobOutcome;
  output: string;
}

async function run(command: string, overrides: Partial<RunJobOptions> = {}): Promise<Run> {
  let output = '';
  const outcome = await runJob({
    jobId: 'job-1',
    command,
    secrets: {
      env: { TRICKY, MY_SECRET: 'random_string' },
      files: { 'my_secret_file.dat': FILE_BYTES.toString('base64'), 'notes.txt': NOTES.toString('base64') },
    },
    workRoot,
    keepWorkdir: false,
    baseEnv: { PATH: process.env.PATH, OUTSIDE: outside },
    onOutput: (text) => {
      output += text;
    },
    supervisor,
    ...overrides,
  });
  return { outcome, output };
}

/** Waits until `condition` holds; the test's timeout fails the test if it never does. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await delay(20);
}

/** Waits until the payload has created `path`: the sign that it runs. */
const waitForFile = (path: string): Promise<void> => waitUntil(() => existsSync(path));

const hex = (bytes: Buffer): string => bytes.toString('hex');

describe('runJob', () => {
  it('hands the env secrets to the payload byte-exact, running nothing inside them', async () => {
    const { outcome, output } = await run(
      `printf %s "$TRICKY" | od -An -v -tx1 | tr -d ' \\n'; echo; ls -A; ls -A "$OUTSIDE"`,
    );
    expect(outcome).toEqual({ exitCode: 0, signal: null, aborted: false });
    expect(output).toBe(`${hex(Buffer.from(TRICKY, 'utf8'))}\nmy_secret_file.dat\nnotes.txt\n`);
  });

  it('hands every variable over by its own name, whatever its name or size, and in any locale', async () => {
    // Named like the loader's own shell variables, which must not take their places; every byte but NUL.
    const env = {
      size: 'the size',
      var: 'the var',
      vars: 'the vars',
      entries: 'the entries',
      LC_ALL: 'C.UTF-8',
      ALL_BYTES: Buffer.from(Array.from({ length: 255 }, (_, index) => index + 1)).toString('latin1'),
      BIG: `${'ü'.repeat(40_000)}\nend`,
      ...Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`MANY_${index}`, `value ${index}`])),
    };
    const names = Object.keys(env);
    const { outcome, output } = await run(
      `for name in ${names.join(' ')}; do printf '%s=' "$name"; printenv "$name" | od -An -v -tx1 | tr -d ' \\n'; echo; done`,
      { secrets: { env, files: {} }, baseEnv: { PATH: process.env.PATH, LANG: 'C.UTF-8' } },
    );
    expect(outcome).toEqual({ exitCode: 0, signal: null, aborted: false });
    expect(output.split('\n').slice(0, -1)).toEqual(
      Object.entries(env).map(([name, value]) => `${name}=${hex(Buffer.from(`${value}\n`, 'utf8'))}`),
    );
  });

  it('writes the file secrets byte-exact and 0600 into the current directory, and removes them after', async () => {
    const { output } = await run(
      'stat -c "%a %n" my_secret_file.dat; od -An -v -tx1 my_secret_file.dat | tr -d " \\n"',
    );
    expect(output).toBe(`600 my_secret_file.dat\n${hex(FILE_BYTES)}`);
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('masks the secrets the payload prints, on stdout and stderr, also printed in halves', async () => {
    const { output } = await run(
      [
        'echo "one: $MY_SECRET"',
        'echo "two: $TRICKY" >&2',
        'printf "halves: %s" "${MY_SECRET:0:6}"; sleep 0.05; printf "%s\\n" "${MY_SECRET:6}"',
        'printf "b64: %s\\n" "$(printf %s "$MY_SECRET" | base64)"',
        'printf "file: "; head -n 1 notes.txt',
        'python3 -c \'import json, os; print("json:", json.dumps(os.environ["TRICKY"]))\'',
      ].join('; '),
    );
    expect(output.split('\n').sort()).toEqual(
      ['one: ***', 'two: ***', 'halves: ***', 'b64: ***', 'file: ***', 'json: "***"', ''].sort(),
    );
  });

  it('masks what real tools print: wrapped base64, a parsed JSON secret, set -x, cat and strings of a binary file', async () => {
    const dictionary = JSON.stringify({ a_key: 'a_value', other: 'another value' });
    const long = `long-${'0123456789'.repeat(15)}`;
    const binary = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from('readable part of it\n'),
      Buffer.from([0x80, 0x81, 0x01]),
    ]);
    const { output } = await run(
      [
        'printf "%s" "$LONG" | base64',
        'printf "%s" "$LONG" | openssl base64',
        'echo "$LONG" | base64',
        'python3 -c \'import json, os; d = json.loads(os.environ["DICT"]); print(d); print(d["a_key"])\'',
        '(set -x; : "$QUOTED") 2>&1',
        'cat bin.dat; echo',
        'strings bin.dat',
      ].join('; '),
      {
        secrets: {
          env: { LONG: long, DICT: dictionary, QUOTED: "it's quoted" },
          files: { 'bin.dat': binary.toString('base64') },
        },
      },
    );
    // Each wrapped base64 block is one stretch: its line breaks are masked with it.
    expect(output.split('\n')).toEqual([
      '***',
      '***',
      '***',
      "{'a_key': '***', 'other': '***'}",
      '***',
      "+ : '***'",
      '***',
      '***',
      '',
    ]);
  });

  it('reports a failing payload with its exit code and still cleans up', async () => {
    const { outcome } = await run('exit 7');
    expect(outcome).toEqual({ exitCode: 7, signal: null, aborted: false });
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('reports a payload killed by SIGKILL as 137 and removes its files', async () => {
    const { outcome, output } = await run('kill -KILL $$');
    expect(outcome).toEqual({ exitCode: 137, signal: 'SIGKILL', aborted: false });
    expect(output).toBe('');
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('keeps the working directory without the secret files when asked', async () => {
    await run('echo result > output.txt', { keepWorkdir: true });
    const [dir] = await readdir(workRoot);
    expect(await readdir(join(workRoot, dir!))).toEqual(['output.txt']);
  });

  it('stops every process of the job when aborted, and removes the files', async () => {
    const controller = new AbortController();
    const marker = newMarker();
    const running = run(`sleep ${marker} & touch "$OUTSIDE/started"; wait`, {
      signal: controller.signal,
    });
    await waitForFile(join(outside, 'started'));
    controller.abort();
    const { outcome } = await running;
    expect(outcome).toEqual({ exitCode: 143, signal: 'SIGTERM', aborted: true });
    expect(await readdir(workRoot)).toEqual([]);
    expect(markedProcesses(marker)).toEqual([]);
  });

  it('delivers a secret file of any valid name, also the one the pilot once kept its bookkeeping in', async () => {
    const { outcome, output } = await run('cat .pilot-pid; echo; ls -A', {
      secrets: { env: {}, files: { '.pilot-pid': Buffer.from('not a pid').toString('base64') } },
    });
    expect(outcome.exitCode).toBe(0);
    expect(output).toBe('***\n.pilot-pid\n');
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('kills a payload that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const controller = new AbortController();
    const running = run(`trap '' TERM; touch "$OUTSIDE/started"; while :; do sleep 0.1; done`, {
      signal: controller.signal,
      killGraceMs: 100,
    });
    await waitForFile(join(outside, 'started'));
    controller.abort();
    const { outcome } = await running;
    expect(outcome).toEqual({ exitCode: 137, signal: 'SIGKILL', aborted: true });
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('does not wait for background processes the payload left behind: they end with it', async () => {
    const marker = newMarker();
    const { outcome, output } = await run(`sleep ${marker} & echo done`);
    expect(outcome.exitCode).toBe(0);
    expect(output).toBe('done\n');
    expect(markedProcesses(marker)).toEqual([]);
  });

  it('refuses a bundle with a bad file name before running anything', async () => {
    await expect(
      run('touch "$OUTSIDE/ran"', { secrets: { env: {}, files: { '../escape': 'eA==' } } }),
    ).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(workRoot)).toEqual([]);
  });
});

describeAsRoot('runJob with runAs', () => {
  it("runs the payload as that user, who reads its own secret files but not the pilot's token file or environment", async () => {
    const user = await nobody();
    await chmod(workRoot, 0o711);
    await chmod(outside, 0o711);
    const tokenFile = `${outside}/pilot.token`;
    await writeFile(tokenFile, 'the pilot token\n', { mode: 0o600 });
    const { outcome, output } = await run(
      [
        'id -u; id -g; echo "$HOME $USER $LOGNAME"',
        'stat -c "%u %g %a %n" . my_secret_file.dat notes.txt',
        'od -An -v -tx1 my_secret_file.dat | tr -d " \\n"; echo',
        `cat ${tokenFile} > /dev/null 2>&1 && echo "token file readable" || echo "token file refused"`,
        // $PPID is the job's init, a root process, the only one outside the payload that it can see.
        'cat /proc/$PPID/environ > /dev/null 2>&1 && echo "environ readable" || echo "environ refused"',
        'rm -f notes.txt && echo "own file removed"',
      ].join('; '),
      { runAs: user },
    );
    expect(outcome.exitCode).toBe(0);
    expect(output).toBe(
      [
        `${user.uid}`,
        `${user.gid}`,
        `${user.home} nobody nobody`,
        `${user.uid} ${user.gid} 700 .`,
        `${user.uid} ${user.gid} 600 my_secret_file.dat`,
        `${user.uid} ${user.gid} 600 notes.txt`,
        hex(FILE_BYTES),
        'token file refused',
        'environ refused',
        'own file removed',
        '',
      ].join('\n'),
    );
    expect(await readdir(workRoot)).toEqual([]);
  });

  it('as root instead, the payload reads what root can read: what runAs prevents', async () => {
    const { output } = await run(
      'cat /proc/$PPID/environ > /dev/null 2>&1 && echo "environ readable" || echo "environ refused"',
    );
    expect(output).toBe('environ readable\n');
  });

  it('removes what a payload left as that user, also when stopped, and keeps only its outputs with keepWorkdir', async () => {
    const user = await nobody();
    await chmod(workRoot, 0o711);
    await run('mkdir -p out/locked && touch out/locked/x && chmod 500 out/locked && cp my_secret_file.dat copy.dat', {
      runAs: user,
    });
    expect(await readdir(workRoot)).toEqual([]);

    const controller = new AbortController();
    const marker = newMarker();
    const stopped = await run(`cp notes.txt copy.txt; sleep ${marker} & echo started; wait`, {
      runAs: user,
      signal: controller.signal,
      onOutput: () => controller.abort(),
    });
    expect(stopped.outcome).toEqual({ exitCode: 143, signal: 'SIGTERM', aborted: true });
    expect(await readdir(workRoot)).toEqual([]);
    expect(markedProcesses(marker)).toEqual([]);

    await run('echo result > output.txt', { runAs: user, keepWorkdir: true });
    const [dir] = await readdir(workRoot);
    expect(await readdir(join(workRoot, dir!))).toEqual(['output.txt']);
  });
});

describe('a supervisor that crashes', () => {
  it("hands the job back, telling the crash's class and place, never its message", async () => {
    // Stands for a supervisor with a bug: it reads the job's line, says what crashed it, and exits.
    const crashing = join(outside, 'crashing-supervisor.cjs');
    await writeFile(
      crashing,
      `process.stdin.once('data', () => {
         require('node:fs').writeSync(3, JSON.stringify({ type: 'crashed', error: 'TypeError: an unexpected error at dist/supervisor.js:12' }) + '\\n');
         process.exit(70);
       });`,
    );
    await supervisor.close();
    supervisor = new SupervisorProcess(crashing);
    await expect(run('echo never')).rejects.toThrow(
      "the job's supervisor ended before reporting the job's end (exit code 70, after a crash: TypeError: an unexpected error at dist/supervisor.js:12)",
    );
  });
});
