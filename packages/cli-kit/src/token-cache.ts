import { constants } from 'node:fs';
import { chmod, mkdir, open, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TokenCacheFile } from '@panda-secrets/client';
import { PandaError } from '@panda-secrets/protocol';
import { writePrivateFile } from './private-file.js';

/** PanDA's default configuration folder, where its client keeps the token cache too. */
export const DEFAULT_CONFIG_ROOT = '~/.pathena';
/** PanDA's name of the token cache in that folder. */
export const TOKEN_CACHE_NAME = '.token';

/** `~` and `~/...` expanded as Python's os.path.expanduser does, PanDA's client being Python. */
function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/** Where the token cache is: `$PANDA_CONFIG_ROOT/.token`, else `~/.pathena/.token`, as PanDA's client has it. */
export function tokenCachePath(env: Readonly<Record<string, string | undefined>>, home: string = homedir()): string {
  return join(
    expandHome(env.PANDA_CONFIG_ROOT || DEFAULT_CONFIG_ROOT, expandHome(env.HOME || home, home)),
    TOKEN_CACHE_NAME,
  );
}

/**
 * The token cache as a file: its folder is made (or tightened to) 0700, and the file is replaced
 * atomically with a 0600 file (written aside with an exclusive create, synced, then renamed), so
 * another reader (PanDA's own client too) never sees half a token.
 */
export function fileTokenCache(path: string): TokenCacheFile {
  const folder = join(path, '..');
  return {
    path,
    async read() {
      let handle: FileHandle;
      try {
        handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return undefined;
        if (code === 'ELOOP')
          throw new PandaError(
            'CONFIG',
            `the token cache ${path} is a symbolic link: it is not used; remove it (pbook logout) and sign in again`,
          );
        throw error;
      }
      try {
        // A cache someone else could have written would sign this user in as that someone: what
        // they then store would land in another account.
        const { uid, mode } = await handle.stat();
        const ownUid = process.getuid?.();
        if ((ownUid !== undefined && uid !== ownUid) || (mode & 0o022) !== 0) {
          throw new PandaError(
            'CONFIG',
            `the token cache ${path} is not yours alone (owner uid ${uid}, mode ${(mode & 0o777).toString(8)}): it is not used; remove it (pbook logout) and sign in again`,
          );
        }
        return await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    },
    async write(text) {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      await chmod(folder, 0o700);
      await writePrivateFile(path, text);
    },
    async remove() {
      try {
        await unlink(path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
  };
}
