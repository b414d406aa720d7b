import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PandaError, assertFileName, decodeFileValue } from '@panda-secrets/protocol';
import { removeEntries } from './remove-as-owner.js';
import type { RunAsUser } from './users.js';

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
export async function writeExclusive(
  path: string,
  data: string | Uint8Array,
  mode: number,
  owner?: RunAsUser,
): Promise<void> {
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
