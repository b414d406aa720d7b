import { chmod, lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PandaError } from '@panda-secrets/protocol';
import { type ProcessFacts, hostProcess } from './process-facts.js';
import type { RunAsUser } from './users.js';

/** The work root's mode when panda-pilot creates it: others may pass through to their own job directory, not list it. */
const WORK_ROOT_MODE = 0o711;

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function workRootError(root: string, problem: string, host: ProcessFacts): PandaError {
  return new PandaError(
    'CONFIG',
    `the work directory ${root} (--workdir) ${problem}; it must be a real directory (not a symbolic link) owned by ` +
      `panda-pilot's user (uid ${host.uid}) and not writable by group or others, such as the one panda-pilot creates (mode 0711)`,
  );
}

/** True when a process of `user` (with no supplementary groups, as the payload has) may pass through `path`. */
async function searchableBy(path: string, user: RunAsUser): Promise<boolean> {
  const { uid, gid, mode } = await stat(path);
  if (uid === user.uid) return (mode & 0o100) !== 0;
  if (gid === user.gid) return (mode & 0o010) !== 0;
  return (mode & 0o001) !== 0;
}

/** Fails unless `user` can pass through `root` and every folder above it. */
async function assertReachable(root: string, user: RunAsUser): Promise<void> {
  for (let path = await realpath(root); ; path = dirname(path)) {
    if (!(await searchableBy(path, user))) {
      throw new PandaError(
        'CONFIG',
        `the work directory ${root} (--workdir) cannot be reached by the --run-as user ${user.name} (uid ${user.uid}): ` +
          `${path} (mode ${octal((await stat(path)).mode)}) does not let it pass; each folder down to the work directory ` +
          `needs search permission for that user, for example chmod o+x ${path}`,
      );
    }
    if (path === dirname(path)) return;
  }
}

/**
 * Makes sure the work root is safe to hold job directories: creates it with mode 0711 if missing;
 * if it exists, it must be a real directory owned by the pilot's uid and not writable by group or
 * others, or else someone else could plant or swap the directories secrets are written to. With a
 * --run-as user, that user must also be able to pass through it to its own job directory. `host` is
 * the pilot's process.
 */
export async function prepareWorkRoot(
  given: string,
  runAs?: RunAsUser,
  host: ProcessFacts = hostProcess,
): Promise<string> {
  // Without trailing slashes or dots (`LINK/`, `LINK/.`), which would make lstat follow a final symbolic link.
  const root = resolve(given);
  const created = await mkdir(root, { recursive: true, mode: WORK_ROOT_MODE }).catch((error: NodeJS.ErrnoException) => {
    // Something that is no directory is in the way: the checks below say what.
    if (error.code === 'EEXIST' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  // The umask may have taken bits off.
  if (created !== undefined) await chmod(root, WORK_ROOT_MODE);
  const info = await lstat(root);
  if (info.isSymbolicLink()) throw workRootError(given, 'is a symbolic link', host);
  if (!info.isDirectory()) throw workRootError(given, 'is not a directory', host);
  if (info.uid !== host.uid) throw workRootError(given, `is owned by uid ${info.uid}`, host);
  if ((info.mode & 0o022) !== 0)
    throw workRootError(given, `is writable by group or others (mode ${octal(info.mode)})`, host);
  if (runAs !== undefined) await assertReachable(root, runAs);
  return realpath(root);
}
