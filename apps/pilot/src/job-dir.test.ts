import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeAsRoot } from '@panda-secrets/testkit/unit';
import { createJobDir, handOverJobDir, removeJobDir, removeStaleJobDirs } from './job-dir.js';
import { type ProcessFacts, hostProcess } from './process-facts.js';
import { writeSecretFiles } from './secret-files.js';
import { base64, freshDirEachTest, modeOf } from './testing/files.js';
import { nobody } from './testing/root.js';

let root: string;
freshDirEachTest('pilot-job-dir-test-', (dir) => {
  root = dir;
});

/** Process `pid` of this test's user on a machine whose running processes are `running` (pid to start time). */
function fakeProcess(pid: number, running: ReadonlyMap<number, number>): ProcessFacts {
  return {
    uid: hostProcess.uid,
    pid,
    identity: async (of) => (running.has(of) ? `${of} ${running.get(of)}` : undefined),
  };
}

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

  it('names in the owner file the process it is given, by its pid and start time', async () => {
    const dir = await createJobDir(root, 'job1', fakeProcess(4242, new Map([[4242, 987654]])));
    expect(await readFile(`${dir}.owner`, 'utf8')).toBe('4242 987654\n');
  });

  it("fails, leaving nothing behind, when the supervisor's process identity cannot be read", async () => {
    await expect(createJobDir(root, 'job1', fakeProcess(4242, new Map()))).rejects.toMatchObject({
      code: 'CONFIG',
      message: expect.stringContaining('process identity from /proc/4242/stat'),
    });
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

  it('tells a gone or restarted owner from a running one by its pid and start time', async () => {
    const running = new Map([
      [101, 5000],
      [102, 6000],
      [103, 7000],
    ]);
    const live = await createJobDir(root, 'live', fakeProcess(101, running));
    const gone = await createJobDir(root, 'gone', fakeProcess(102, running));
    const restarted = await createJobDir(root, 'restarted', fakeProcess(103, running));
    await writeFile(join(gone, 'secret.dat'), 'left behind');
    running.delete(102);
    running.set(103, 7001);

    const removed = await removeStaleJobDirs(root, fakeProcess(200, running));
    expect(removed.sort((a, b) => a.pid - b.pid)).toEqual([
      { name: gone.slice(root.length + 1), pid: 102 },
      { name: restarted.slice(root.length + 1), pid: 103 },
    ]);
    expect((await readdir(root)).sort()).toEqual(
      [live, `${live}.owner`].map((dir) => dir.slice(root.length + 1)).sort(),
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
