import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { createPrivateFile, writePrivateFile } from '@panda-secrets/cli-kit';

/** Reads a text file, or returns null when it does not exist. */
export async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** True when something exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Creates the data directory readable by its owner only. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
}

export { writePrivateFile };

/**
 * Reads a private file, creating it from `generate()` when it does not exist. Two processes
 * starting at once agree on one file: it appears whole or not at all (written aside, then
 * hard-linked into place, which fails if it exists), and the loser of the race reads the winner's.
 */
export async function readOrCreatePrivateFile(
  path: string,
  generate: () => Promise<string> | string,
): Promise<{ text: string; created: boolean }> {
  const existing = await readIfExists(path);
  if (existing !== null) return { text: existing, created: false };
  const text = await generate();
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await createPrivateFile(temporary, text);
  try {
    await link(temporary, path);
    return { text, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { text: await readFile(path, 'utf8'), created: false };
  } finally {
    await rm(temporary, { force: true });
  }
}
