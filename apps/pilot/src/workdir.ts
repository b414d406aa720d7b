import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, open, readdir, realpath, rm, rmdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PandaError, assertFileName, decodeFileValue } from '@panda-secrets/protocol';
import type { RunAsUser } from './users.js';

/** The file in each job directory that names the pilot running the job, for clean-up after a crash. */
export const PILOT_PID_FILE = '.pilot-pid';
/** The work root's mode when panda-pilot creates it: others may pass through to their own job directory, not list it. */
const WORK_ROOT_MODE = 0o711;
const JOB_DIR_PREFIX = 'job-';

function pilotUid(): number {
  return process.getuid?.() ?? -1;
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

function workRootError(root: string, problem: string): PandaError {
  return new PandaError(
    'CONFIG',
    `the work directory ${root} (--workdir) ${problem}; it must be a real directory (not a symbolic link) owned by ` +
      `panda-pilot's user (uid ${pilotUid()}) and not writable by group or others, such as the one panda-pilot creates (mode 0711)`,
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
 * --run-as user, that user must also be able to pass through it to its own job directory.
 */
export async function prepareWorkRoot(root: string, runAs?: RunAsUser): Promise<void> {
  const created = await mkdir(root, { recursive: true, mode: WORK_ROOT_MODE }).catch((error: NodeJS.ErrnoException) => {
    // Something that is no directory is in the way: the checks below say what.
    if (error.code === 'EEXIST' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  // The umask may have taken bits off.
  if (created !== undefined) await chmod(root, WORK_ROOT_MODE);
  const info = await lstat(root);
  if (info.isSymbolicLink()) throw workRootError(root, 'is a symbolic link');
  if (!info.isDirectory()) throw workRootError(root, 'is not a directory');
  if (info.uid !== pilotUid()) throw workRootError(root, `is owned by uid ${info.uid}`);
  if ((info.mode & 0o022) !== 0) throw workRootError(root, `is writable by group or others (mode ${octal(info.mode)})`);
  if (runAs !== undefined) await assertReachable(root, runAs);
}

/**
 * Creates the job's fresh working directory (mode 0700) under `root` with a `.pilot-pid` file
 * naming this pilot. The directory's name holds the job id only as far as it is a safe file name.
 */
export async function createJobDir(root: string, jobId: string): Promise<string> {
  const label = jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const dir = await mkdtemp(join(root, `${JOB_DIR_PREFIX}${label}-`));
  await writeExclusive(join(dir, PILOT_PID_FILE), `${process.pid}\n`, 0o644);
  return dir;
}

/**
 * Hands the job's directory to the user its payload runs as, once its secret files are in place
 * (they were handed over as they were written): no process of that user can enter it earlier.
 */
export async function handOverJobDir(dir: string, user: RunAsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
}

/**
 * The path of secret file `name` inside `dir`. The name is validated again here, whatever the
 * server checked, because a name like `../x` would write outside the job's directory.
 */
export function secretFilePath(dir: string, name: string): string {
  assertFileName(name);
  const path = resolve(dir, name);
  if (dirname(path) !== resolve(dir)) {
    throw new PandaError('INVALID_NAME', `the secret file name ${JSON.stringify(name)} leaves the job's directory`);
  }
  return path;
}

/** Creates `path` with `mode`, failing if anything is there already (O_EXCL), and writes `data`. */
async function writeExclusive(path: string, data: string | Uint8Array, mode: number, owner?: RunAsUser): Promise<void> {
  const handle: FileHandle = await open(path, 'wx', mode);
  try {
    if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/**
 * Writes each file secret (name to base64 bytes) into `dir` with mode 0600, owned by `owner` if
 * given, failing if a file of that name exists already (O_EXCL), so nothing planted in the
 * directory is followed or reused. Returns the paths written; on failure removes the ones already
 * written.
 */
export async function writeSecretFiles(dir: string, files: Record<string, string>, owner?: RunAsUser): Promise<string[]> {
  const written: string[] = [];
  try {
    for (const [name, base64] of Object.entries(files)) {
      const path = secretFilePath(dir, name);
      const bytes = decodeFileValue(name, base64);
      await writeExclusive(path, bytes, 0o600, owner);
      written.push(path);
    }
    return written;
  } catch (error) {
    await removeEntries(dir, written);
    throw error;
  }
}

function runAsOwner(user: { uid: number; gid: number }, cwd: string, script: string, args: readonly string[]): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', script, 'panda-pilot-cleanup', ...args], {
      cwd,
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise(code));
  });
}

/**
 * Removes the entries `paths` (files or whole trees) of `dir`; an entry already gone is fine, as
 * the payload may have removed or replaced it. Where the pilot runs as root and `dir` belongs to
 * the payload's user, the removal runs as that user: a root `rm -rf` in a tree that user can still
 * change (through a process that escaped the job) could be led by a swapped-in symbolic link to
 * delete files anywhere.
 */
export async function removeEntries(dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const owner = await lstat(dir);
  if (pilotUid() !== 0 || owner.uid === 0) {
    await Promise.all(paths.map((path) => rm(resolve(dir, path), { force: true, recursive: true })));
    return;
  }
  const names = paths.map((path) => `./${resolve(dir, path).slice(resolve(dir).length + 1)}`);
  // The payload may have taken its own write permission off a folder; its owner may give it back.
  await runAsOwner(owner, dir, 'chmod -R u+rwX -- "$@" 2>/dev/null; rm -rf -- "$@"', names);
  const left = (await Promise.all(names.map((name) => lstat(join(dir, name)).then(() => name, () => undefined)))).filter(Boolean);
  if (left.length > 0) {
    throw new PandaError('CONFIG', `could not remove ${left.join(', ')} in ${dir} as its owner (uid ${owner.uid})`);
  }
}

/** Removes the job's working directory and everything the payload left in it. */
export async function removeJobDir(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await removeEntries(dir, entries);
  await rmdir(dir);
}

/** The pid in a job directory's `.pilot-pid`, read without following a link or blocking on a FIFO the payload put there. */
async function pilotPidOf(dir: string): Promise<number | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(join(dir, PILOT_PID_FILE), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(32), 0, 32, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1');
    return /^[1-9]\d{0,9}\n?$/.test(text) ? Number.parseInt(text, 10) : undefined;
  } finally {
    await handle.close();
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A job directory left by a pilot that died without cleaning up. */
export interface StaleJobDir {
  name: string;
  pid: number;
}

/**
 * Removes the job directories under `root` whose pilot (the pid in their `.pilot-pid`) is gone,
 * as a pilot killed with SIGKILL leaves them, secret files and all. Directories without a readable
 * pid are left alone: a pilot may be creating them right now. Returns what it removed.
 */
export async function removeStaleJobDirs(root: string): Promise<StaleJobDir[]> {
  const removed: StaleJobDir[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !entry.name.startsWith(JOB_DIR_PREFIX)) continue;
    const dir = join(root, entry.name);
    const pid = await pilotPidOf(dir);
    if (pid === undefined || processExists(pid)) continue;
    await removeJobDir(dir);
    removed.push({ name: entry.name, pid });
  }
  return removed;
}
