import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PandaError } from '@panda-secrets/protocol';

function runAsOwner(
  user: { uid: number; gid: number },
  cwd: string,
  script: string,
  args: readonly string[],
): Promise<number | null> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', script, 'panda-pilot-cleanup', ...args], {
      cwd,
      uid: user.uid,
      gid: user.gid,
      env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      stdio: 'ignore',
    });
    child.once('error', reject);
    child.once('exit', (code) => resolvePromise(code));
  });
}

/**
 * Gives the owner back the rights the payload may have taken from it (`chmod 500 .`, `chmod 000`
 * on a folder: find changes a folder before it enters it, and follows no link), then removes the
 * entries given.
 */
const REMOVE_AS_OWNER =
  'chmod u+rwx . && find . -type d ! -perm -u=rwx -exec chmod u+rwx -- {} \\; 2>/dev/null; rm -rf -- "$@"';

/**
 * Removes the entries `paths` (files or whole trees) of `dir`, whatever permissions the payload set
 * on them or on `dir`; an entry already gone is fine, as the payload may have removed or replaced
 * it. The removal runs as the owner of `dir`: a root `rm -rf` in a tree the payload's user can still
 * change could be led by a swapped-in symbolic link to delete files anywhere.
 */
export async function removeEntries(dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const owner = await lstat(dir);
  const names = paths.map((path) => `./${resolve(dir, path).slice(resolve(dir).length + 1)}`);
  await runAsOwner(owner, dir, REMOVE_AS_OWNER, names);
  const left = (
    await Promise.all(
      names.map((name) =>
        lstat(join(dir, name)).then(
          () => name,
          () => undefined,
        ),
      ),
    )
  ).filter(Boolean);
  if (left.length > 0) {
    throw new PandaError('CONFIG', `could not remove ${left.join(', ')} in ${dir} as its owner (uid ${owner.uid})`);
  }
}
