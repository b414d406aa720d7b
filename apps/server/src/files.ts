import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';

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

/** Creates `path` exclusively with mode 0600 and writes `text` to disk (EEXIST if it exists). */
async function createPrivateFile(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file of key material with mode 0600, atomically: a temporary file created exclusively,
 * then renamed over the target, so a reader never sees half a key ring.
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
 * Reads a private file, creating it from `generate()` when it does not exist. Two processes
 * starting at once agree on one file: it appears whole or not at all (written aside, then
 * hard-linked into place, which fails if it exists), and the loser of the race reads the winner's.
 */
export async function readOrCreatePrivateFile(path: string, generate: () => Promise<string> | string): Promise<{ text: string; created: boolean }> {
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
