import { describe, expect, it } from '@jest/globals';
import { FakeClient, runCommand } from '../../testing/fakes.js';
import type { FakeSetup } from '../../testing/fakes.js';
import { runDeleteAllSecrets } from './run.js';

function deleteAll(yes: boolean, setup: FakeSetup) {
  const client = new FakeClient();
  client.secrets.set('K', 'value');
  return runCommand(runDeleteAllSecrets, { yes }, { client, ...setup });
}

const TTY = { stdin: true, stdout: true };

describe('delete-all-secrets', () => {
  it('asks on a terminal and deletes on yes', async () => {
    const run = await deleteAll(false, { isTTY: TTY, answers: ['y'] });
    expect(run.questions).toEqual(['Delete all your secrets? [y/N] ']);
    expect([run.client.secrets.size, run.stderr]).toEqual([0, 'deleted all secrets\n']);
  });

  it.each([
    ['n', 'n'],
    ['Ctrl-D', null],
  ])('keeps everything on %s', async (_key, answer) => {
    const run = await deleteAll(false, { isTTY: TTY, answers: [answer] });
    expect([run.error, run.client.secrets.size, run.client.calls, run.stderr]).toEqual([
      undefined,
      1,
      [],
      'nothing deleted\n',
    ]);
  });

  it('stops with INTERRUPTED (exit 130) on Ctrl-C, nothing deleted', async () => {
    const run = await deleteAll(false, { isTTY: TTY, answers: ['ctrl-c'] });
    expect([run.error?.code, run.error?.message]).toEqual(['INTERRUPTED', 'cancelled (Ctrl-C): nothing deleted']);
    expect([run.client.secrets.size, run.client.calls]).toEqual([1, []]);
  });

  it('needs --yes without a terminal', async () => {
    const refused = await deleteAll(false, {});
    expect([refused.error?.code, refused.error?.message]).toEqual([
      'USAGE',
      'delete-all-secrets deletes every secret you have: pass --yes to confirm when not on a terminal',
    ]);
    expect(refused.client.calls).toEqual([]);
    const confirmed = await deleteAll(true, {});
    expect([confirmed.error, confirmed.client.secrets.size, confirmed.questions]).toEqual([undefined, 0, []]);
  });
});
