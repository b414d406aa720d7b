import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAsRoot } from '@panda-secrets/testkit/unit';
import { nobody } from './testing/root.js';
import {
  createJobDir,
  handOverJobDir,
  prepareWorkRoot,
  removeEntries,
  removeJobDir,
  removeStaleJobDirs,
  secretFilePath,
  writeSecretFiles,
} from './workdir.js';

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
  it('makes a fresh empty 0700 directory per job under the root, and beside it a file naming its owner process', async () => {
    const first = await createJobDir(root, 'job/../1');
    const second = await createJobDir(root, 'job/../1');
    expect(first).not.toBe(second);
    expect(first.startsWith(join(root, 'job-job1-'))).toBe(true);
    expect(await modeOf(first)).toBe(0o700);
    expect(await readdir(first)).toEqual([]);
    expect(await readFile(`${first}.owner`, 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\n$`));
    expect(await modeOf(`${first}.owner`)).toBe(0o600);
    await removeJobDir(first);
    expect((await readdir(root)).sort()).toEqual(
      [second, `${second}.owner`].map((path) => path.slice(root.length + 1)).sort(),
    );
  });

  it("fails, leaving nothing behind, when the supervisor's process identity cannot be read", async () => {
    await expect(createJobDir(root, 'job1', async () => undefined)).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('process identity'),
    });
    expect(await readdir(root)).toEqual([]);
  });
});

describe('prepareWorkRoot', () => {
  it('creates a missing work root 0711, also below missing folders, whatever the umask', async () => {
    const workRoot = join(root, 'a', 'panda-pilot');
    const umask = process.umask(0o077);
    try {
      await prepareWorkRoot(workRoot);
    } finally {
      process.umask(umask);
    }
    expect(await modeOf(workRoot)).toBe(0o711);
  });

  it("accepts an existing directory of the pilot's own that others cannot write to", async () => {
    await chmod(root, 0o755);
    await expect(prepareWorkRoot(root)).resolves.toBe(root);
  });

  it.each([
    ['writable by its group', (path: string) => chmod(path, 0o770), /is writable by group or others \(mode 0770\)/],
    ['writable by others', (path: string) => chmod(path, 0o1777), /is writable by group or others \(mode 0777\)/],
    [
      'a symbolic link',
      async (path: string) => {
        await rm(path, { recursive: true });
        await symlink(tmpdir(), path);
      },
      /is a symbolic link/,
    ],
    [
      'a symbolic link, given with a trailing slash',
      async (path: string) => {
        await rm(path, { recursive: true });
        await mkdir(`${path}-target`, { mode: 0o700 });
        await symlink(`${path}-target`, path);
        return `${path}/`;
      },
      /is a symbolic link/,
    ],
    [
      'a symbolic link, given as LINK/.',
      async (path: string) => {
        await rm(path, { recursive: true });
        await mkdir(`${path}-target`, { mode: 0o700 });
        await symlink(`${path}-target`, path);
        return `${path}//.`;
      },
      /is a symbolic link/,
    ],
    [
      'a file',
      async (path: string) => {
        await rm(path, { recursive: true });
        await writeFile(path, '');
      },
      /is not a directory/,
    ],
  ] as Array<
    [string, (path: string) => Promise<string | undefined>, RegExp]
  >)('refuses a work root that is %s, saying what is required', async (_, spoil, problem) => {
    const workRoot = join(root, 'work');
    await mkdir(workRoot);
    const given = (await spoil(workRoot)) ?? workRoot;
    const refusal = prepareWorkRoot(given);
    await expect(refusal).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(refusal).rejects.toThrow(problem);
    await expect(refusal).rejects.toThrow(
      /it must be a real directory \(not a symbolic link\) owned by panda-pilot's user \(uid \d+\) and not writable by group or others/,
    );
  });
});

describeAsRoot('prepareWorkRoot, as root', () => {
  it('refuses a work root owned by another user', async () => {
    const workRoot = join(root, 'work');
    await mkdir(workRoot);
    await chown(workRoot, (await nobody()).uid, (await nobody()).gid);
    await expect(prepareWorkRoot(workRoot)).rejects.toThrow(/is owned by uid 65534; it must be/);
  });

  it('with --run-as, refuses a work root the user cannot pass through, and accepts one it can', async () => {
    const user = await nobody();
    const workRoot = join(root, 'work');
    await mkdir(workRoot, { mode: 0o700 });
    await chmod(root, 0o711);
    await expect(prepareWorkRoot(workRoot, user)).rejects.toThrow(
      `the work directory ${workRoot} (--workdir) cannot be reached by the --run-as user nobody (uid ${user.uid}): ${workRoot} (mode 0700) does not let it pass`,
    );
    await chmod(workRoot, 0o711);
    await chmod(root, 0o700);
    await expect(prepareWorkRoot(workRoot, user)).rejects.toThrow(`${root} (mode 0700) does not let it pass`);
    await chmod(root, 0o711);
    await expect(prepareWorkRoot(workRoot, user)).resolves.toBe(workRoot);
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

describe('clean-up', () => {
  it('removes the secret files, also ones the payload deleted or replaced by a directory', async () => {
    const dir = await createJobDir(root, 'j');
    const paths = await writeSecretFiles(dir, { 'a.dat': base64('a'), 'b.dat': base64('b'), 'c.dat': base64('c') });
    await rm(paths[1]!);
    await rm(paths[2]!);
    await mkdir(join(paths[2]!, 'inner'), { recursive: true });
    await writeFile(join(dir, 'output.txt'), 'result');
    await removeEntries(dir, paths);
    expect(await readdir(dir)).toEqual(['output.txt']);
    await removeJobDir(dir);
    expect(await readdir(root)).toEqual([]);
  });
});

/** A process that has ended: its pid names no process (until the system reuses it). */
function deadPid(): number {
  return spawnSync('true').pid!;
}

describe('removeStaleJobDirs', () => {
  it('removes the job directories whose owner process is gone, and keeps the others', async () => {
    const stale = await createJobDir(root, 'stale');
    await writeFile(`${stale}.owner`, `${deadPid()} 12345\n`);
    await writeFile(join(stale, 'secret.dat'), 'left behind');
    const reused = await createJobDir(root, 'reused');
    // A live process, but not the one that made the directory: its start time differs.
    await writeFile(`${reused}.owner`, `${process.pid} 1\n`);
    const live = await createJobDir(root, 'live');
    const starting = await createJobDir(root, 'starting');
    await writeFile(`${starting}.owner`, '');
    await mkdir(join(root, 'not-a-job'));

    const removed = await removeStaleJobDirs(root);
    expect(removed.map((entry) => entry.name).sort()).toEqual(
      [stale, reused].map((dir) => dir.slice(root.length + 1)).sort(),
    );
    expect((await readdir(root)).sort()).toEqual(
      [live, `${live}.owner`, starting, `${starting}.owner`]
        .map((dir) => dir.slice(root.length + 1))
        .concat('not-a-job')
        .sort(),
    );
  });

  it('removes a directory whose payload took its own rights away (chmod 000, chmod 500)', async () => {
    const stale = await createJobDir(root, 'locked');
    await writeFile(`${stale}.owner`, `${deadPid()} 12345\n`);
    await mkdir(join(stale, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(stale, 'sub', 'deeper', 'x'), 'x');
    await chmod(join(stale, 'sub', 'deeper'), 0o000);
    await chmod(join(stale, 'sub'), 0o500);
    await chmod(stale, 0o000);
    await removeStaleJobDirs(root);
    expect(await readdir(root)).toEqual([]);
  });
});

describeAsRoot('a job directory handed to another user', () => {
  it('is removed, with what its owner locked, by that owner and then the pilot', async () => {
    const user = await nobody();
    await chmod(root, 0o711);
    const dir = await createJobDir(root, 'j');
    const [file] = await writeSecretFiles(dir, { 'a.dat': base64('secret') }, user);
    await handOverJobDir(dir, user);
    expect(await lstat(dir)).toMatchObject({ uid: user.uid, gid: user.gid });
    expect(await lstat(file!)).toMatchObject({ uid: user.uid, gid: user.gid });
    expect(await modeOf(file!)).toBe(0o600);
    // What the payload may leave: a folder it took its own write permission from, and a link out of the job.
    const locked = join(dir, 'locked');
    await mkdir(join(locked, 'deeper'), { recursive: true });
    await writeFile(join(locked, 'deeper', 'x'), 'x');
    await symlink(root, join(dir, 'link-out'));
    await chown(locked, user.uid, user.gid);
    await chown(join(locked, 'deeper'), user.uid, user.gid);
    await chmod(locked, 0o500);
    await removeJobDir(dir);
    expect(await readdir(root)).toEqual([]);
  });

  it("is removed with its owner's rights only: what the owner could not delete stays, and the removal fails", async () => {
    const user = await nobody();
    await chmod(root, 0o711);
    const dir = await createJobDir(root, 'j');
    await handOverJobDir(dir, user);
    const rootOwned = join(dir, 'root-owned');
    await mkdir(rootOwned, { mode: 0o755 });
    await writeFile(join(rootOwned, 'keep'), "not the payload's to delete");
    await expect(removeJobDir(dir)).rejects.toThrow(
      `could not remove ./root-owned in ${dir} as its owner (uid ${user.uid})`,
    );
    expect(await readFile(join(rootOwned, 'keep'), 'utf8')).toBe("not the payload's to delete");
  });
});
