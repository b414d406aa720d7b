import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PandaError } from '@panda-secrets/protocol';
import { localFiles } from './local-files.js';
import { FakeClient, runPbook } from './testing/fakes.js';
import { noTokenMessage } from '@panda-secrets/client';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbook-program-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('connection settings', () => {
  it('takes the server, token and VO from the flags first', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'file-token\n');
    const run = await runPbook(
      ['list-secrets', '--server', 'https://flag:1', '--token-file', tokenFile, '--vo', 'atlas'],
      {
        env: { PANDA_URL_SSL: 'https://env:2', PANDA_AUTH_ID_TOKEN: 'env-token', PANDA_AUTH_VO: 'cms' },
        fs: localFiles,
      },
    );
    expect(run.code).toBe(0);
    expect(run.clientOptions).toEqual([{ server: 'https://flag:1', token: 'file-token', vo: 'atlas' }]);
  });

  it("falls back to PanDA's environment variables, then to the local default server", async () => {
    const fromEnv = await runPbook(['list-secrets'], {
      env: { PANDA_URL_SSL: 'https://env:2', PANDA_AUTH_ID_TOKEN: 'env-token', PANDA_AUTH_VO: 'cms' },
    });
    expect(fromEnv.clientOptions).toEqual([{ server: 'https://env:2', token: 'env-token', vo: 'cms' }]);
    const tokenFile = join(dir, 'oidc-token');
    await writeFile(tokenFile, '  oidc-token \n');
    const fromFile = await runPbook(['list-secrets'], {
      env: { PANDA_AUTH_ID_TOKEN: undefined, OIDC_AUTH_TOKEN_FILE: tokenFile },
      fs: localFiles,
    });
    expect(fromFile.clientOptions).toEqual([{ server: 'http://127.0.0.1:25080', token: 'oidc-token' }]);
  });

  it('exits 4 without a token, saying the three ways to give one', async () => {
    const run = await runPbook(['delete-secret', 'K'], { env: { PANDA_AUTH_ID_TOKEN: undefined } });
    expect([run.code, run.stderr]).toEqual([4, `pbook: ${noTokenMessage()}\n`]);
    expect(run.client.calls).toEqual([]);
  });

  it('exits 4 naming a token file that cannot be read', async () => {
    const run = await runPbook(['list-secrets', '--token-file', join(dir, 'missing')], { fs: localFiles });
    expect(run.code).toBe(4);
    expect(run.stderr).toBe(
      `pbook: cannot read the token file "${join(dir, 'missing')}" (--token-file): no such file\n`,
    );
  });

  it('exits 1 for a server address that is not an http(s) URL', async () => {
    const run = await runPbook(['list-secrets', '--server', 'ftp://x']);
    expect([run.code, run.stderr]).toEqual([
      1,
      'pbook: the server address "ftp://x" (--server) must start with http:// or https://\n',
    ]);
  });
});

describe('command line', () => {
  it('prints help to stdout and exits 0', async () => {
    const run = await runPbook(['--help']);
    expect(run.code).toBe(0);
    for (const text of ['pbook set-secret <name>', 'pbook set_secret [args..]', '--token-file', 'Exit codes: 0 ok']) {
      expect(run.stdout).toContain(text);
    }
  });

  it('prints the version', async () => {
    expect((await runPbook(['--version'])).stdout).toBe('1.2.3\n');
  });

  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['set-secret', 'K1', 'valD-5555'], '1 unexpected argument (not shown, as it may hold a secret)'],
    [['set-secret'], 'Not enough non-option arguments: got 0, need at least 1'],
    [['set-secret', 'K', '--file', 'a', '--value-file', 'b'], 'Arguments value-file and file are mutually exclusive'],
    [['no-such-command'], 'unknown command "no-such-command"'],
    // Not the group -d -a -s -h, which showed the help, exited 0 and stored nothing.
    [['set-secret', 'K', '-dash'], 'unknown option --dash'],
    [['-vc', 'list_secrets()'], 'unknown option --vc'],
  ])('exits 2 on %j', async (args, message) => {
    const run = await runPbook(args);
    expect([run.code, run.stderr]).toEqual([
      2,
      `pbook: ${message}\nRun "pbook --help" for the commands and options.\n`,
    ]);
  });

  it('takes the single-letter options one by one', async () => {
    const client = new FakeClient();
    client.secrets.set('K', 'value');
    const code = await runPbook(['-i', '-c', 'list_secrets()'], { client });
    expect([code.code, code.stdout]).toEqual([0, 'K\tenv\tvalue\n']);
    expect((await runPbook(['-h'])).stdout).toContain('pbook set_secret [args..]');
    const verbose = await runPbook(['delete-secret', 'NOPE', '-v'], { client });
    expect(verbose.stderr).toMatch(/^pbook: no secret named "NOPE"\nPandaError: /);
    const all = await runPbook(['delete-all-secrets', '-y'], { client });
    expect([all.code, client.secrets.size]).toEqual([0, 0]);
  });

  it('maps error codes to exit codes and shows the stack only with --verbose', async () => {
    const client = new FakeClient();
    client.getSecrets = async () => {
      throw new PandaError('SERVER_ERROR', 'the store failed', { cause: new Error('disk full') });
    };
    const quiet = await runPbook(['list-secrets'], { client });
    expect([quiet.code, quiet.stderr]).toEqual([1, 'pbook: the store failed\n']);
    const verbose = await runPbook(['list-secrets', '--verbose'], { client });
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^pbook: the store failed\nPandaError: the store failed\n\s+at /);
    expect(verbose.stderr).toContain('caused by: Error: disk full');
  });
});

describe("PanDA's batch form", () => {
  it.each([
    [['set_secret', 'K', 'a=b'], 'a=b'],
    [['set_secret', 'K', '1,2'], '1,2'],
    [['set_secret', 'K', '007'], '007'],
    [['set_secret', 'K', 'True'], 'True'],
    [['set_secret', 'K', 'is_file=True'], 'is_file=True'],
    [['set_secret', 'K', '--', '-x y'], '-x y'],
    [['set_secret', 'K', '--', '-dash'], '-dash'],
  ])('stores %j as the exact string', async (args, value) => {
    const run = await runPbook(args);
    expect(run.code).toBe(0);
    expect(run.client.secrets).toEqual(new Map([['K', value]]));
    expect(run.stderr.split('\n')[0]).toBe('set K');
  });

  it.each([
    [['set_secret', 'K', '-dash'], 'unknown option --dash'],
    [['set_secret', 'K', '-xyz'], 'unknown option --xyz'],
  ])('refuses %j with exit 2, saying how to pass a value that starts with -', async (args, message) => {
    const run = await runPbook(args);
    expect([run.code, run.stderr]).toEqual([
      2,
      `pbook: ${message}\nRun "pbook --help" for the commands and options.\n` +
        `A value that starts with '-' needs '--' before it, e.g. "pbook set_secret NAME -- -value".\n`,
    ]);
    expect([run.stdout, run.client.calls]).toEqual(['', []]);
  });

  it('answers an option given to list_secrets with the listing options of list-secrets, not the hint about values', async () => {
    const run = await runPbook(['list_secrets', '--json']);
    expect([run.code, run.stderr]).toEqual([
      2,
      'pbook: unknown option --json\nRun "pbook --help" for the commands and options.\n' +
        'list_secrets takes only full=True; for JSON, names only or metadata use "pbook list-secrets --json" (see pbook list-secrets --help).\n',
    ]);
  });

  it('stores a file with is_file=True', async () => {
    const path = join(dir, 'batch.dat');
    await writeFile(path, Buffer.from([0, 255, 10]));
    const run = await runPbook(['set_secret', 'my.dat', path, 'is_file=True'], { fs: localFiles });
    expect(run.code).toBe(0);
    expect(run.client.secrets).toEqual(new Map([['___file___:my.dat', 'AP8K']]));
    expect(run.stderr).toBe('set file my.dat (3 bytes)\n');
  });

  it('lists with full=True, deletes one and all without asking', async () => {
    const client = new FakeClient();
    client.secrets.set('K', 'v'.repeat(60));
    const list = await runPbook(['list_secrets', 'full=True'], { client });
    expect(list.stdout).toBe(`K\tenv\t${'v'.repeat(60)}\n`);
    const short = await runPbook(['list_secrets'], { client });
    expect(short.stdout).toBe(`K\tenv\t${'v'.repeat(50)}...\n`);
    expect((await runPbook(['delete_secret', 'K'], { client })).code).toBe(0);
    client.secrets.set('A', 'x');
    const all = await runPbook(['delete_all_secrets'], { client });
    expect([all.code, all.stderr, all.questions]).toEqual([0, 'deleted all secrets\n', []]);
    expect(client.secrets.size).toBe(0);
  });

  it.each([
    [['set_secret', 'K'], 2, "pbook: TypeError: set_secret() missing 1 required positional argument: 'value'\n"],
    [['set_secret', 'K', 'V', 'is_file=maybe'], 2, 'pbook: is_file must be True or False (write is_file=True)\n'],
    [
      ['set_secret', 'K', 'hello', 'world'],
      2,
      'pbook: set_secret takes KEY VALUE is_file=..., but got 3 words: quote a value that has spaces as one word, e.g. pbook set_secret KEY "hello world"\n',
    ],
    [['delete_secret'], 2, "pbook: TypeError: delete_secret() missing 1 required positional argument: 'key'\n"],
    [['list_secrets', 'full=True', 'x'], 2, 'pbook: full must be True or False (write full=True)\n'],
    [['list_secrets', 'bogus=1'], 2, "pbook: TypeError: list_secrets() got an unexpected keyword argument 'bogus'\n"],
    [
      ['set_secret', 'K', 'V', 'bogus=val-9876'],
      2,
      "pbook: TypeError: set_secret() got an unexpected keyword argument 'bogus'\n",
    ],
    [
      ['set_secret', 'K', 'V', 'value=val-9876'],
      2,
      "pbook: TypeError: set_secret() got multiple values for argument 'value'\n",
    ],
    [['delete_secret', 'K'], 3, 'pbook: no secret named "K"\n'],
  ])('%j exits %i', async (args, code, stderr) => {
    const run = await runPbook(args);
    expect([run.code, run.stderr]).toEqual([code, stderr]);
  });
});

describe('piped stdin', () => {
  it('exits 2 after a delete_all_secrets(), which asks on a terminal only; -c does not ask', async () => {
    const client = new FakeClient();
    client.secrets.set('K', 'value');
    const piped = await runPbook([], { client, stdin: "delete_all_secrets()\nset_secret('T2', 'tttt')\n" });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(
      /^error: delete_all_secrets\(\) asks for a confirmation typed on a terminal.*\nset T2\npbook: 1 statement failed \(see above\)\n$/,
    );
    expect([...client.secrets.keys()]).toEqual(['K', 'T2']);
    const batch = await runPbook(['-c', 'delete_all_secrets()'], { client });
    expect([batch.code, client.secrets.size]).toEqual([0, 0]);
  });
});

describe('-c', () => {
  it('runs the statements in order', async () => {
    const run = await runPbook(['-c', "import json; set_secret('D', json.dumps({'a': [1, None]}))\nlist_secrets()"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('D\tenv\t{"a": [1, null]}\n');
    expect(run.stderr).toBe('set D\n');
  });

  it('stops at the first error with its exit code', async () => {
    const run = await runPbook(['-c', "set_secret('A-B', 'v'); set_secret('OK', 'value')"]);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^pbook: invalid secret name "A-B": a secret name must be an environment variable name/);
    expect(run.client.calls).toEqual([]);
  });

  it('does not echo expression values and stops at exit()', async () => {
    const run = await runPbook(['-c', "'x'; exit(); set_secret('K', 'value')"]);
    expect([run.code, run.stdout, run.client.calls]).toEqual([0, '', []]);
  });

  it('exits 2 on a syntax error', async () => {
    const run = await runPbook(['-c', "set_secret('K', 'V'"]);
    expect([run.code, run.stderr]).toEqual([
      2,
      "pbook: SyntaxError: expected ',' but found end of input (column 20)\n",
    ]);
  });
});
