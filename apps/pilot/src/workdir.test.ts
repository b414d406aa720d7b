import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAsRoot, nobody } from './testing/root.js';
import {
  PILOT_PID_FILE,
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
  it('makes a fresh 0700 directory per job under the root, holding the pilot\'s pid', async () => {
    const first = await createJobDir(root, 'job/../1');
    const second = await createJobDir(root, 'job/../1');
    expect(first).not.toBe(second);
    expect(first.startsWith(join(root, 'job-job1-'))).toBe(true);
    expect(await modeOf(first)).toBe(0o700);
    expect(await readdir(first)).toEqual([PILOT_PID_FILE]);
    expect(await readFile(join(first, PILOT_PID_FILE), 'utf8')).toBe(`${process.pid}\n`);
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

  it('accepts an existing directory of the pilot\'s own that others cannot write to', async () => {
    await chmod(root, 0o755);
    await expect(prepareWorkRoot(root)).resolves.toBeUndefined();
  });

  it.each([
    ['writable by its group', (path: string) => chmod(path, 0o770), /is writable by group or others \(mode 0770\)/],
    ['writable by others', (path: string) => chmod(path, 0o1777), /is writable by group or others \(mode 0777\)/],
    ['a symbolic link', async (path: string) => {
      await rm(path, { recursive: true });
      await symlink(tmpdir(), path);
    }, /is a symbolic link/],
    ['a file', async (path: string) => {
      await rm(path, { recursive: true });
      await writeFile(path, '');
    }, /is not a directory/],
  ])('refuses a work root that is %s, saying what is required', async (_, spoil, problem) => {
    const workRoot = join(root, 'work');
    await mkdir(workRoot);
    await spoil(workRoot);
    const refusal = prepareWorkRoot(workRoot);
    await expect(refusal).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(refusal).rejects.toThrow(problem);
    await expect(refusal).rejects.toThrow(/it must be a real directory \(not a symbolic link\) owned by panda-pilot's user \(uid \d+\) and not writable by group or others/);
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
    await expect(prepareWorkRoot(workRoot, user)).resolves.toBeUndefined();
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
      expect(await readdir(dir)).toEqual([PILOT_PID_FILE]);
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
    expect(await readdir(dir)).toEqual([PILOT_PID_FILE]);
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
    await removeEntries(dir, [...paths, PILOT_PID_FILE]);
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
  it("removes the job directories whose pilot is gone, and keeps those of live pilots and those without a pid", async () => {
    const stale = await createJobDir(root, 'stale');
    await writeFile(join(stale, PILOT_PID_FILE), `${deadPid()}\n`);
    await writeFile(join(stale, 'secret.dat'), 'left behind');
    const live = await createJobDir(root, 'live');
    const starting = await createJobDir(root, 'starting');
    await rm(join(starting, PILOT_PID_FILE));
    const planted = await createJobDir(root, 'planted');
    await rm(join(planted, PILOT_PID_FILE));
    await symlink(join(stale, PILOT_PID_FILE), join(planted, PILOT_PID_FILE));
    await mkdir(join(root, 'not-a-job'));
    await writeFile(join(root, 'not-a-job', PILOT_PID_FILE), `${deadPid()}\n`);

    const removed = await removeStaleJobDirs(root);
    expect(removed).toEqual([{ name: stale.slice(root.length + 1), pid: expect.any(Number) }]);
    expect((await readdir(root)).sort()).toEqual([live, planted, starting].map((dir) => dir.slice(root.length + 1)).concat('not-a-job').sort());
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

  it('is removed with its owner\'s rights only: what the owner could not delete stays, and the removal fails', async () => {
    const user = await nobody();
    await chmod(root, 0o711);
    const dir = await createJobDir(root, 'j');
    await handOverJobDir(dir, user);
    const rootOwned = join(dir, 'root-owned');
    await mkdir(rootOwned, { mode: 0o755 });
    await writeFile(join(rootOwned, 'keep'), 'not the payload\'s to delete');
    await expect(removeJobDir(dir)).rejects.toThrow(`could not remove ./root-owned in ${dir} as its owner (uid ${user.uid})`);
    expect(await readFile(join(rootOwned, 'keep'), 'utf8')).toBe('not the payload\'s to delete');
  });
});
