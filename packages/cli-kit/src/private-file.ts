import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { PandaError } from '@panda-secrets/protocol';

/** Creates `path` exclusively with mode 0600 and writes `text` to disk (EEXIST if it exists). */
export async function createPrivateFile(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file of key material or tokens with mode 0600, atomically: a temporary file created
 * exclusively, then renamed over the target, so a reader never sees half of it.
 */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await createPrivateFile(temporary, text);
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Writes `data` to `path` readable by its owner only (mode 0600, also when the file existed with
 * another mode, which is narrowed before anything is written). A symbolic link at `path` is
 * refused rather than followed, so a link planted there cannot send a token or a secret to a
 * file of someone else's choosing.
 *
 * @example
 * await writePrivateOutput('/home/jdoe/.panda-token', `${token}\n`);
 */
export async function writePrivateOutput(path: string, data: string | Uint8Array): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      throw new PandaError(
        'USAGE',
        `${path} is a symbolic link: give the path of a regular file (links are not followed)`,
      );
    throw new PandaError(
      'USAGE',
      `cannot write ${path}: ${code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code)}`,
      { cause: error },
    );
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
