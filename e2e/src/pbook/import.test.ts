import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PandaClient } from '@panda-secrets/client';
import { cleanEnv, runCli, startServer } from '@panda-secrets/testkit';
import type { RunningServer } from '@panda-secrets/testkit';

// pbook import end to end: the built pbook against a real panda-server (SQLite) with a small quota.

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  [server, dir] = await Promise.all([
    startServer({ args: ['--max-secrets', '5'] }),
    mkdtemp(join(tmpdir(), 'pbook-import-e2e-')),
  ]);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all(
    [server?.dataDir, dir].map((path) => path !== undefined && rm(path, { recursive: true, force: true })),
  );
});

async function user(name: string) {
  const token = await server.token(name);
  const env = cleanEnv({ PANDA_URL_SSL: server.url, PANDA_AUTH_ID_TOKEN: token });
  return {
    client: new PandaClient({ server: server.url, token }),
    pbook: (args: string[]) => runCli('pbook', args, { env }),
  };
}

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('pbook import', () => {
  it('restores a list-secrets --json --full backup exactly, after a dry run that changes nothing', async () => {
    const { client, pbook } = await user('roundtrip');
    const original = {
      MY_SECRET: 'random_string',
      MULTI: 'line 1\nline 2\ttabbed "quoted" \\ back',
      WIDE: '秘密🔑'.repeat(30),
      '___file___:blob.dat': Buffer.from([0, 255, 10, 13, 1, 2, 3]).toString('base64'),
    };
    for (const [key, value] of Object.entries(original)) await client.setSecret(key, value);
    const listed = await pbook(['list-secrets', '--json', '--full']);
    expect(listed.code).toBe(0);
    const backup = await file('backup.json', listed.stdout);
    expect((await pbook(['delete-all-secrets', '--yes'])).code).toBe(0);
    await client.setSecret('MY_SECRET', 'changed since');

    const dry = await pbook(['import', backup, '--dry-run']);
    expect({ code: dry.code, stdout: dry.stdout, stderr: dry.stderr }).toEqual({
      code: 0,
      stdout: '+ MULTI\n~ MY_SECRET\n+ WIDE\n+ blob.dat (file)\n',
      stderr: 'dry run: 3 to add, 1 to change, 0 unchanged; nothing was changed\n',
    });
    expect(await client.getSecrets()).toEqual({ MY_SECRET: 'changed since' });

    const applied = await pbook(['import', backup]);
    expect({ code: applied.code, stderr: applied.stderr }).toEqual({
      code: 0,
      stderr: `imported 4 secrets from ${backup} (3 added, 1 replaced)\n`,
    });
    expect(await client.getSecrets()).toEqual(original);
  }, 60_000);

  it('imports a .env file, and refuses the whole file for one invalid entry (exit 5), changing nothing', async () => {
    const { client, pbook } = await user('dotenv');
    const good = await file('good.env', 'export A=1\nB="two\nlines"\n');
    expect((await pbook(['import', good])).code).toBe(0);
    expect(await client.getSecrets()).toEqual({ A: '1', B: 'two\nlines' });
    const bad = await file('bad.env', 'A=replaced\nC=new\n2BAD=hunter2\n');
    const refused = await pbook(['import', bad]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/^pbook: .*bad\.env: invalid secret name "2BAD".*nothing was imported\n$/);
    expect(refused.stderr).not.toContain('hunter2');
    expect(await client.getSecrets()).toEqual({ A: '1', B: 'two\nlines' });
  }, 60_000);

  it('leaves nothing half-written when the server refuses the batch (over the quota of 5)', async () => {
    const { client, pbook } = await user('quota');
    await client.setSecret('KEEP', 'kept');
    const lines = Array.from({ length: 5 }, (_, n) => `NEW_${n}=value-${n}`).join('\n');
    const refused = await pbook(['import', await file('many.env', lines)]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('storing these 5 secrets');
    expect(refused.stderr).toContain('nothing was changed');
    expect(await client.getSecrets()).toEqual({ KEEP: 'kept' });
  }, 60_000);
});
