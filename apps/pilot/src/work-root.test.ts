import { describe, expect, it } from '@jest/globals';
import { chmod, chown, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeAsRoot } from '@panda-secrets/testkit/unit';
import { freshDirEachTest, modeOf } from './testing/files.js';
import { hostProcess } from './process-facts.js';
import { nobody } from './testing/root.js';
import { prepareWorkRoot } from './work-root.js';

let root: string;
freshDirEachTest('pilot-work-root-test-', (dir) => {
  root = dir;
});

/**
 * Replaces the work root at `path` by a symbolic link to a fresh directory, and gives the path as
 * `path` followed by `suffix`, a form that would make lstat follow the link.
 */
function linkToDirectory(suffix: string) {
  return async (path: string): Promise<string> => {
    await rm(path, { recursive: true });
    await mkdir(`${path}-target`, { mode: 0o700 });
    await symlink(`${path}-target`, path);
    return `${path}${suffix}`;
  };
}

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
    ['a symbolic link, given with a trailing slash', linkToDirectory('/'), /is a symbolic link/],
    ['a symbolic link, given as LINK/.', linkToDirectory('//.'), /is a symbolic link/],
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

describe("prepareWorkRoot, of a pilot's uid that is not the work root's owner", () => {
  it('refuses the work root, naming both uids', async () => {
    const pilot = { ...hostProcess, uid: hostProcess.uid + 1 };
    await expect(prepareWorkRoot(root, undefined, pilot)).rejects.toThrow(
      `the work directory ${root} (--workdir) is owned by uid ${hostProcess.uid}; it must be a real directory (not a symbolic link) ` +
        `owned by panda-pilot's user (uid ${pilot.uid}) and not writable by group or others`,
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
