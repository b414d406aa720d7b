import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { lookupUser, userEnvironment } from './users.js';

/** What `id` says of nobody, to compare with. */
const nobodyUid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
const nobodyGid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));

describe('lookupUser', () => {
  it('resolves a user by name or by uid to its uid, gid and home', async () => {
    const byName = await lookupUser('nobody');
    expect(byName).toEqual({ name: 'nobody', uid: nobodyUid, gid: nobodyGid, home: expect.any(String) });
    expect(await lookupUser(String(nobodyUid))).toEqual(byName);
    expect(userEnvironment(byName)).toEqual({ HOME: byName.home, USER: 'nobody', LOGNAME: 'nobody' });
  });

  it.each([
    ['no-such-user-here', '--run-as: there is no user "no-such-user-here" on this machine'],
    ['root', '--run-as must name an unprivileged user, not root (uid 0)'],
    ['0', '--run-as must name an unprivileged user, not root (uid 0)'],
    ['--help', '--run-as takes a user name or a numeric uid, not "--help"'],
    ['a b', '--run-as takes a user name or a numeric uid, not "a b"'],
  ])('refuses %j as a usage error', async (user, message) => {
    await expect(lookupUser(user)).rejects.toMatchObject({ code: 'USAGE', message });
  });
});
