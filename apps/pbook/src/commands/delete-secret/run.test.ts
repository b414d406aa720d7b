import { describe, expect, it } from '@jest/globals';
import { FakeClient, runCommand } from '../../testing/fakes.js';
import { runDeleteSecret } from './run.js';

function deleteSecret(name: string, client: FakeClient) {
  return runCommand(runDeleteSecret, { name }, { client });
}

describe('delete-secret', () => {
  it('deletes an env secret or a file secret by its name', async () => {
    const client = new FakeClient();
    client.secrets.set('K', 'v');
    client.secrets.set('___file___:f.dat', 'AA==');
    expect((await deleteSecret('K', client)).stderr).toBe('deleted K\n');
    expect((await deleteSecret('f.dat', client)).stderr).toBe('deleted f.dat\n');
    expect(client.secrets.size).toBe(0);
  });

  it('passes NOT_FOUND on for a name that does not exist', async () => {
    const run = await deleteSecret('NOPE', new FakeClient());
    expect(run.error?.code).toBe('NOT_FOUND');
  });

  it.each(['a b', 'a/b', '', '..'])('rejects %j with both name rules, sending nothing', async (name) => {
    const run = await deleteSecret(name, new FakeClient());
    expect(run.error?.code).toBe('INVALID_NAME');
    expect(run.error?.message).toMatch(
      /a secret name must be an environment variable name.*; a secret file name must be a plain file name/,
    );
    expect(run.client.calls).toEqual([]);
  });
});
