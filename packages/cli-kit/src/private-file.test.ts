import { execFileSync } from 'node:child_process';
import { link, lstat, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writePrivateOutput } from './index.js';

// One folder for the file's tests, a fresh one inside it per test.
let root = '';
let made = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'private-output-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function scratch(): Promise<string> {
  made += 1;
  const folder = join(root, String(made));
  await mkdir(folder);
  return folder;
}

describe('writePrivateOutput', () => {
  it('writes a new file 0600 and replaces an existing one whole, leaving nothing beside it', async () => {
    const folder = await scratch();
    const path = join(folder, 'token');
    await writePrivateOutput(path, 'first\n');
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    await writeFile(path, 'old and longer', { mode: 0o644 });
    await writePrivateOutput(path, Buffer.from('second\n'));
    expect(await readFile(path, 'utf8')).toBe('second\n');
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(folder)).toEqual(['token']);
  });

  it('puts the data in a fresh file: whoever opened the old one earlier (or owns it) cannot read it', async () => {
    const folder = await scratch();
    const path = join(folder, 'token');
    await writeFile(path, '', { mode: 0o666 });
    // Another local user opened the file while its mode let them (or planted it, and so owns it).
    const earlier = await open(path, 'r');
    try {
      await writePrivateOutput(path, 'SECRET-TOKEN\n');
      expect(await readFile(path, 'utf8')).toBe('SECRET-TOKEN\n');
      expect((await earlier.readFile()).toString('utf8')).toBe('');
    } finally {
      await earlier.close();
    }
  });

  it('never writes through a hard link into the file it shares', async () => {
    const folder = await scratch();
    const victim = join(folder, 'bashrc');
    await writeFile(victim, 'export PATH\n', { mode: 0o644 });
    const path = join(folder, 'token');
    await link(victim, path);
    await writePrivateOutput(path, 'SECRET-TOKEN\n');
    expect(await readFile(victim, 'utf8')).toBe('export PATH\n');
    expect((await lstat(victim)).mode & 0o777).toBe(0o644);
    expect(await readFile(path, 'utf8')).toBe('SECRET-TOKEN\n');
  });

  // A device such as /dev/null is refused as the FIFO is (not a regular file); it is not tried here,
  // since a regression would change the machine's /dev/null.
  it('refuses a symbolic link, a FIFO or a folder rather than writing to or replacing it', async () => {
    const folder = await scratch();
    const target = join(folder, 'elsewhere');
    await symlink(target, join(folder, 'link'));
    await expect(writePrivateOutput(join(folder, 'link'), 'x')).rejects.toMatchObject({
      code: 'USAGE',
      message: `${join(folder, 'link')} is a symbolic link: give the path of a regular file (links are not followed)`,
    });
    await expect(lstat(target)).rejects.toMatchObject({ code: 'ENOENT' });
    const fifo = join(folder, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(writePrivateOutput(fifo, 'x')).rejects.toMatchObject({
      code: 'USAGE',
      message: `cannot write ${fifo}: it is not a regular file`,
    });
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    await expect(writePrivateOutput(folder, 'x')).rejects.toMatchObject({
      code: 'USAGE',
      message: `cannot write ${folder}: it is a directory`,
    });
    await expect(writePrivateOutput(join(folder, 'none', 'token'), 'x')).rejects.toMatchObject({
      code: 'USAGE',
      message: `cannot write ${join(folder, 'none', 'token')}: its folder does not exist`,
    });
    expect((await readdir(folder)).sort()).toEqual(['fifo', 'link']);
  });
});
