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
    '%s asks, and "n" deletes nothing',
    async (_form, args) => {
      const { client, env } = await user(`ask-${args[0]}`);
      const { code, screen } = await runPbookInTerminal(args, ['n'], env, { columns: 60 });
      expect(screen).toContain('Delete all your secrets? [y/N] n\nnothing deleted\n');
      expect(code).toBe(0);
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

describe('the shell on a terminal', () => {
  it('reads a value with getpass.getpass() without showing it', async () => {
    const { client, env } = await user('getpass');
    const lines = ['import getpass', "set_secret('TYPED', getpass.getpass())", 'hidden-value-4711', 'exit()'];
    const { code, screen } = await runPbookInTerminal([], lines, env, { columns: 60 });
    expect(code).toBe(0);
    expect(screen).toContain(">>> set_secret('TYPED', getpass.getpass())\nPassword: \nset TYPED\n");
    expect(screen).not.toContain('hidden-value-4711');
    expect(await client.getSecrets()).toMatchObject({ TYPED: 'hidden-value-4711' });
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
