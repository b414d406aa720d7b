import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';

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
