import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClient, runCommand } from '../../testing/fakes.js';
import { runGetSecret } from './run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pbook-get-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const BYTES = Buffer.from([0, 1, 2, 0xff, 0x0a]);

function client(): FakeClient {
  const fake = new FakeClient();
  fake.secrets.set('TOKEN', 'line 1\nline 2\n');
  fake.secrets.set('___file___:cert.p12', BYTES.toString('base64'));
  return fake;
}

describe('get-secret', () => {
  it('prints a value exactly as stored, adding a newline only on a terminal', async () => {
    expect((await runCommand(runGetSecret, { name: 'TOKEN' }, { client: client() })).stdout).toBe('line 1\nline 2\n');
    expect(
      (await runCommand(runGetSecret, { name: 'TOKEN' }, { client: client(), isTTY: { stdin: true, stdout: true } }))
        .stdout,
    ).toBe('line 1\nline 2\n\n');
  });

  it("writes a secret file's bytes to --output with mode 0600, and refuses a symbolic link", async () => {
    const out = join(dir, 'cert.p12');
    await writeFile(out, 'old', { mode: 0o644 });
    const run = await runCommand(runGetSecret, { name: 'cert.p12', output: out }, { client: client() });
    expect(run.error).toBeUndefined();
    expect(await readFile(out)).toEqual(BYTES);
    expect((await lstat(out)).mode & 0o777).toBe(0o600);
    expect(run.stdout).toBe('');
    const link = join(dir, 'link');
    await symlink(join(dir, 'elsewhere'), link);
    const refused = await runCommand(runGetSecret, { name: 'cert.p12', output: link }, { client: client() });
    expect(refused.error).toMatchObject({ code: 'USAGE' });
    await expect(lstat(join(dir, 'elsewhere'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits "not found" for a name you do not have', async () => {
    const run = await runCommand(runGetSecret, { name: 'NOPE' }, { client: client() });
    expect(run.error).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no secret named "NOPE" (list your secrets with pbook list-secrets --names)',
    });
  });
});
