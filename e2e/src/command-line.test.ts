import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PandaClient } from '@panda-secrets/client';
import { binPath, cleanEnv, runCli, startServer } from '@panda-secrets/testkit';
import type { BinName, RunningServer } from '@panda-secrets/testkit';
import { runPbookInTerminal } from './testing/terminal.js';

// The command line of every program, run as real child processes against a real server: hidden
// flags never run commands, a closed stdout ends quietly, help fits the terminal.

let server: RunningServer;
let dir: string;
let token: string;

beforeAll(async () => {
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pbook-cli-'))]);
  token = await server.token('cli-user');
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
});

const env = () => cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token });
const client = () => new PandaClient({ server: server.url, token });

describe("yargs' completion flag", () => {
  it('never runs the command on the line: no job is submitted, no secret deleted, no pilot polls', async () => {
    await client().setSecret('KEEP_ME', 'value-1');
    const prun = await runCli(
      'prun',
      ['--get-yargs-completions', 'prun', '--exec', 'touch ran', '--outDS', 'user.x', '--'],
      { env: env() },
    );
    expect({ code: prun.code, stderr: prun.stderr }).toEqual({ code: 0, stderr: '' });
    expect(prun.stdout.split('\n')).toEqual(expect.arrayContaining(['--nJobs', '--useSecrets', '--wait']));
    const pbook = await runCli('pbook', ['--get-yargs-completions', 'pbook', 'delete-all-secrets', '--yes', ''], {
      env: env(),
    });
    expect({ code: pbook.code, stderr: pbook.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await client().getSecrets()).toEqual({ KEEP_ME: 'value-1' });
    // Without the flag this pilot would poll for ever; with it, it answers at once.
    const pilot = await runCli('panda-pilot', ['--get-yargs-completions', 'panda-pilot', '--on'], {
      env: cleanEnv({ PANDA_URL_SSL: server.url }),
      timeoutMs: 15_000,
    });
    expect({ code: pilot.code, stdout: pilot.stdout, stderr: pilot.stderr }).toEqual({
      code: 0,
      stdout: '--once\n',
      stderr: '',
    });
    const serverRun = await runCli('panda-server', ['--get-yargs-completions', 'panda-server', '--port', '0', '--po'], {
      timeoutMs: 15_000,
    });
    expect({ code: serverRun.code, stdout: serverRun.stdout, stderr: serverRun.stderr }).toEqual({
      code: 0,
      stdout: '--port\n',
      stderr: '',
    });
  }, 60_000);

  it('offers your secret names to pbook only with a token at hand', async () => {
    await client().setSecret('COMPLETE_ME', 'v');
    const withToken = await runCli('pbook', ['--get-yargs-completions', 'pbook', 'delete-secret', 'COMP'], {
      env: env(),
    });
    expect(withToken.stdout).toBe('COMPLETE_ME\n');
    const without = await runCli('pbook', ['--get-yargs-completions', 'pbook', 'delete-secret', 'COMP'], {
      env: cleanEnv({ PANDA_URL_SSL: server.url }),
    });
    expect({ code: without.code, stdout: without.stdout, stderr: without.stderr }).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  }, 30_000);

  it.each([
    'pbook',
    'prun',
    'panda-pilot',
    'panda-server',
  ] as const)('%s completion prints the bash and the zsh script', async (name) => {
    const program = name;
    const bash = await runCli(name, ['completion', 'bash']);
    expect(bash.stdout).toContain(`complete -o bashdefault -o default -F _${program}_yargs_completions ${program}`);
    const zsh = await runCli(name, ['completion', 'zsh']);
    expect(zsh.stdout).toContain(`compdef _${program}_yargs_completions ${program}`);
  }, 30_000);
});

/** Runs a program whose stdout reader goes away at once, as `| head -0` does. */
function withClosedStdout(name: BinName, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath(name), ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    const stderr: Buffer[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

describe('a closed stdout', () => {
  it('ends every program quietly with exit 0, as git does', async () => {
    for (let i = 0; i < 20; i += 1) await client().setSecret(`PIPE_${i}`, 'x'.repeat(5000));
    for (const [name, args] of [
      ['pbook', ['list-secrets', '--full']],
      ['pbook', ['-c', 'list_secrets(full=True)']],
      ['pbook', ['--help']],
      ['prun', ['--help']],
      ['panda-pilot', ['--help']],
      ['panda-server', ['--help']],
    ] as const) {
      expect({ name, args, ...(await withClosedStdout(name, [...args])) }).toEqual({ name, args, code: 0, stderr: '' });
    }
  }, 60_000);
});

/** The words of a text: a word cut in two at a line's end shows up as two. */
const wordsOf = (text: string) => text.split(/\s+/).filter(Boolean);

/** A program's help as a terminal of `columns` columns shows it (util-linux `script`). */
function helpOnTerminal(name: BinName, args: string[], columns: number | undefined): Promise<string> {
  const resize = columns === undefined ? '' : `stty cols ${columns}; `;
  const command = `${resize}exec '${process.execPath}' '${binPath(name)}' ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: cleanEnv({ TERM: 'xterm' }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(output).toString('utf8').replace(/\r\n/g, '\n')));
    child.stdin.end();
  });
}

describe('help on a terminal', () => {
  it.each([60, 200])('fits %i columns without splitting a word, with examples', async (columns) => {
    const { screen } = await runPbookInTerminal(['list-secrets', '--help'], [], cleanEnv(), { columns });
    expect(screen).toContain('Examples:\n  pbook list-secrets\n');
    for (const line of screen.split('\n')) expect(line.length).toBeLessThanOrEqual(Math.min(columns, 120));
    expect(screen).toContain('show whole values');
  }, 30_000);

  it.each([60, 200])('of every program fits %i columns, its words whole, and has examples', async (columns) => {
    for (const [name, args] of [
      ['pbook', ['--help']],
      ['pbook', ['set-secret', '--help']],
      ['prun', ['--help']],
      ['panda-pilot', ['--help']],
      ['panda-server', ['--help']],
      ['panda-server', ['token', '--help']],
    ] as const) {
      const [screen, unbounded] = await Promise.all([
        helpOnTerminal(name, [...args], columns),
        runCli(name, [...args]),
      ]);
      const lines = screen.split('\n');
      for (const line of lines)
        expect({ name, args, line, fits: line.length <= columns }).toMatchObject({ fits: true });
      expect({ name, args, words: wordsOf(screen) }).toEqual({ name, args, words: wordsOf(unbounded.stdout) });
      expect(screen).toContain('\nExamples:\n');
      // The environment paragraph is filled: a line ends only where the next word would not fit in
      // the help's width (the terminal's, or less: each program has a widest help).
      const width = Math.max(...lines.map((line) => line.length));
      const from = lines.findIndex((line) => line.startsWith('Environment:'));
      const environment =
        from === -1
          ? []
          : lines.slice(
              from,
              lines.findIndex((line) => line.startsWith('Exit codes:')),
            );
      environment.slice(0, -1).forEach((line, at) => {
        const next = wordsOf(environment[at + 1] ?? '')[0] ?? '';
        expect({ name, line, next, filled: line.length + 1 + next.length > width }).toMatchObject({ filled: true });
      });
    }
  }, 60_000);
});

describe("a PanDA user's settings and mistakes", () => {
  it("works with PanDA's PANDA_URL_SSL form, https://host:port/server/panda, and with such a --server", async () => {
    await client().setSecret('PANDA_FORM', 'carried over');
    const viaEnv = await runCli('pbook', ['list-secrets', '--names'], {
      env: cleanEnv({ PANDA_URL_SSL: `${server.url}/server/panda`, PANDA_AUTH_ID_TOKEN: token }),
    });
    expect({ code: viaEnv.code, stderr: viaEnv.stderr }).toEqual({ code: 0, stderr: '' });
    expect(viaEnv.stdout).toContain('PANDA_FORM\n');
    const viaFlag = await runCli('pbook', ['--server', `${server.url}/server/panda/`, 'get-secret', 'PANDA_FORM'], {
      env: env(),
    });
    expect({ code: viaFlag.code, stdout: viaFlag.stdout }).toEqual({ code: 0, stdout: 'carried over' });
  }, 30_000);

  it('says what was wrong and what to do, instead of misleading messages', async () => {
    const tokenFile = join(dir, 'two-lines');
    await writeFile(tokenFile, `${token}\n${token}\n`);
    const twoLines = await runCli('pbook', ['list-secrets', '--token-file', tokenFile], {
      env: cleanEnv({ PANDA_URL_SSL: server.url }),
    });
    expect({ code: twoLines.code, stderr: twoLines.stderr }).toEqual({
      code: 4,
      stderr: `pbook: the token file "${tokenFile}" (--token-file) holds more than one word: a token is a single line without spaces; write only the token there\n`,
    });
    const https = server.url.replace('http:', 'https:');
    const tls = await runCli('pbook', ['list-secrets', '--server', https], { env: env() });
    expect({ code: tls.code, stderr: tls.stderr }).toEqual({
      code: 1,
      stderr: `pbook: panda-server at ${https} does not answer HTTPS: if it serves plain HTTP (as it does without --tls-cert) on this machine, use the address with http://, else check that the address names the right port\n`,
    });
    const words = await runCli('pbook', ['set_secret', 'K', 'hello', 'world'], { env: env() });
    expect({ code: words.code, stderr: words.stderr }).toEqual({
      code: 2,
      stderr:
        'pbook: set_secret takes KEY VALUE is_file=..., but got 3 words: quote a value that has spaces as one word, e.g. pbook set_secret KEY "hello world"\n',
    });
    const json = await runCli('pbook', ['list_secrets', '--json'], { env: env() });
    expect(json.code).toBe(2);
    expect(json.stderr).not.toContain("starts with '-'");
    expect(json.stderr).toContain('for JSON, names only or metadata use "pbook list-secrets --json"');
  }, 30_000);
});

describe('panda-server token --out', () => {
  it('writes the token to a 0600 file and refuses a symbolic link', async () => {
    const out = join(dir, 'token');
    await writeFile(out, 'old', { mode: 0o644 });
    const made = await runCli('panda-server', ['token', '--user', 'jdoe', '--data-dir', server.dataDir, '--out', out]);
    expect({ code: made.code, stdout: made.stdout }).toEqual({ code: 0, stdout: '' });
    expect((await lstat(out)).mode & 0o777).toBe(0o600);
    expect(await readFile(out, 'utf8')).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const target = join(dir, 'elsewhere');
    await writeFile(target, 'untouched');
    const link = join(dir, 'link');
    await symlink(target, link);
    const refused = await runCli('panda-server', [
      'token',
      '--user',
      'jdoe',
      '--data-dir',
      server.dataDir,
      '--out',
      link,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is a symbolic link');
    expect(await readFile(target, 'utf8')).toBe('untouched');
  }, 30_000);
});
