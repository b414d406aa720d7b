import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PandaError } from '@panda-secrets/protocol';

const execFileAsync = promisify(execFile);

/** The Unix user a payload runs as (`--run-as`), from the system's user database. */
export interface RunAsUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** A user name as useradd allows it, or a numeric uid: nothing getent could take for an option. */
const USER_PATTERN = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*\$?$/;
/** getent's exit code when the key is not in the database. */
const GETENT_NOT_FOUND = 2;

/** Reads `name:password:uid:gid:gecos:home:shell`. */
function parsePasswdLine(line: string): RunAsUser | undefined {
  const [name, , uid, gid, , home] = line.split(':');
  if (name === undefined || home === undefined || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? ''))
    return undefined;
  return { name, uid: Number(uid), gid: Number(gid), home };
}

/** The passwd lines for `user` (a name or a uid): getent's, which also asks LDAP or SSSD, else /etc/passwd's. */
async function passwdLines(user: string): Promise<string[]> {
  try {
    return (await execFileAsync('getent', ['passwd', user])).stdout.split('\n');
  } catch (error) {
    const { code } = error as { code?: unknown };
    if (code === GETENT_NOT_FOUND) return [];
    if (code !== 'ENOENT')
      throw new PandaError('CONFIG', `cannot look up the --run-as user ${JSON.stringify(user)} with getent`, {
        cause: error,
      });
    const lines = (await readFile('/etc/passwd', 'utf8')).split('\n');
    return lines.filter((line) => {
      const [name, , uid] = line.split(':');
      return name === user || uid === user;
    });
  }
}

/**
 * Resolves `--run-as USER`, a user name or a numeric uid, to its uid, gid and home directory.
 * Refuses root, and users the system does not know.
 *
 * @example
 * await lookupUser('nobody'); // { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent' }
 */
export async function lookupUser(user: string): Promise<RunAsUser> {
  if (!USER_PATTERN.test(user)) {
    throw new PandaError('USAGE', `--run-as takes a user name or a numeric uid, not ${JSON.stringify(user)}`);
  }
  const found = (await passwdLines(user)).map(parsePasswdLine).find((entry) => entry !== undefined);
  if (found === undefined)
    throw new PandaError('USAGE', `--run-as: there is no user ${JSON.stringify(user)} on this machine`);
  if (found.uid === 0)
    throw new PandaError('USAGE', `--run-as must name an unprivileged user, not ${found.name} (uid 0)`);
  return found;
}

/** The variables that tell a program whose it is: the payload's say the --run-as user's. */
export function userEnvironment(user: RunAsUser): NodeJS.ProcessEnv {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name };
}
