import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PandaClient } from '@panda-secrets/client';
import { ENV_NAME_RULE, FILE_NAME_RULE, MAX_FILE_BYTES, MAX_VALUE_BYTES } from '@panda-secrets/protocol';
import { SEED_SESSION, cleanEnv, freePort, pandaErrorOf, runCli, startServer } from '@panda-secrets/testkit';
import type { CliResult, RunCliOptions, RunningServer } from '@panda-secrets/testkit';
import { runPbookInTerminal } from '../testing/terminal.js';

// End-to-end: the built pbook as a child process against a real panda-server on a real socket.

let server: RunningServer;
let dir: string;
const tokens = new Map<string, string>();
/** Temporary folders made outside `dir` (token files), removed at the end. */
const cleanup: string[] = [];

beforeAll(async () => {
  [server, dir] = await Promise.all([startServer(), mkdtemp(join(tmpdir(), 'pbook-e2e-'))]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all(
    [...cleanup, server?.dataDir, dir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
});

async function tokenOf(user: string): Promise<string> {
  const known = tokens.get(user);
  if (known !== undefined) return known;
  const token = await server.token(user);
  tokens.set(user, token);
  return token;
}

async function envOf(user: string): Promise<NodeJS.ProcessEnv> {
  return cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: await tokenOf(user) });
}

async function pbook(user: string, args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  return runCli('pbook', args, { env: await envOf(user), ...options });
}

async function clientOf(user: string): Promise<PandaClient> {
  return new PandaClient({ server: server.url, token: await tokenOf(user) });
}

async function secretsOf(user: string): Promise<Record<string, string>> {
  return (await clientOf(user)).getSecrets();
}

async function fileWith(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** The seed's session with its file path pointing at a real file (the only change). */
function seedSession(path: string): string[] {
  return SEED_SESSION.map((line) => line.replace('/somewhere/secret_file_path', path));
}

// Longer than 50 characters in base64, so the listing cuts it.
const SEED_FILE = Buffer.concat([Buffer.from('seed file\n'), randomBytes(90)]);
const SEED_BASE64 = SEED_FILE.toString('base64');

describe("the seed's session", () => {
  it('works typed into the shell through stdin', async () => {
    const path = await fileWith('seed-stdin.dat', SEED_FILE);
    const run = await pbook('seed-stdin', [], { input: [...seedSession(path), 'list_secrets(full=True)'].join('\n') });
    expect(run.stderr).toBe(
      `set MY_SECRET\nset MY_SECRET_DIC\nset file my_secret_file.dat (${SEED_FILE.length} bytes)\n`,
    );
    expect(run.code).toBe(0);
    const rows = (fileValue: string) => [
      'MY_SECRET\tenv\trandom_string',
      'MY_SECRET_DIC\tenv\t{"a_key": "a_value"}',
      `my_secret_file.dat\tfile\t${fileValue}`,
    ];
    expect(run.stdout).toBe(`${[...rows(`${SEED_BASE64.slice(0, 50)}...`), ...rows(SEED_BASE64)].join('\n')}\n`);
    expect(await secretsOf('seed-stdin')).toEqual({
      MY_SECRET: 'random_string',
      MY_SECRET_DIC: '{"a_key": "a_value"}',
      '___file___:my_secret_file.dat': SEED_BASE64,
    });
  });

  it('works typed into the shell on a pseudo-terminal, with prompt, table and confirmation', async () => {
    const path = await fileWith('seed-tty.dat', SEED_FILE);
    const lines = [...seedSession(path), 'list_secrets(full=True)', 'delete_all_secrets()', 'y', 'exit()'];
    const { code, screen } = await runPbookInTerminal([], lines, await envOf('seed-tty'));
    expect(code).toBe(0);
    expect(screen).toContain(">>> set_secret('MY_SECRET', 'random_string')\nset MY_SECRET\n>>> ");
    expect(screen).toMatch(/│ Key\s+│ Type │ Value\s+│/);
    expect(screen).toMatch(/│ MY_SECRET\s+│ env {2}│ random_string\s+│/);
    expect(screen).toMatch(/│ MY_SECRET_DIC\s+│ env {2}│ \{"a_key": "a_value"\}\s+│/);
    expect(screen).toContain(`│ my_secret_file.dat │ file │ ${SEED_BASE64.slice(0, 50)}... │`);
    expect(screen).toContain(`│ my_secret_file.dat │ file │ ${SEED_BASE64} │`);
    expect(screen).toContain(
      '>>> delete_all_secrets()\nDelete all your secrets? [y/N] y\ndeleted all secrets\n>>> exit()\n',
    );
    expect(await secretsOf('seed-tty')).toEqual({});
  });

  it('runs lines pasted on a pseudo-terminal and ends at the Ctrl-D after them', async () => {
    const path = await fileWith('seed-paste.dat', SEED_FILE);
    const { code, screen } = await runPbookInTerminal([], seedSession(path), await envOf('seed-paste'), {
      paste: true,
    });
    expect(code).toBe(0);
    expect(screen).toContain(`│ my_secret_file.dat │ file │ ${SEED_BASE64.slice(0, 50)}... │`);
    expect(Object.keys(await secretsOf('seed-paste'))).toEqual([
      'MY_SECRET',
      'MY_SECRET_DIC',
      '___file___:my_secret_file.dat',
    ]);
  });

  it('ends at Ctrl-D typed at the prompt', async () => {
    const { code, screen } = await runPbookInTerminal([], ['help(delete_secret)'], await envOf('seed-paste'));
    expect(code).toBe(0);
    expect(screen).toContain(
      '>>> help(delete_secret)\ndelete_secret(key)\n\n    Delete one secret, an environment variable or a file.\n>>> \n',
    );
  });
});

describe('the terminal prompts of the script commands', () => {
  it('reads a value typed at a hidden prompt, never echoing it', async () => {
    const { code, screen } = await runPbookInTerminal(
      ['set-secret', 'TYPED'],
      ['typed-in-secret'],
      await envOf('prompts'),
    );
    expect(code).toBe(0);
    expect(screen).toBe('Value of TYPED: \nset TYPED\n');
    expect(await secretsOf('prompts')).toEqual({ TYPED: 'typed-in-secret' });
  });

  it('asks before deleting all secrets, and keeps them on no', async () => {
    const env = await envOf('prompts');
    const kept = await runPbookInTerminal(['delete-all-secrets'], ['n'], env);
    expect([kept.code, kept.screen]).toEqual([0, 'Delete all your secrets? [y/N] n\nnothing deleted\n']);
    expect(await secretsOf('prompts')).toEqual({ TYPED: 'typed-in-secret' });
    const deleted = await runPbookInTerminal(['delete-all-secrets'], ['yes'], env);
    expect([deleted.code, deleted.screen]).toEqual([0, 'Delete all your secrets? [y/N] yes\ndeleted all secrets\n']);
    expect(await secretsOf('prompts')).toEqual({});
  });
});

describe('list-secrets on a terminal', () => {
  it('wraps long values within its width, and keeps them whole when piped', async () => {
    const value = randomBytes(200).toString('base64');
    await (await clientOf('wrap')).setSecret('___file___:wide.dat', value);
    const { code, screen } = await runPbookInTerminal(['list-secrets', '--full'], [], await envOf('wrap'), {
      columns: 60,
    });
    expect(code).toBe(0);
    const lines = screen.trimEnd().split('\n');
    expect(new Set(lines.map((line) => line.length))).toEqual(new Set([60]));
    // Key, Type, Size, Updated, Value: the value is the fifth column.
    expect(
      lines
        .slice(3, -1)
        .map((line) => line.split('│')[5]?.trim())
        .join(''),
    ).toBe(value);
    expect(lines[3]).toMatch(/^│ wide\.dat │ file │ 200 B │ just now │ /);
    const piped = await pbook('wrap', ['list-secrets', '--full']);
    expect(piped.stdout).toMatch(
      new RegExp(
        `^wide\\.dat\tfile\t${value.replace(/[+/]/g, '\\$&')}\t200\t\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\n$`,
      ),
    );
  });
});

describe('secret files', () => {
  it('round-trips random bytes, NUL and invalid UTF-8 included, byte-exact', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0xc3, 0x28, 0x0d, 0x0a, 0]), randomBytes(64 * 1024)]);
    const path = await fileWith('random.bin', bytes);
    const set = await pbook('files', ['set-secret', 'random.bin', '--file', path]);
    expect([set.code, set.stderr]).toEqual([0, `set file random.bin (${bytes.length} bytes)\n`]);
    const list = await pbook('files', ['list-secrets', '--json', '--full']);
    const entry = (JSON.parse(list.stdout) as Array<{ key: string; type: string; value: string }>).find(
      (item) => item.key === 'random.bin',
    );
    expect(entry?.type).toBe('file');
    expect(Buffer.from(entry?.value ?? '', 'base64').equals(bytes)).toBe(true);
  });

  it('accepts exactly 1,024,000 bytes and rejects 1,024,001 at pbook, sending nothing', async () => {
    const atLimit = await fileWith('limit.dat', randomBytes(MAX_FILE_BYTES));
    expect((await pbook('file-limit', ['set-secret', 'limit.dat', '--file', atLimit])).code).toBe(0);
    const over = await fileWith('over.dat', randomBytes(MAX_FILE_BYTES + 1));
    const run = await pbook('file-limit', ['set_secret', 'over.dat', over, 'is_file=True']);
    expect([run.code, run.stderr]).toEqual([
      5,
      'pbook: the secret file "over.dat" is 1024001 bytes; the limit is 1024000 bytes (1000 kB)\n',
    ]);
    expect(Object.keys(await secretsOf('file-limit'))).toEqual(['___file___:limit.dat']);
  });

  it('accepts exactly 1,024,000 bytes and rejects 1,024,001 sent raw to the server', async () => {
    const client = await clientOf('file-limit-raw');
    await client.setSecret('___file___:limit.dat', Buffer.alloc(MAX_FILE_BYTES, 1).toString('base64'));
    const error = await pandaErrorOf(
      client.setSecret('___file___:over.dat', Buffer.alloc(MAX_FILE_BYTES + 1, 1).toString('base64')),
    );
    expect(error.code).toBe('TOO_LARGE');
    expect(error.message).toContain('1024000');
    expect(Object.keys(await client.getSecrets())).toEqual(['___file___:limit.dat']);
  });

  it('rejects a missing local file with exit 5, naming it', async () => {
    const path = join(dir, 'no-such-file');
    const run = await pbook('files', ['set-secret', 'x.dat', '--file', path]);
    expect([run.code, run.stderr]).toEqual([5, `pbook: cannot read the file "${path}": no such file\n`]);
  });
});

describe('a process substitution, <(command), as the file', () => {
  it('--value-file and --file read it; an endless one is refused once over the limit, nothing stored', async () => {
    const inBash = (script: string) => pbook('subst', [], { bashScript: script });
    const set = await inBash(
      `"$BIN" set-secret FROM_PIPE --value-file <(printf 'piped-value\\n') && "$BIN" set-secret piped.dat --file <(printf 'file bytes')`,
    );
    expect([set.code, set.stderr]).toEqual([0, 'set FROM_PIPE\nset file piped.dat (10 bytes)\n']);
    const endless = await inBash('"$BIN" set-secret ENDLESS --value-file <(yes)');
    expect(endless.code).toBe(5);
    expect(endless.stderr).toMatch(/^pbook: the value of "ENDLESS" \(file "\/dev\/fd\/\d+"\) is over the 131069 bytes/);
    const folder = await inBash(`"$BIN" set-secret FOLDER --value-file '${dir}'`);
    expect([folder.code, folder.stderr]).toEqual([5, `pbook: cannot read the file "${dir}": it is a directory\n`]);
    expect(await secretsOf('subst')).toEqual({
      FROM_PIPE: 'piped-value',
      '___file___:piped.dat': Buffer.from('file bytes').toString('base64'),
    });
  }, 30_000);
});

describe('string values', () => {
  // The largest value of a four-letter name: NAME=value and its NUL take 131072 bytes.
  const atLimit = 'é'.repeat((MAX_VALUE_BYTES - 3) / 2);

  it('accepts the largest value an environment variable can carry and rejects one byte more at pbook', async () => {
    const ok = await pbook('value-limit', ['set-secret', 'BIG'], { input: `${atLimit}\n` });
    expect([ok.code, ok.stderr]).toEqual([0, 'set BIG\n']);
    const over = await pbook('value-limit', ['set-secret', 'OVER'], { input: `${atLimit}x` });
    expect([over.code, over.stderr]).toEqual([
      5,
      'pbook: the value of "OVER" is 131067 bytes of UTF-8; an environment variable can carry at most 131066 bytes under this name ' +
        '(131072 bytes for NAME=value): store it as a secret file instead (at most 1024000 bytes, any bytes)\n',
    ]);
    expect(await secretsOf('value-limit')).toEqual({ BIG: atLimit });
  });

  it('refuses a value holding NUL with exit 5, storing nothing', async () => {
    const run = await pbook('nul-value', ['set-secret', 'WITH_NUL'], { input: 'nul-s3cr3t\0tail' });
    expect([run.code, run.stderr]).toEqual([
      5,
      'pbook: the value of "WITH_NUL" holds a NUL character, which no environment variable can carry: store it as a secret file instead (at most 1024000 bytes, any bytes)\n',
    ]);
    expect(await secretsOf('nul-value')).toEqual({});
  });

  it('accepts the largest value and rejects one byte more sent raw to the server', async () => {
    const client = await clientOf('value-limit-raw');
    await client.setSecret('BIG', atLimit);
    const error = await pandaErrorOf(client.setSecret('OVER', `${atLimit}x`));
    expect(error.code).toBe('TOO_LARGE');
    expect(error.message).toContain('at most 131066 bytes under this name');
    expect(await client.getSecrets()).toEqual({ BIG: atLimit });
  });

  it('never prints the value when storing it, and warns about short values', async () => {
    const value = 'correct horse battery staple';
    const run = await pbook('quiet', ['set-secret', 'HORSE', '--value-file', '-'], { input: value });
    expect(run.code).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(value);
    const short = await pbook('quiet', ['set_secret', 'PIN', '123']);
    expect(short.stderr).toBe(
      'set PIN\nwarning: the value of PIN is shorter than 4 characters, so it is not masked in job logs\n',
    );
    expect(await secretsOf('quiet')).toEqual({ HORSE: value, PIN: '123' });
  });
});

describe('invalid names', () => {
  it.each(['1ABC', 'A-B', '', 'A B'])('rejects the env name %j at pbook and at the server', async (name) => {
    const run = await pbook('names', ['set-secret', name], { input: 'value' });
    expect(run.code).toBe(5);
    expect(run.stderr).toBe(
      `pbook: invalid secret name ${JSON.stringify(name)}: a secret name must be ${ENV_NAME_RULE}\n`,
    );
    const error = await pandaErrorOf((await clientOf('names')).setSecret(name, 'value'));
    expect(error.code).toBe('INVALID_NAME');
    expect(error.message).toContain(ENV_NAME_RULE);
    expect(await secretsOf('names')).toEqual({});
  });

  it.each(['../x', 'a/b', '.', '..'])('rejects the file name %j at pbook and at the server', async (name) => {
    const path = await fileWith('named.dat', Buffer.from('data'));
    const run = await pbook('names', ['set-secret', name, '--file', path]);
    expect(run.code).toBe(5);
    expect(run.stderr).toBe(
      `pbook: invalid secret file name ${JSON.stringify(name)}: a secret file name must be ${FILE_NAME_RULE}\n`,
    );
    const error = await pandaErrorOf((await clientOf('names')).setSecret(`___file___:${name}`, 'ZGF0YQ=='));
    expect(error.code).toBe('INVALID_NAME');
    expect(error.message).toContain(FILE_NAME_RULE);
    expect(await secretsOf('names')).toEqual({});
  });
});

describe('isolation', () => {
  it('keeps alice from reading, overwriting or deleting what bob stored', async () => {
    expect((await pbook('bob', ['set-secret', 'SHARED'], { input: 'bob-value' })).code).toBe(0);
    expect((await pbook('alice', ['list-secrets', '--json'])).stdout).toBe('[]\n');
    const deleted = await pbook('alice', ['delete-secret', 'SHARED']);
    expect(deleted.code).toBe(3);
    expect((await pbook('alice', ['set-secret', 'SHARED'], { input: 'alice-value' })).code).toBe(0);
    expect((await pbook('alice', ['delete-all-secrets', '--yes'])).code).toBe(0);
    expect(await secretsOf('bob')).toEqual({ SHARED: 'bob-value' });
    expect(await secretsOf('alice')).toEqual({});
  });
});

describe('exit codes', () => {
  it('0 on success, 3 for deleting a missing key', async () => {
    expect((await pbook('codes', ['set_secret', 'K', 'value'])).code).toBe(0);
    expect((await pbook('codes', ['delete_secret', 'K'])).code).toBe(0);
    const missing = await pbook('codes', ['delete-secret', 'K']);
    expect([missing.code, missing.stderr]).toEqual([
      3,
      'pbook: no secret named "K": nothing was deleted (list your secrets with list_secrets)\n',
    ]);
  });

  it('2 for usage errors, including delete-all-secrets without a terminal or --yes', async () => {
    expect((await pbook('codes', ['list-secrets', '--bogus'])).code).toBe(2);
    expect((await pbook('codes', ['delete-all-secrets'])).code).toBe(2);
  });

  it('4 without a token or with a token the server refuses', async () => {
    const none = await runCli('pbook', ['list-secrets'], { env: cleanEnv({ PANDA_URL_SSL: server.url }) });
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('--token-file FILE, or set PANDA_AUTH_ID_TOKEN');
    expect(none.stderr).toContain('signing in needs your VO (--vo or PANDA_AUTH_VO)');
    const forged = await runCli('pbook', ['list-secrets'], {
      env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: 'not.a.token' }),
    });
    expect(forged.code).toBe(4);
  });

  it('0 with a token from --token-file or OIDC_AUTH_TOKEN_FILE', async () => {
    const file = await server.tokenFile('token-file-user');
    cleanup.push(dirname(file));
    const run = await runCli('pbook', ['set_secret', 'K', 'value', '--token-file', file], {
      env: cleanEnv({ PANDA_URL_SSL: server.url }),
    });
    expect(run.code).toBe(0);
    const viaEnv = await runCli('pbook', ['list_secrets'], {
      env: cleanEnv({ PANDA_URL_SSL: server.url, OIDC_AUTH_TOKEN_FILE: file }),
    });
    expect(viaEnv.stdout).toBe('K\tenv\tvalue\n');
  });

  it('1 when the server cannot be reached', async () => {
    const port = await freePort();
    const run = await runCli('pbook', ['list-secrets', '--server', `http://127.0.0.1:${port}`], {
      env: cleanEnv({ PANDA_AUTH_ID_TOKEN: await tokenOf('codes') }),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`pbook: cannot reach panda-server at http://127.0.0.1:${port} (connection refused)`);
  });
});
