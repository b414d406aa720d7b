import { describe, expect, it } from '@jest/globals';
import { noTokenMessage, resolveClientOptions, type ConnectionSource } from './index.js';

function source(env: Record<string, string>, files: Record<string, string> = {}): ConnectionSource {
  return {
    env,
    async readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return Buffer.from(text);
    },
  };
}

describe('resolveClientOptions', () => {
  it("prefers the command line, then PanDA's variables, then the default server", async () => {
    const env = {
      PANDA_URL_SSL: 'https://env.example:25443',
      PANDA_AUTH_ID_TOKEN: 'env-token',
      PANDA_AUTH_VO: 'atlas',
    };
    expect(
      await resolveClientOptions(source(env, { '/t': ' file-token\n' }), {
        server: 'https://cli:1',
        tokenFile: '/t',
        vo: 'cms',
      }),
    ).toEqual({
      server: 'https://cli:1',
      token: 'file-token',
      vo: 'cms',
    });
    expect(await resolveClientOptions(source(env), {})).toEqual({
      server: 'https://env.example:25443',
      token: 'env-token',
      vo: 'atlas',
    });
    expect(
      await resolveClientOptions(source({ OIDC_AUTH_TOKEN_FILE: '/oidc' }, { '/oidc': 'oidc-token' }), {}),
    ).toEqual({
      server: 'http://127.0.0.1:25080',
      token: 'oidc-token',
    });
  });

  it('says how to give a token when there is none, for users and for pilots', async () => {
    await expect(resolveClientOptions(source({}), {})).rejects.toMatchObject({
      code: 'AUTH_REQUIRED',
      message: noTokenMessage(),
    });
    await expect(resolveClientOptions(source({}), {}, 'pilot')).rejects.toThrow('--role pilot prints one');
    await expect(resolveClientOptions(source({}), { tokenFile: '/missing' })).rejects.toThrow(
      'cannot read the token file "/missing" (--token-file): no such file',
    );
    await expect(resolveClientOptions(source({}, { '/empty': '\n' }), { tokenFile: '/empty' })).rejects.toThrow(
      'is empty',
    );
  });

  it("takes only the scheme and host:port of the address, as PanDA's client does", async () => {
    const env = { PANDA_AUTH_ID_TOKEN: 't', PANDA_URL_SSL: 'https://panda.example:25443/server/panda' };
    expect((await resolveClientOptions(source(env), {})).server).toBe('https://panda.example:25443');
    expect(
      (await resolveClientOptions(source(env), { server: 'http://127.0.0.1:25080/server/panda/?x=1#y' })).server,
    ).toBe('http://127.0.0.1:25080');
  });

  it('refuses a token of more than one word, saying so rather than failing later as unreachable', async () => {
    await expect(
      resolveClientOptions(source({}, { '/two': 'first\nsecond\n' }), { tokenFile: '/two' }),
    ).rejects.toMatchObject({
      code: 'AUTH_REQUIRED',
      message:
        'the token file "/two" (--token-file) holds more than one word: a token is a single line without spaces; write only the token there',
    });
    await expect(resolveClientOptions(source({ PANDA_AUTH_ID_TOKEN: 'a b' }), {})).rejects.toMatchObject({
      code: 'AUTH_REQUIRED',
    });
  });

  it('refuses a server address that is not an http(s) URL', async () => {
    const env = { PANDA_AUTH_ID_TOKEN: 't' };
    await expect(resolveClientOptions(source(env), { server: 'not a url' })).rejects.toMatchObject({ code: 'CONFIG' });
    await expect(resolveClientOptions(source({ ...env, PANDA_URL_SSL: 'ftp://x' }), {})).rejects.toThrow(
      'the server address "ftp://x" (PANDA_URL_SSL) must start with http:// or https://',
    );
  });

  it('sends a token over plain http only to a loopback address', async () => {
    const env = { PANDA_AUTH_ID_TOKEN: 't' };
    for (const server of [
      'http://127.0.0.1:25080',
      'http://localhost:25080',
      'http://[::1]:25080',
      'https://panda.example:25443',
    ]) {
      expect((await resolveClientOptions(source(env), { server })).server).toBe(new URL(server).origin);
    }
    for (const server of ['http://panda.example:25080', 'http://10.0.0.5:25080']) {
      await expect(resolveClientOptions(source(env), { server })).rejects.toMatchObject({
        code: 'CONFIG',
        message: `refusing to send your token over plain http to ${new URL(server).host}: use https://${new URL(server).host} (plain http only on a loopback address such as 127.0.0.1)`,
      });
    }
  });
});
