import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm } from 'node:fs/promises';
import stringWidth from 'string-width';
import { PandaClient } from '@panda-secrets/client';
import { cleanEnv, startServer } from '@panda-secrets/testkit';
import type { RunningServer } from '@panda-secrets/testkit';
import { runPbookInTerminal } from '../testing/terminal.js';

// The >>> shell and the batch forms on a real pseudo-terminal against a real panda-server.

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
}, 60_000);

afterAll(async () => {
  await server?.stop();
  if (server !== undefined) await rm(server.dataDir, { recursive: true, force: true });
});

async function user(name: string) {
  const token = await server.token(name);
  const client = new PandaClient({ server: server.url, token });
  await client.setSecret('KEEP_ME', 'kept value');
  return { client, env: cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token }) };
}

describe('delete_all_secrets on a terminal', () => {
  it.each([
    ['pbook delete_all_secrets', ['delete_all_secrets']],
    ['pbook -c "delete_all_secrets()"', ['-c', 'delete_all_secrets()']],
    ['pbook delete-all-secrets', ['delete-all-secrets']],
  ])(
    '%s asks: "n" and Ctrl-D answer no (exit 0), Ctrl-C cancels (exit 130), nothing deleted',
    async (_form, args) => {
      const { client, env } = await user(`ask-${args[0]}`);
      const { code, screen } = await runPbookInTerminal(args, ['n'], env, { columns: 60 });
      expect(screen).toContain('Delete all your secrets? [y/N] n\nnothing deleted\n');
      expect(code).toBe(0);
      const ctrlD = await runPbookInTerminal(args, ['\u0004'], env, { columns: 80 });
      expect([ctrlD.code, ctrlD.display]).toEqual([0, 'Delete all your secrets? [y/N]\nnothing deleted']);
      const ctrlC = await runPbookInTerminal(args, ['\u0003'], env, { columns: 80 });
      expect([ctrlC.code, ctrlC.display]).toEqual([
        130,
        'Delete all your secrets? [y/N] ^C\npbook: cancelled (Ctrl-C): nothing deleted',
      ]);
      expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value' });
    },
    30_000,
  );

  it.each([
    60, 200,
  ])('in the shell (%i columns), Ctrl-C at [y/N] cancels and Ctrl-D answers no, and the shell goes on', async (columns) => {
    const { client, env } = await user(`cancel-${columns}`);
    const lines = [
      'delete_all_secrets()',
      '\u0003',
      'delete_all_secrets()',
      '\u0004',
      "set_secret('AFTER', 'still here')",
      'exit()',
    ];
    const { code, screen } = await runPbookInTerminal([], lines, env, { columns });
    expect(code).toBe(0);
    expect(screen).toContain('>>> delete_all_secrets()\nDelete all your secrets? [y/N] ^C\nnothing deleted\n>>> ');
    expect(screen).toContain('>>> delete_all_secrets()\nDelete all your secrets? [y/N] \nnothing deleted\n>>> ');
    expect(screen).toContain(">>> set_secret('AFTER', 'still here')\nset AFTER\n");
    expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value', AFTER: 'still here' });
  }, 30_000);
});

describe('list-secrets on a terminal', () => {
  it.each([60, 200])('fits %i columns with a long key and CJK and emoji values, colours intact', async (columns) => {
    const { client, env } = await user(`table-${columns}`);
    const key = 'A_VERY_LONG_SECRET_NAME_THAT_DOES_NOT_FIT_A_NARROW_TERMINAL_AT_ALL';
    const value = '秘密のパスワード🔑🐼'.repeat(6);
    await client.setSecret(key, value);
    // With colour: TERM is set and NO_COLOR is not.
    const { code, screen } = await runPbookInTerminal(
      ['list-secrets', '--full'],
      [],
      { ...env, NO_COLOR: undefined },
      { columns },
    );
    expect(code).toBe(0);
    const rows = screen.trimEnd().split('\n');
    for (const row of rows) expect(stringWidth(row)).toBeLessThanOrEqual(columns);
    // The head's escape sequences were removed whole: no part of one is left as text.
    expect(screen).not.toMatch(/\[\d+m/);
    expect(rows[1]).toMatch(/^│ Key +│ Type │/);
    const column = (at: number) =>
      rows
        .slice(3, -1)
        .map((row) => row.split('│')[at]?.trim() ?? '')
        .join('');
    expect(column(1)).toContain(key);
    expect(column(rows[1]?.includes('Updated') ? 5 : 3)).toContain(value);
  }, 30_000);
});

describe('set-secret at the hidden prompt', () => {
  it.each([60, 200])('refuses an Enter alone (%i columns): the old value stays, exit 5', async (columns) => {
    const { client, env } = await user(`empty-${columns}`);
    const { code, screen } = await runPbookInTerminal(['set-secret', 'KEEP_ME'], [''], env, { columns });
    expect(code).toBe(5);
    expect(screen).toContain(
      'Value of KEEP_ME: \npbook: no value given for KEEP_ME: nothing was stored (to store an empty value, pass --allow-empty)\n',
    );
    expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value' });
  }, 30_000);
});

describe('Ctrl-C and Ctrl-D at the hidden prompts outside the shell', () => {
  it('set-secret: Ctrl-C exits 130, Ctrl-D is no value (exit 5, also with --allow-empty); the old value stays', async () => {
    const { client, env } = await user('set-keys');
    const ctrlC = await runPbookInTerminal(['set-secret', 'KEEP_ME'], ['\u0003'], env, { columns: 80 });
    expect([ctrlC.code, ctrlC.display]).toEqual([
      130,
      'Value of KEEP_ME: ^C\npbook: cancelled (Ctrl-C): nothing was stored',
    ]);
    const ctrlD = await runPbookInTerminal(['set-secret', 'KEEP_ME', '--allow-empty'], ['\u0004'], env, {
      columns: 80,
    });
    expect([ctrlD.code, ctrlD.display]).toEqual([
      5,
      'Value of KEEP_ME:\npbook: no value given for KEEP_ME (Ctrl-D): nothing was stored',
    ]);
    expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value' });
  }, 30_000);

  it('pbook -c with getpass.getpass(): Ctrl-C exits 130, Ctrl-D exits 5, nothing stored', async () => {
    const { client, env } = await user('c-getpass');
    const args = ['-c', "import getpass; set_secret('NOT_SET', getpass.getpass())"];
    const ctrlC = await runPbookInTerminal(args, ['\u0003'], env, { columns: 80 });
    expect([ctrlC.code, ctrlC.display]).toEqual([130, 'Password: ^C\npbook: cancelled (Ctrl-C)']);
    const ctrlD = await runPbookInTerminal(args, ['\u0004'], env, { columns: 80 });
    expect([ctrlD.code, ctrlD.display]).toEqual([5, 'Password:\npbook: EOFError: no line was typed (Ctrl-D)']);
    const typed = await runPbookInTerminal(args, ['typed-in-c'], env, { columns: 80 });
    expect([typed.code, typed.display]).toEqual([0, 'Password:\nset NOT_SET']);
    expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value', NOT_SET: 'typed-in-c' });
  }, 30_000);
});

describe('the shell on a terminal', () => {
  it.each([
    60, 200,
  ])('reads a value with getpass.getpass() (%i columns): its prompt stays on the screen, the value is not shown', async (columns) => {
    const { client, env } = await user(`getpass-${columns}`);
    // The statement, then what is typed at its prompt.
    const setTyped = (name: string, call: string, typed: string) => [`set_secret('${name}', ${call})`, typed];
    const lines = ['import getpass', ...setTyped('TYPED', 'getpass.getpass()', 'hidden-value-4711')];
    lines.push(...setTyped('ASKED', "getpass.getpass(prompt='Token: ')", 'also-hidden-0815'), 'exit()');
    const { code, screen, display } = await runPbookInTerminal([], lines, env, { columns });
    expect(code).toBe(0);
    // As the terminal displays it: nothing that was written was erased again.
    expect(display).toContain(
      [
        ">>> set_secret('TYPED', getpass.getpass())",
        'Password:',
        'set TYPED',
        ">>> set_secret('ASKED', getpass.getpass(prompt='Token: '))",
        'Token:',
        'set ASKED',
        '>>> exit()',
      ].join('\n'),
    );
    expect(screen).not.toMatch(/hidden-value-4711|also-hidden-0815/);
    expect(await client.getSecrets()).toMatchObject({ TYPED: 'hidden-value-4711', ASKED: 'also-hidden-0815' });
  }, 30_000);

  it('stops only the statement when Ctrl-C or Ctrl-D is pressed at getpass.getpass()', async () => {
    const { client, env } = await user('getpass-cancel');
    const lines = [
      'import getpass',
      "set_secret('NOT_SET', getpass.getpass())",
      '\u0003',
      "set_secret('NOT_SET', getpass.getpass())",
      '\u0004',
      "set_secret('AFTER', 'still here')",
      'exit()',
    ];
    const { code, display } = await runPbookInTerminal([], lines, env, { columns: 80 });
    expect(code).toBe(0);
    expect(display).toContain(
      [
        ">>> set_secret('NOT_SET', getpass.getpass())",
        'Password: ^C',
        'error: cancelled (Ctrl-C)',
        ">>> set_secret('NOT_SET', getpass.getpass())",
        'Password:',
        'error: EOFError: no line was typed (Ctrl-D)',
        ">>> set_secret('AFTER', 'still here')",
        'set AFTER',
      ].join('\n'),
    );
    expect(await client.getSecrets()).toEqual({ KEEP_ME: 'kept value', AFTER: 'still here' });
  }, 30_000);

  it('completes function names and keyword arguments with Tab', async () => {
    const { client, env } = await user('tab');
    const lines = ["set_sec\t'TABBED', 'via tab')", 'list_secrets(fu\tTrue)', 'exit()'];
    const { code, screen } = await runPbookInTerminal([], lines, env, { columns: 200 });
    expect(code).toBe(0);
    expect(screen).toContain('set TABBED\n');
    expect(screen).toMatch(/TABBED\s+│ env\s+│ via tab/);
    expect(await client.getSecrets()).toMatchObject({ TABBED: 'via tab' });
  }, 30_000);
});
