import { describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { cliContext, clientMaking } from './index.js';

class FakeClient {
  constructor(readonly options: { server: string }) {}
}

describe('cliContext', () => {
  const proc = {
    argv: ['/usr/bin/node', '/opt/prun/bin/prun.js', '--exec', 'true'],
    env: { PANDA_AUTH_VO: 'atlas' },
    stdout: new PassThrough(),
    stderr: new PassThrough(),
  };

  it('hands over the arguments after the script, the version, the environment and the streams', () => {
    const { args, version, deps } = cliContext(proc, '{"name": "@panda-secrets/prun", "version": "0.1.0"}');
    expect({ args, version }).toEqual({ args: ['--exec', 'true'], version: '0.1.0' });
    expect(deps.env).toBe(proc.env);
    expect([deps.stdout, deps.stderr]).toEqual([proc.stdout, proc.stderr]);
  });

  it('loads the client package only when a client is made', async () => {
    let loads = 0;
    const making = clientMaking(proc, async () => {
      loads += 1;
      return { PandaClient: FakeClient };
    });
    expect(loads).toBe(0);
    const client = await making.createClient({ server: 'https://panda:8443' });
    expect([loads, client]).toEqual([1, new FakeClient({ server: 'https://panda:8443' })]);
  });

  it('refuses a package.json without a version', () => {
    expect(() => cliContext(proc, '{"name": "x"}')).toThrow(
      expect.objectContaining({ code: 'CONFIG', message: 'the package.json of this program names no version' }),
    );
  });
});
