import { afterEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devicePromptText, fileTokenCache, tokenCachePath } from './index.js';

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

async function scratch(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'token-cache-'));
  folders.push(folder);
  return folder;
}

describe('tokenCachePath', () => {
  it("is PanDA's: $PANDA_CONFIG_ROOT/.token, else ~/.pathena/.token, with ~ expanded", () => {
    expect(tokenCachePath({ PANDA_CONFIG_ROOT: '/etc/panda' }, '/home/x')).toBe('/etc/panda/.token');
    expect(tokenCachePath({ PANDA_CONFIG_ROOT: '~/panda' }, '/home/x')).toBe('/home/x/panda/.token');
    expect(tokenCachePath({ HOME: '/home/jdoe' }, '/home/x')).toBe('/home/jdoe/.pathena/.token');
    expect(tokenCachePath({ PANDA_CONFIG_ROOT: '' }, '/home/x')).toBe('/home/x/.pathena/.token');
  });
});

describe('fileTokenCache', () => {
  it('creates the folder 0700 and the file 0600, replaces it whole, and removes it', async () => {
    const folder = join(await scratch(), 'pathena');
    const cache = fileTokenCache(join(folder, '.token'));
    expect(await cache.read()).toBeUndefined();
    await cache.write('{"id_token":"a"}');
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(cache.path)).mode & 0o777).toBe(0o600);
    await cache.write('{"id_token":"b"}');
    expect(await cache.read()).toBe('{"id_token":"b"}');
    // Nothing is left beside it: the text was written aside and renamed into place.
    expect(await readdir(folder)).toEqual(['.token']);
    expect(await cache.remove()).toBe(true);
    expect(await cache.remove()).toBe(false);
    expect(await cache.read()).toBeUndefined();
  });

  it('tightens an existing folder and a file that was readable by others', async () => {
    const folder = await scratch();
    await chmod(folder, 0o755);
    const path = join(folder, '.token');
    await writeFile(path, 'old', { mode: 0o644 });
    await fileTokenCache(path).write('new');
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe('new');
  });

  it('does not use a cache others could have written, nor one behind a symbolic link', async () => {
    const folder = await scratch();
    const path = join(folder, '.token');
    await writeFile(path, '{"id_token": "planted"}', { mode: 0o644 });
    expect(await fileTokenCache(path).read()).toBe('{"id_token": "planted"}');
    await chmod(path, 0o666);
    await expect(fileTokenCache(path).read()).rejects.toMatchObject({
      code: 'CONFIG',
      message: `the token cache ${path} is not yours alone (owner uid ${process.getuid!()}, mode 666): it is not used; remove it (pbook logout) and sign in again`,
    });
    const link = join(folder, 'linked');
    await symlink(path, link);
    await expect(fileTokenCache(link).read()).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('is a symbolic link'),
    });
    expect(await fileTokenCache(join(folder, 'absent')).read()).toBeUndefined();
  });

  it('leaves the old cache whole when the new one cannot be written', async () => {
    const folder = await scratch();
    const path = join(folder, '.token');
    await writeFile(path, 'old', { mode: 0o600 });
    // A folder in the way of the rename: the write fails, the old file stays, nothing is left aside.
    await mkdir(join(folder, 'blocked'));
    await expect(fileTokenCache(join(folder, 'blocked')).write('new')).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old');
    expect((await readdir(folder)).sort()).toEqual(['.token', 'blocked']);
  });
});

describe('devicePromptText', () => {
  it("says PanDA's words with the link, the page and the code, and how long the code lasts", () => {
    expect(
      devicePromptText({
        verificationUri: 'https://idp/device',
        verificationUriComplete: 'https://idp/device?user_code=AB-CD',
        userCode: 'AB-CD',
        expiresIn: 600,
      }),
    ).toBe(
      'Please go to https://idp/device?user_code=AB-CD and sign in\n(or go to https://idp/device and enter the code AB-CD).\n' +
        'Waiting until the sign-in is completed (the code is valid for 10 minutes)...\n',
    );
    expect(devicePromptText({ verificationUri: 'https://idp/device', userCode: 'AB-CD', expiresIn: 30 })).toBe(
      'Please go to https://idp/device and sign in with the code AB-CD.\nWaiting until the sign-in is completed (the code is valid for 1 minute)...\n',
    );
  });
});
