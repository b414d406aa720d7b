import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ClientOptions } from '@panda-secrets/client';
import { main } from './program.js';
import { payloadEnvironment } from './start-pilot.js';
import type { PilotClient } from './pilot.js';
import type { ProgramDeps } from './program.js';

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

let temporary: string;

beforeAll(async () => {
  temporary = await mkdtemp(join(tmpdir(), 'pilot-program-test-'));
});

afterAll(async () => {
  await rm(temporary, { recursive: true, force: true });
});

const ROOT_WARNING =
  'payloads run as root: they could undo the mount that hides the token file from them; use --run-as USER';
const WARNING = `2026-01-02T03:04:05.000Z panda-pilot: warning: ${ROOT_WARNING}\n`;

async function runMain(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
  uid = 0,
  client: Partial<PilotClient> = {},
) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const clients: ClientOptions[] = [];
  const deps: ProgramDeps = {
    createClient: async (options) => {
      clients.push(options);
      return {
        acquireJobs: async () => [],
        updateJob: async (update) => ({ id: update.jobId, state: 'running' }),
        heartbeat: async () => ({ leaseExpiresAt: '', cancel: false }),
        ...client,
      };
    },
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return Buffer.from(text);
    },
    env,
    stdout,
    stderr,
    signal: new AbortController().signal,
    sleep: async () => undefined,
    now: () => new Date('2026-01-02T03:04:05.000Z'),
    tmpdir: temporary,
    uid,
  };
  const code = await main(args, deps, '0.1.0');
  return { code, stdout: out(), stderr: err(), clients, stderrLater: err };
}

describe('panda-pilot main', () => {
  it('reads the server and token, runs, and says so when no job is queued', async () => {
    const result = await runMain(
      ['--server', 'http://127.0.0.1:1', '--token-file', '/t', '--once'],
      {},
      { '/t': 'tok\n' },
    );
    expect(result).toEqual({
      code: 0,
      stdout: '',
      stderr: `${WARNING}2026-01-02T03:04:05.000Z panda-pilot: no job is queued\n`,
      clients: [{ server: 'http://127.0.0.1:1', token: 'tok', tokenSource: expect.any(Function) }],
      stderrLater: expect.any(Function),
    });
    expect(await readdir(join(temporary, 'panda-pilot'))).toEqual([]);
  });

  it("writes pino's JSON lines with --log-format json", async () => {
    const result = await runMain(
      ['--server', 'http://127.0.0.1:1', '--token-file', '/t', '--once', '--log-format', 'json'],
      {},
      { '/t': 'tok\n' },
    );
    expect(result.code).toBe(0);
    const common = { time: '2026-01-02T03:04:05.000Z', pid: process.pid, hostname: hostname(), name: 'panda-pilot' };
    expect(
      result.stderr
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { level: 40, ...common, msg: ROOT_WARNING },
      { level: 30, ...common, msg: 'no job is queued' },
    ]);
  });

  it('re-reads its token file before each call, keeps the last token while the file is rewritten, and warns before it expires', async () => {
    const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ sub: 'pilot', exp })).toString('base64url')}.s`;
    const now = Date.parse('2026-01-02T03:04:05.000Z') / 1000;
    const files: Record<string, string> = { '/t': `${jwt(now + 3600)}\n` };
    const result = await runMain(['--server', 'http://127.0.0.1:1', '--token-file', '/t', '--once'], {}, files);
    const source = result.clients[0]!.tokenSource!;
    expect(await source()).toBe(jwt(now + 3600));
    files['/t'] = jwt(now + 7200);
    expect(await source()).toBe(jwt(now + 7200));
    files['/t'] = '';
    expect(await source()).toBe(jwt(now + 7200));
    files['/t'] = jwt(now + 600);
    expect(await source()).toBe(jwt(now + 600));
    expect(await source()).toBe(jwt(now + 600));
    await new Promise((resolve) => setImmediate(resolve));
    expect(result.stderrLater().slice(result.stderr.length)).toBe(
      '2026-01-02T03:04:05.000Z panda-pilot: warning: the token file "/t" (--token-file) is empty; using the token read before\n' +
        `2026-01-02T03:04:05.000Z panda-pilot: warning: the token in /t expires in 600 s (2026-01-02T03:14:05.000Z): write a new one to the file, the pilot reads it before each call\n`,
    );
  });

  it('refuses --run-as unless running as root, and users that do not exist or are root', async () => {
    const notRoot = await runMain(['--run-as', 'nobody', '--token-file', '/t'], {}, { '/t': 'tok' }, 1000);
    expect(notRoot.code).toBe(2);
    expect(notRoot.stderr).toBe(
      'panda-pilot: --run-as needs panda-pilot to run as root (it runs as uid 1000): only root can start a payload as another user\n' +
        'Run "panda-pilot --help" for the options.\n',
    );
    const unknown = await runMain(['--run-as', 'no-such-user-here', '--token-file', '/t'], {}, { '/t': 'tok' });
    expect(unknown).toMatchObject({
      code: 2,
      stderr: 'panda-pilot: --run-as: there is no user "no-such-user-here" on this machine\n',
      clients: [],
    });
    expect((await runMain(['--run-as', 'root', '--token-file', '/t'], {}, { '/t': 'tok' })).stderr).toBe(
      'panda-pilot: --run-as must name an unprivileged user, not root (uid 0)\n',
    );
    expect((await runMain(['--run-as=-x', '--token-file', '/t'], {}, { '/t': 'tok' })).stderr).toMatch(
      /--run-as takes a user name or a numeric uid/,
    );
  });

  it('refuses to start on a work directory others can write to, saying what is required', async () => {
    const workdir = join(temporary, 'open-to-all');
    await mkdir(workdir);
    await chmod(workdir, 0o777);
    const result = await runMain(['--workdir', workdir, '--once', '--token-file', '/t'], {}, { '/t': 'tok' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `${WARNING}panda-pilot: the work directory ${workdir} (--workdir) is writable by group or others (mode 0777); it must be a real ` +
        `directory (not a symbolic link) owned by panda-pilot's user (uid ${process.getuid!()}) and not writable by group or others, ` +
        'such as the one panda-pilot creates (mode 0711)\n',
    );
  });

  it('asks for up to --parallel jobs per acquire, one by default', async () => {
    const asked: number[] = [];
    const acquiring = async (args: string[]) => {
      const result = await runMain(
        ['--server', 'http://127.0.0.1:1', '--token-file', '/t', ...args],
        {},
        { '/t': 'tok' },
        0,
        {
          acquireJobs: async (_key, nJobs) => {
            asked.push(nJobs ?? 1);
            return [];
          },
        },
      );
      expect(result.code).toBe(0);
    };
    await acquiring(['--exit-when-idle']);
    await acquiring(['--exit-when-idle', '--parallel', '64']);
    await acquiring(['--exit-when-idle', '--parallel', '3', '--max-jobs', '2']);
    await acquiring(['--once', '--parallel', '3']);
    expect(asked).toEqual([1, 64, 2, 1]);
  });

  it("takes the server and token from PanDA's environment variables", async () => {
    const result = await runMain(['--once'], {
      PANDA_URL_SSL: 'https://panda:8443',
      PANDA_AUTH_ID_TOKEN: 'envtok',
      PANDA_AUTH_VO: 'atlas',
    });
    expect(result.clients).toEqual([{ server: 'https://panda:8443', token: 'envtok', vo: 'atlas' }]);
  });

  it.each([
    [['--poll', '0'], /--poll must be a positive number/],
    [['--max-jobs', '1.5'], /--max-jobs must be a positive whole number/],
    [['--parallel', '0'], /--parallel must be a whole number from 1 to 64, not "0"\n/],
    [['--parallel', '65'], /--parallel must be a whole number from 1 to 64, not "65"\n/],
    [['--parallel', '2.5'], /--parallel must be a whole number from 1 to 64, not "2.5"\n/],
    [['--parallel', 'many'], /--parallel must be a whole number from 1 to 64, not "NaN"\n/],
    [['--bogus'], /unknown option --bogus/],
    [
      ['--log-format', 'xml'],
      /^panda-pilot: --log-format takes one of "text", "json" \(the value given is not shown\)\n/,
    ],
  ])('refuses %j with exit code 2', async (args, message) => {
    const result = await runMain([...args, '--token-file', '/t'], {}, { '/t': 'tok' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.clients).toEqual([]);
  });

  it('exits 4 without a token and 1 with a server address that is not a URL', async () => {
    expect((await runMain(['--once'])).code).toBe(4);
    expect((await runMain(['--once', '--token-file', '/missing'])).stderr).toMatch(
      /cannot read the token file "\/missing" \(--token-file\): no such file/,
    );
    expect((await runMain(['--server', 'nope', '--token-file', '/t'], {}, { '/t': 'x' })).code).toBe(1);
  });

  it('prints the help on stdout', async () => {
    const result = await runMain(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--keep-workdir/);
    expect(result.stdout).toMatch(/--run-as +run payloads as this user/);
    expect(result.stdout).toMatch(/--log-format +the pilot's log on stderr/);
    expect(result.stdout).toMatch(/--parallel +run up to N jobs at once \(1 to 64\)/);
  });

  it('loads pino only once it runs, never for --help', async () => {
    // pino is CommonJS: whatever loads it, even through import, shows in require's cache. The CLI
    // ends its process itself, so the count is taken as it exits.
    const probe = `
      import { createRequire } from 'node:module';
      import { writeSync } from 'node:fs';
      process.on('exit', () => {
        const cache = Object.keys(createRequire(import.meta.url).cache);
        writeSync(2, 'pino modules: ' + cache.filter((path) => path.includes('/node_modules/pino/')).length + '\\n');
      });
      await import(process.argv[1]);`;
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--input-type=module', '-e', probe, cli, ...args], { encoding: 'utf8' }).stderr;
    expect(run(['--help'])).toBe('pino modules: 0\n');
    expect(run(['--server', 'http://127.0.0.1:1', '--token-file', '/dev/null', '--once'])).toMatch(
      /\npino modules: [1-9]\d*\n$/,
    );
  });
});

describe('payloadEnvironment', () => {
  it("drops the variables that carry the pilot's credentials and keeps the rest", () => {
    expect(
      payloadEnvironment({ PATH: '/bin', PANDA_AUTH_ID_TOKEN: 't', OIDC_AUTH_TOKEN_FILE: '/f', PANDA_URL_SSL: 'u' }),
    ).toEqual({
      PATH: '/bin',
      PANDA_URL_SSL: 'u',
    });
  });
});
