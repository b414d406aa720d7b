import { randomBytes } from 'node:crypto';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { PandaError } from '@panda-secrets/protocol';

/** Creates `path` exclusively with mode 0600 and writes `data` to disk (EEXIST if it exists). */
export async function createPrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file of key material or tokens with mode 0600, atomically: a temporary file created
 * exclusively, then renamed over the target, so a reader never sees half of it. The data is only
 * ever in that fresh file: never in one another user owns, has open from before, or shares by a
 * hard link, and a link or FIFO planted at `path` is replaced, not written through.
 */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await createPrivateFile(temporary, data);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

const WRITE_FAILURES: Record<string, string> = {
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'its folder does not exist',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

/**
 * Writes `data` to `path` readable by its owner only (mode 0600) as writePrivateFile does: in a
 * fresh file renamed into place, so that a file planted there by another user, or opened by one
 * while its mode allowed it, never sees the data. A symbolic link at `path` is refused rather than
 * followed, and so is anything else that is not a regular file (a FIFO, /dev/null), which the
 * rename would replace.
 *
 * @example
 * await writePrivateOutput('/home/jdoe/.panda-token', `${token}\n`);
 */
export async function writePrivateOutput(path: string, data: string | Uint8Array): Promise<void> {
  const found = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw cannotWrite(path, error);
  });
  if (found?.isSymbolicLink())
    throw new PandaError(
      'USAGE',
      `${path} is a symbolic link: give the path of a regular file (links are not followed)`,
    );
  if (found?.isDirectory()) throw new PandaError('USAGE', `cannot write ${path}: it is a directory`);
  if (found !== undefined && !found.isFile())
    throw new PandaError('USAGE', `cannot write ${path}: it is not a regular file`);
  try {
    await writePrivateFile(path, data);
  } catch (error) {
    throw cannotWrite(path, error as NodeJS.ErrnoException);
  }
}

function cannotWrite(path: string, error: NodeJS.ErrnoException): PandaError {
  const code = String(error.code);
  return new PandaError('USAGE', `cannot write ${path}: ${WRITE_FAILURES[code] ?? code}`, { cause: error });
}
