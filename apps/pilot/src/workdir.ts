import { constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, rm, rmdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PandaError, assertFileName, decodeFileValue } from '@panda-secrets/protocol';

/** The file in each job directory that names the pilot running the job, for clean-up after a crash. */
export const PILOT_PID_FILE = '.pilot-pid';
/** The work root's mode when panda-pilot creates it: others may pass through, not list it. */
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

/**
 * Makes sure the work root is safe to hold job directories: creates it with mode 0711 if missing;
 * if it exists, it must be a real directory owned by the pilot's uid and not writable by group or
 * others, or else someone else could plant or swap the directories secrets are written to.
 */
export async function prepareWorkRoot(root: string): Promise<void> {
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
async function writeExclusive(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const handle: FileHandle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/**
 * Writes each file secret (name to base64 bytes) into `dir` with mode 0600, failing if a file of
 * that name exists already (O_EXCL), so nothing planted in the directory is followed or reused.
 * Returns the paths written; on failure removes the ones already written.
 */
export async function writeSecretFiles(dir: string, files: Record<string, string>): Promise<string[]> {
  const written: string[] = [];
  try {
    for (const [name, base64] of Object.entries(files)) {
      const path = secretFilePath(dir, name);
      const bytes = decodeFileValue(name, base64);
      await writeExclusive(path, bytes, 0o600);
      written.push(path);
    }
    return written;
  } catch (error) {
    await removeEntries(dir, written);
    throw error;
  }
}

/**
 * Removes the entries `paths` (files or whole trees) of `dir`; an entry already gone, or replaced
 * by a directory, is fine: the payload may have done either.
 */
export async function removeEntries(dir: string, paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(resolve(dir, path), { force: true, recursive: true })));
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
