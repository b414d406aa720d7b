import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJobDir, removeFiles, removeJobDir, secretFilePath, writeSecretFiles } from './workdir.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pilot-workdir-test-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
const base64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');

describe('createJobDir', () => {
  it('makes a fresh 0700 directory per job under the root, creating the root', async () => {
    const workRoot = join(root, 'panda-pilot');
    const first = await createJobDir(workRoot, 'job/../1');
    const second = await createJobDir(workRoot, 'job/../1');
    expect(first).not.toBe(second);
    expect(first.startsWith(join(workRoot, 'job-job1-'))).toBe(true);
    expect(await modeOf(first)).toBe(0o700);
    expect(await modeOf(workRoot)).toBe(0o700);
  });
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

  it.each(['../escape', 'a/b', '.', '..', '', '/etc/passwd', 'x\0'])(
    'refuses the file name %j and writes nothing',
    async (name) => {
      const dir = await createJobDir(root, 'j');
      await expect(writeSecretFiles(dir, { 'first.dat': base64('one'), [name]: base64('two') })).rejects.toMatchObject({
        code: 'INVALID_NAME',
      });
      expect(await readdir(dir)).toEqual([]);
      expect(await readdir(root)).toEqual([dir.slice(root.length + 1)]);
    },
  );

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

describe('clean-up', () => {
  it('removes the secret files, also ones the payload deleted or replaced by a directory', async () => {
    const dir = await createJobDir(root, 'j');
    const paths = await writeSecretFiles(dir, { 'a.dat': base64('a'), 'b.dat': base64('b'), 'c.dat': base64('c') });
    await rm(paths[1]!);
    await rm(paths[2]!);
    await createJobDir(paths[2]!, 'inner');
    await writeFile(join(dir, 'output.txt'), 'result');
    await removeFiles(paths);
    expect(await readdir(dir)).toEqual(['output.txt']);
    await removeJobDir(dir);
    expect(await readdir(root)).toEqual([]);
  });
});
