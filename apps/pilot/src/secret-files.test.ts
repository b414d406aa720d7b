import { describe, expect, it } from '@jest/globals';
import { readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJobDir } from './job-dir.js';
import { secretFilePath, writeSecretFiles } from './secret-files.js';
import { base64, freshDirEachTest, modeOf } from './testing/files.js';

let root: string;
freshDirEachTest('pilot-secret-files-test-', (dir) => {
  root = dir;
});

describe('writeSecretFiles', () => {
  it('writes each file byte-exact with mode 0600', async () => {
    const dir = await createJobDir(root, 'j');
    const binary = Buffer.from([0, 255, 10, 13, 0x1f, 0x8b, 0x80]);
    const paths = await writeSecretFiles(dir, { 'my_secret_file.dat': base64(binary), '.hidden': base64('x') });
    expect(paths).toEqual([join(dir, 'my_secret_file.dat'), join(dir, '.hidden')]);
    expect(await readFile(join(dir, 'my_secret_file.dat'))).toEqual(binary);
    for (const path of paths) expect(await modeOf(path)).toBe(0o600);
  });

  it.each([
    '../escape',
    'a/b',
    '.',
    '..',
    '',
    '/etc/passwd',
    'x\0',
  ])('refuses the file name %j and writes nothing', async (name) => {
    const dir = await createJobDir(root, 'j');
    await expect(writeSecretFiles(dir, { 'first.dat': base64('one'), [name]: base64('two') })).rejects.toMatchObject({
      code: 'INVALID_NAME',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('never follows or overwrites what is already there (O_EXCL)', async () => {
    const dir = await createJobDir(root, 'j');
    const target = join(root, 'target');
    await writeFile(target, 'untouched');
    await symlink(target, join(dir, 'planted.dat'));
    await expect(writeSecretFiles(dir, { 'planted.dat': base64('secret') })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(target, 'utf8')).toBe('untouched');
  });

  it('refuses a file whose base64 is malformed, removing the files written before', async () => {
    const dir = await createJobDir(root, 'j');
    await expect(writeSecretFiles(dir, { 'a.dat': base64('a'), 'b.dat': 'not base64!' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps names checked on their own too', () => {
    expect(secretFilePath('/jobs/j', 'ok.dat')).toBe('/jobs/j/ok.dat');
    expect(() => secretFilePath('/jobs/j', '../ok.dat')).toThrow(/plain file name/);
  });
});
