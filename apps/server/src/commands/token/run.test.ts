import { lstat, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { runPandaServer, serverDeps, testScratch } from '../../testing/commands.js';
import { runToken } from './run.js';

const scratch = testScratch('panda-token-');
afterAll(() => scratch.cleanUp());

/** The claims of a JWT, read without verifying it. */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.trim().split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe('panda-server token', () => {
  it("mints tokens with the OIDC claims PanDA's client reads, once the server made its issuer key", async () => {
    const dir = await scratch.dir();
    const early = await runPandaServer(['token', '--data-dir', dir, '--user', 'alice']);
    expect([early.code, early.stdout]).toEqual([1, '']);
    expect(early.stderr).toBe(
      `panda-server: there is no issuer key at ${join(dir, 'issuer-key.json')}: start panda-server with this --data-dir once (it creates the key), or give --issuer-key-file\n`,
    );
    await (await scratch.serve(dir)).stop();
    const result = await runPandaServer([
      'token',
      '--data-dir',
      dir,
      '--user',
      'alice',
      '--groups',
      'atlas,cms',
      '--ttl',
      '2h',
    ]);
    expect(result.code).toBe(0);
    const payload = claimsOf(result.stdout);
    expect(payload).toMatchObject({
      sub: 'alice',
      preferred_username: 'alice',
      name: 'alice',
      groups: ['atlas', 'cms'],
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(7200);
    expect(payload.role).toBeUndefined();
    const bad = await runPandaServer(['token', '--data-dir', dir, '--user', 'alice', '--ttl', 'forever']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid duration "forever"');
  });

  it('mints a pilot token with its display name, and writes a token to a 0600 file, never through a link', async () => {
    const dir = await scratch.dir();
    await (await scratch.serve(dir)).stop();
    const { deps, stdout } = serverDeps();
    await runToken(deps, {}, { dataDir: dir, user: 'pilot-1', role: 'pilot', ttl: '7d', name: 'Pilot', groups: [] });
    expect(claimsOf(stdout())).toMatchObject({ sub: 'pilot-1', name: 'Pilot', role: 'pilot', groups: [] });

    const out = join(dir, 'token');
    await writeFile(out, 'old', { mode: 0o644 });
    const written = serverDeps();
    await runToken(written.deps, {}, { dataDir: dir, user: 'jdoe', role: 'user', ttl: '1h', groups: [], out });
    expect(written.stdout()).toBe('');
    expect((await lstat(out)).mode & 0o777).toBe(0o600);
    expect(await readFile(out, 'utf8')).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const link = join(dir, 'link');
    await symlink(join(dir, 'elsewhere'), link);
    await expect(
      runToken(written.deps, {}, { dataDir: dir, user: 'jdoe', role: 'user', ttl: '1h', groups: [], out: link }),
    ).rejects.toMatchObject({ message: expect.stringContaining('is a symbolic link') });
  });
});
