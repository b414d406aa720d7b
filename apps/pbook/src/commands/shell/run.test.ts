import { describe, expect, it } from '@jest/globals';
import type { FileSystem } from '../../deps.js';
import { FakeClient, regularFile, runCommand } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { SEED_SESSION } from '@panda-secrets/testkit/unit';
import { runShell } from './run.js';
import type { ShellOptions } from './index.js';

const FILE_BYTES = Buffer.from('H4sIABmjwWEAA+3TTU7DMBAF4P2cwhdI6m4QAtGMEULxKCrgSB-and-more-bytes');
const FILE_BASE64 = FILE_BYTES.toString('base64');
const seedFs: FileSystem = {
  stat: async (path) => {
    if (path !== '/somewhere/secret_file_path') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return regularFile(FILE_BYTES.length);
  },
  readFile: async () => FILE_BYTES,
  createReadStream: () => {
    throw new Error('no pipe here');
  },
};

function shell(input: string[], setup: FakeSetup = {}, options: ShellOptions = { interactive: false }) {
  return runCommand(runShell, options, { stdin: `${input.join('\n')}\n`, fs: seedFs, ...setup });
}

describe('the shell on piped stdin', () => {
  it("runs the seed's session verbatim", async () => {
    const run = await shell([...SEED_SESSION, 'list_secrets(full=True)']);
    expect(run.error).toBeUndefined();
    expect(run.client.secrets).toEqual(
      new Map([
        ['MY_SECRET', 'random_string'],
        ['MY_SECRET_DIC', '{"a_key": "a_value"}'],
        ['___file___:my_secret_file.dat', FILE_BASE64],
      ]),
    );
    const rows = [
      'MY_SECRET\tenv\trandom_string',
      'MY_SECRET_DIC\tenv\t{"a_key": "a_value"}',
      `my_secret_file.dat\tfile\t${FILE_BASE64.slice(0, 50)}...`,
      'MY_SECRET\tenv\trandom_string',
      'MY_SECRET_DIC\tenv\t{"a_key": "a_value"}',
      `my_secret_file.dat\tfile\t${FILE_BASE64}`,
    ];
    expect(run.stdout).toBe(`${rows.join('\n')}\n`);
    expect(run.stderr).toBe(
      `set MY_SECRET\nset MY_SECRET_DIC\nset file my_secret_file.dat (${FILE_BYTES.length} bytes)\n`,
    );
  });

  it('accepts the lines pasted with their >>> prompt', async () => {
    const run = await shell(SEED_SESSION.map((line) => `>>> ${line}`));
    expect(run.error).toBeUndefined();
    expect(run.client.secrets.size).toBe(3);
  });

  it('reports an error in one line, goes on, and ends with the first failure', async () => {
    const run = await shell(["set_secret('1ABC', 'value')", 'os.system("x")', "set_secret('OK', 'value')"]);
    expect(run.stderr.split('\n')).toEqual([
      expect.stringMatching(/^error: invalid secret name "1ABC": a secret name must be an environment variable name/),
      "error: NameError: name 'os' is not defined",
      'set OK',
      '',
    ]);
    expect([run.error?.code, run.error?.message]).toEqual(['INVALID_NAME', '2 statements failed (see above)']);
    expect(run.client.secrets.get('OK')).toBe('value');
  });

  it('echoes expression values like Python and explains json before import', async () => {
    const run = await shell(
      ["'x'", "json.dumps({'k': 1})", 'import json', "json.dumps({'k': [1.0, True, None, 'é']})", 'help'],
      {},
    );
    expect(run.stdout).toBe('\'x\'\n\'{"k": [1.0, true, null, "\\\\u00e9"]}\'\n<function help>\n');
    expect(run.stderr).toBe(`error: NameError: name 'json' is not defined (run "import json" first)\n`);
  });

  it('refuses delete_all_secrets(), whose answer would be the next line, and runs that line', async () => {
    const client = new FakeClient();
    client.secrets.set('K', 'value');
    const run = await shell(['delete_all_secrets()', "set_secret('T2', 'tttt')"], { client });
    expect(run.stderr).toBe(
      'error: delete_all_secrets() asks for a confirmation typed on a terminal, and stdin is none: nothing was deleted. ' +
        'In a script, use "pbook delete-all-secrets --yes" or "pbook -c \'delete_all_secrets()\'", which do not ask\n' +
        'set T2\n',
    );
    expect([run.error?.code, run.error?.message]).toEqual(['USAGE', '1 statement failed (see above)']);
    expect([client.calls, run.questions]).toEqual([['set T2'], []]);
    expect(client.secrets).toEqual(
      new Map([
        ['K', 'value'],
        ['T2', 'tttt'],
      ]),
    );
  });

  it('shows help', async () => {
    const run = await shell(['help()', 'help(set_secret)', "help('list_secrets')", 'help(1)']);
    expect(run.stdout).toContain('  set_secret(key, value, is_file=False)\n  list_secrets(full=False)\n');
    expect(run.stdout).toContain('set_secret(key, value, is_file=False)\n\n    Store a secret.');
    expect(run.stdout).toContain('list_secrets(full=False)\n\n    Show all your secrets');
    const deleteAll = await shell(['help(delete_all_secrets)']);
    expect(deleteAll.stdout).toBe(
      'delete_all_secrets()\n\n    Delete all your secrets. On a terminal every form asks first: Ctrl-D answers no, and so does Ctrl-C in the\n' +
        '    shell (the batch forms stop with exit 130). Without a terminal the shell deletes nothing, and the batch\n' +
        '    forms (pbook delete_all_secrets, pbook -c) delete without asking.\n',
    );
    expect(run.stdout).toContain('no help for 1; help() lists the functions\n');
  });

  it('stops at exit() and quit()', async () => {
    for (const leave of ['exit()', 'quit()']) {
      const run = await shell([leave, "set_secret('K', 'value')"]);
      expect([run.error, run.client.calls]).toEqual([undefined, []]);
    }
  });

  it('enters the shell after -c with -i', async () => {
    const run = await shell(['list_secrets()'], {}, { code: "set_secret('K', 'value')", interactive: true });
    expect(run.stdout).toBe('K\tenv\tvalue\n');
  });

  it('makes one client for the secret and the task functions of a session', async () => {
    const run = await shell(["set_secret('K', 'value')", 'show()', 'list_secrets()', 'show()']);
    expect(run.error).toBeUndefined();
    expect(run.clientOptions).toEqual([{ server: 'http://127.0.0.1:25080', token: 'test-token' }]);
  });

  it('asks for a token only when a call needs one', async () => {
    const run = await shell(['help()', 'list_secrets()'], { env: { PANDA_AUTH_ID_TOKEN: undefined } });
    expect(run.stdout).toContain('Functions:');
    expect(run.stderr).toMatch(/^error: no token: give one with --token-file FILE/);
    expect(run.error?.code).toBe('AUTH_REQUIRED');
  });
});
