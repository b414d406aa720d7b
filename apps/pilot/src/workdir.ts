import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PandaError, assertFileName, decodeFileValue } from '@panda-secrets/protocol';

/**
 * Creates the job's fresh working directory (mode 0700) under `root`, creating `root` if needed.
 * The directory's name holds the job id only as far as it is a safe file name.
 */
export async function createJobDir(root: string, jobId: string): Promise<string> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const label = jobId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
  return mkdtemp(join(root, `job-${label}-`));
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
      const handle = await open(path, 'wx', 0o600);
      written.push(path);
      try {
        await handle.writeFile(bytes);
      } finally {
        await handle.close();
      }
    }
    return written;
  } catch (error) {
    await removeFiles(written);
    throw error;
  }
}

/** Removes the given files; a file already gone, or replaced by a directory, is handled: the payload may have done either. */
export async function removeFiles(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((path) => rm(path, { force: true, recursive: true })));
}

/** Removes the job's working directory and everything the payload left in it. */
export async function removeJobDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
