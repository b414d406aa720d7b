import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { PandaError } from '@panda-secrets/protocol';

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
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new PandaError('USAGE', `${path} is a symbolic link: give the path of a regular file (links are not followed)`);
    throw new PandaError('USAGE', `cannot write ${path}: ${code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : String(code)}`, { cause: error });
  }
  try {
    await handle.chmod(0o600);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
