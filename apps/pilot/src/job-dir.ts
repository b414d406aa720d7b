import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PandaError } from '@panda-secrets/protocol';
import { type ProcessFacts, hostProcess } from './process-facts.js';
import { removeEntries } from './remove-as-owner.js';
import { writeExclusive } from './secret-files.js';
import type { RunAsUser } from './users.js';

/**
 * Beside each job directory `job-…` in the work root, the file `job-….owner` names the process that
 * removes it (the job's supervisor), for clean-up after a crash. It sits in the work root, which only
 * panda-pilot's user may write and which no payload sees, so nothing a payload can touch decides clean-up.
 */
const OWNER_SUFFIX = '.owner';
const JOB_DIR_PREFIX = 'job-';

/**
 * Creates the job's fresh working directory (mode 0700) under `root`, after the owner file beside it
 * that names this process, so that a directory is never there without the process that removes it
 * being known; fails, leaving nothing, if that process cannot be named. The directory's name holds
 * the job id only as far as it is a safe file name. `host` is the job's supervisor.
 */
export async function createJobDir(root: string, jobId: string, host: ProcessFacts = hostProcess): Promise<string> {
  const label = jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  const dir = join(root, `${JOB_DIR_PREFIX}${label}-${randomBytes(6).toString('hex')}`);
  // Without its owner's identity, no pilot could ever tell that the directory's owner is gone and remove it.
  const identity = await host.identity(host.pid);
  if (identity === undefined) {
    throw new PandaError(
      'CONFIG',
      `cannot read this job supervisor's process identity from /proc/${host.pid}/stat, which names the owner of the job's ` +
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
 * Removes the job's working directory and everything the payload left in it, then its owner file.
 * `host` is the process that removes it (the job's supervisor, or a pilot cleaning up after one).
 */
export async function removeJobDir(dir: string, host: ProcessFacts = hostProcess): Promise<void> {
  let entries: string[] = [];
  try {
    // A payload of the pilot's own user may have taken the right to list its directory (`chmod 000 .`).
    if (host.uid !== 0 && (await lstat(dir)).uid === host.uid) await chmod(dir, 0o700);
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await removeEntries(dir, entries);
  await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await forgetJobDir(dir);
}

/** Removes the owner file of job directory `dir`: no clean-up of it is due any more. */
export async function forgetJobDir(dir: string): Promise<void> {
  await rm(`${dir}${OWNER_SUFFIX}`, { force: true });
}

/** The process named in an owner file: its pid and start time, as ProcessFacts.identity gives them. */
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
 * file is still being written is left alone. Returns what it removed. `host` is the pilot's process.
 */
export async function removeStaleJobDirs(root: string, host: ProcessFacts = hostProcess): Promise<StaleJobDir[]> {
  const removed: StaleJobDir[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith(JOB_DIR_PREFIX) || !entry.name.endsWith(OWNER_SUFFIX)) continue;
    const name = entry.name.slice(0, -OWNER_SUFFIX.length);
    const owner = await ownerOf(join(root, entry.name));
    if (owner === undefined) continue;
    const pid = Number.parseInt(owner, 10);
    if ((await host.identity(pid)) === owner) continue;
    await removeJobDir(join(root, name), host);
    removed.push({ name, pid });
  }
  return removed;
}
