import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { authConfigPath } from '@panda-secrets/protocol';
import { createFixture, type Fixture } from './testing/fixture.js';

const issuer = 'http://127.0.0.1:9/realms/panda';

describe("GET /auth/{VO}_auth_config.json, PanDA's auth config", () => {
  let atlasOnly: Fixture;
  let anyVo: Fixture;
  let local: Fixture;
  beforeAll(async () => {
    atlasOnly = await createFixture({
      oidc: {
        issuer,
        audience: 'panda-server',
        client: { id: 'panda-cli', secret: 'published', vos: ['atlas', 'cms'] },
      },
    });
    anyVo = await createFixture({
      oidc: { issuer: `${issuer}/`, audience: 'panda-cli', client: { id: 'panda-cli', vos: [] } },
    });
    local = await createFixture();
  });
  afterAll(async () => {
    await atlasOnly.close();
    await anyVo.close();
    await local.close();
  });

  it('publishes the client, audience and discovery URL without a token, for the VOs named', async () => {
    for (const vo of ['atlas', 'cms']) {
      const response = await atlasOnly.app.inject({ method: 'GET', url: authConfigPath(vo) });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        client_id: 'panda-cli',
        client_secret: 'published',
        audience: 'panda-server',
        oidc_config_url: `${issuer}/.well-known/openid-configuration`,
      });
    }
    const other = await atlasOnly.app.inject({ method: 'GET', url: authConfigPath('lsst') });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({
      success: false,
      message: 'no auth config for "lsst": this server publishes one for atlas, cms',
    });
  });

  it('publishes for any VO name without --oidc-vo, with an empty secret for a public client', async () => {
    const response = await anyVo.app.inject({ method: 'GET', url: authConfigPath('whatever') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      client_id: 'panda-cli',
      client_secret: '',
      audience: 'panda-cli',
      oidc_config_url: `${issuer}/.well-known/openid-configuration`,
    });
    for (const url of ['/auth/bad%20vo_auth_config.json', '/auth/_auth_config.json', '/auth/atlas.json']) {
      expect((await anyVo.app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
  });

  it('publishes nothing with the local issuer', async () => {
    expect((await local.app.inject({ method: 'GET', url: authConfigPath('atlas') })).statusCode).toBe(404);
  });
});

describe('panda-server --oidc-client-id, --oidc-client-secret, --oidc-vo', () => {
  it('refuses client options without an issuer or a client id, and a VO that is no name, before starting', async () => {
    const { runCli, cleanEnv } = await import('@panda-secrets/testkit');
    const cases: Array<[string[], string]> = [
      [['--oidc-client-id', 'panda-cli'], '--oidc-audience and --oidc-client-id need --oidc-issuer'],
      [['--oidc-issuer', issuer], 'OIDC mode needs --oidc-audience (or --oidc-client-id, which is then the audience)'],
      [
        ['--oidc-issuer', issuer, '--oidc-audience', 'a', '--oidc-vo', 'atlas'],
        '--oidc-client-secret and --oidc-vo need --oidc-client-id',
      ],
      [
        ['--oidc-issuer', issuer, '--oidc-client-id', 'c', '--oidc-vo', 'at las'],
        '--oidc-vo "at las" is no VO name: 1 to 64 letters, digits, ".", "_" or "-"',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(
        'panda-server',
        ['serve', '--data-dir', '/nonexistent/never-made', '--port', '0', ...args],
        { env: cleanEnv() },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`panda-server: ${message}\n`);
    }
  });
});
