import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, open, readFile, readdir, realpath, rm, rmdir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PandaError, assertFileName, decodeFileValue } from '@panda-secrets/protocol';
import type { RunAsUser } from './users.js';

/**
 * Beside each job directory `job-…` in the work root, the file `job-….owner` names the process that
 * removes it (the job's supervisor), for clean-up after a crash. It sits in the work root, which only
 * panda-pilot's user may write and which no payload sees, so nothing a payload can touch decides clean-up.
 */
const OWNER_SUFFIX = '.owner';
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
export async function prepareWorkRoot(given: string, runAs?: RunAsUser): Promise<string> {
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
  if (info.isSymbolicLink()) throw workRootError(given, 'is a symbolic link');
  if (!info.isDirectory()) throw workRootError(given, 'is not a directory');
  if (info.uid !== pilotUid()) throw workRootError(given, `is owned by uid ${info.uid}`);
  if ((info.mode & 0o022) !== 0)
    throw workRootError(given, `is writable by group or others (mode ${octal(info.mode)})`);
  if (runAs !== undefined) await assertReachable(root, runAs);
  return realpath(root);
}

/** A process as /proc knows it: its pid and its start time, which tells it from a later process given the same pid. */
async function processIdentity(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    // The fields after the command's closing parenthesis start with the 3rd (the state); the start time is the 22nd.
    const [state, ...fields] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie (killed, not yet reaped) removes nothing any more.
    const startTime = state === 'Z' || state === 'X' ? undefined : fields[18];
    return startTime === undefined ? undefined : `${pid} ${startTime}`;
  } catch {
    return undefined;
  }
}

/**
 * Creates the job's fresh working directory (mode 0700) under `root`, after the owner file beside it
 * that names this process, so that a directory is never there without the process that removes it
 * being known; fails, leaving nothing, if that process cannot be named. The directory's name holds
 * the job id only as far as it is a safe file name. `identify` is for tests.
 */
export async function createJobDir(
  root: string,
  jobId: string,
  identify: () => Promise<string | undefined> = () => processIdentity(process.pid),
): Promise<string> {
  const label = jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const dir = join(root, `${JOB_DIR_PREFIX}${label}-${randomBytes(6).toString('hex')}`);
  // Without its owner's identity, no pilot could ever tell that the directory's owner is gone and remove it.
  const identity = await identify();
  if (identity === undefined) {
    throw new PandaError(
      'CONFIG',
      `cannot read this job supervisor's process identity from /proc/${process.pid}/stat, which names the owner of the job's ` +
        `directory for clean-up after a crash; the job was not set up (is /proc mounted?)`,
    );
  }
  await writeExclusive(`${dir}${OWNER_SUFFIX}`, `${identity}\n`, 0o600);
  await mkdir(dir, { mode: 0o700 });
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
export async function writeSecretFiles(
  dir: string,
  files: Record<string, string>,
  owner?: RunAsUser,
): Promise<string[]> {
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

function runAsOwner(
  user: { uid: number; gid: number },
  cwd: string,
  script: string,
  args: readonly string[],
): Promise<number | null> {
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
 * Gives the owner back the rights the payload may have taken from it (`chmod 500 .`, `chmod 000`
 * on a folder: find changes a folder before it enters it, and follows no link), then removes the
 * entries given.
 */
const REMOVE_AS_OWNER =
  'chmod u+rwx . && find . -type d ! -perm -u=rwx -exec chmod u+rwx -- {} \\; 2>/dev/null; rm -rf -- "$@"';

/**
 * Removes the entries `paths` (files or whole trees) of `dir`, whatever permissions the payload set
 * on them or on `dir`; an entry already gone is fine, as the payload may have removed or replaced
 * it. The removal runs as the owner of `dir`: a root `rm -rf` in a tree the payload's user can still
 * change could be led by a swapped-in symbolic link to delete files anywhere.
 */
export async function removeEntries(dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const owner = await lstat(dir);
  const names = paths.map((path) => `./${resolve(dir, path).slice(resolve(dir).length + 1)}`);
  await runAsOwner(owner, dir, REMOVE_AS_OWNER, names);
  const left = (
    await Promise.all(
      names.map((name) =>
        lstat(join(dir, name)).then(
          () => name,
          () => undefined,
        ),
      ),
    )
  ).filter(Boolean);
  if (left.length > 0) {
    throw new PandaError('CONFIG', `could not remove ${left.join(', ')} in ${dir} as its owner (uid ${owner.uid})`);
  }
}

/** Removes the job's working directory and everything the payload left in it, then its owner file. */
export async function removeJobDir(dir: string): Promise<void> {
  let entries: string[] = [];
  try {
    // A payload of the pilot's own user may have taken the right to list its directory (`chmod 000 .`).
    if (pilotUid() !== 0 && (await lstat(dir)).uid === pilotUid()) await chmod(dir, 0o700);
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (entries.length > 0) await removeEntries(dir, entries);
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await forgetJobDir(dir);
}

/** Removes the owner file of job directory `dir`: no clean-up of it is due any more. */
export async function forgetJobDir(dir: string): Promise<void> {
  await rm(`${dir}${OWNER_SUFFIX}`, { force: true });
}

/** The process named in an owner file: its pid and start time, as processIdentity gives them. */
async function ownerOf(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'latin1').catch(() => '');
  return /^[1-9]\d{0,9} \d+\n$/.test(text) ? text.trimEnd() : undefined;
}

/** A job directory left by a pilot that died without cleaning up. */
export interface StaleJobDir {
  name: string;
  pid: number;
}

/**
 * Removes the job directories under `root` whose supervisor (named in their owner file) is gone,
 * secret files and all: what a supervisor killed with SIGKILL leaves. A job directory whose owner
 * file is still being written is left alone. Returns what it removed.
 */
export async function removeStaleJobDirs(root: string): Promise<StaleJobDir[]> {
  const removed: StaleJobDir[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith(JOB_DIR_PREFIX) || !entry.name.endsWith(OWNER_SUFFIX)) continue;
    const name = entry.name.slice(0, -OWNER_SUFFIX.length);
    const owner = await ownerOf(join(root, entry.name));
    if (owner === undefined) continue;
    const pid = Number.parseInt(owner, 10);
    if ((await processIdentity(pid)) === owner) continue;
    await removeJobDir(join(root, name));
    removed.push({ name, pid });
  }
  return removed;
}
